// Projector: keeps every read model in step with the log (SPEC §7).
//
// Each read model lives in a column family per generation ("rm.<name>.g<generation>"); the
// family "projections" maps name → (generation, checkpoint position). Live: the projector is the
// EventStore's commit hook, so a commit's rows and checkpoints land in the same WriteBatch as its
// events. Offline: rebuild() fills a new generation from the log and swaps it in with one synced
// write only when complete; an interrupted rebuild leaves the old generation in use. Online:
// start_rebuild() builds new generations on a background thread from position 1 while the live
// generation keeps serving, catches up with the head, and swaps them in inside one commit; readers
// find each read model's family through the catalog published with every durable view, so a swap
// becomes visible exactly with the snapshot that holds it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "domain/time.h"
#include "events/sha256.h"
#include "events/store.h"
#include "projections/projection.h"

namespace annals::projections {

struct ReadModelStatus {
  std::string name;
  std::uint64_t generation = 0;
  std::uint64_t position = 0;
  std::uint64_t rows = 0;
  std::string digest;  // hex SHA-256 over the generation's keys and values in key order
};

struct RebuildProgress {
  std::uint64_t position = 0;
  std::uint64_t until = 0;
};

struct RebuildResult {
  std::uint64_t events = 0;
  std::uint64_t until = 0;
  double seconds = 0;
  std::vector<ReadModelStatus> read_models;
};

// An online rebuild in progress (API §16 `rebuild`).
struct OnlineRebuild {
  std::uint64_t generation = 0;
  std::uint64_t position = 0;  // the new generation holds the log up to here
  Micros started_at = 0;
};

// One read model's family to fill by build_into().
struct BuildTarget {
  Projection* projection = nullptr;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
};

// Events per chunk of a rebuild (one SST file per read model): large enough that per-file costs
// (ingestion, L0 files for later reads and compaction) stay small, small enough for memory.
constexpr std::uint64_t kRebuildChunk = 65536;
// An online rebuild works half of the wall-clock time and sleeps the other half: background work
// beside request handling makes every request dearer, even at SCHED_IDLE (see build_into).
constexpr double kOnlineRebuildDuty = 0.5;

// Applies events from..to of `source` to each target's family in `db` with the live projection
// code, writing each chunk's rows as SST files (in `scratch`) that are ingested at once. Calls
// `progress` after each chunk with the last position applied; returning false stops early.
// With `threads` > 1 that many workers (this thread among them) share each chunk's tasks (one per
// target, and reading the next chunk once), longest first. Returns the last position applied to
// every target. A single-threaded build with `duty` < 1 keeps its work to that share of the wall
// clock (it sleeps in between), so that it disturbs request handling beside it less.
std::uint64_t build_into(const events::EventStore& source, std::uint64_t from, std::uint64_t to,
                         rocksdb::DB* db, std::span<const BuildTarget> targets,
                         const rocksdb::Options& file_options, const std::string& scratch,
                         const std::function<bool(std::uint64_t)>& progress = {},
                         unsigned threads = 1, std::uint64_t chunk = kRebuildChunk,
                         double duty = 1.0);

// Time travel: every named read model (all when empty) as of position `at`, built into a scratch
// RocksDB under `scratch_dir` (removed afterwards); `source` is not written, so it may be a
// read-only or secondary instance beside a running server.
std::vector<ReadModelStatus> read_models_at(const events::EventStore& source, std::uint64_t at,
                                            std::vector<std::string> names,
                                            const std::string& scratch_dir);

// The projections annals serves, in a fixed order.
std::vector<std::unique_ptr<Projection>> all_projections();

class Projector {
 public:
  Projector(events::EventStore& store, std::vector<std::unique_ptr<Projection>> projections);
  // Stops online rebuilds (their new generations are dropped at the next open).
  ~Projector();

  // Resolves each read model's current generation (creating generation 1 when new) and, unless
  // the store is read-only, catches up from its checkpoint to the head. Call before serving.
  void open(bool catch_up = true);
  // Installs the live commit hook on the store.
  void attach();

  // The family of `name` in the latest published view (prefer view.family(name) with the view
  // the rows are read at).
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;
  std::vector<std::string> names() const;
  std::uint64_t checkpoint(std::string_view name) const;
  // Full scan of the generation serving `view` (default: the latest view).
  std::optional<ReadModelStatus> status(std::string_view name) const;
  std::optional<ReadModelStatus> status(std::string_view name, const events::ReadView& view) const;

  // Online: starts building new generations of `names` in the background (see above). Fails with
  // kNotFound for an unknown name and kConflict when one of them is already being rebuilt.
  std::expected<std::vector<std::pair<std::string, std::uint64_t>>, Problem> start_rebuild(
      const std::vector<std::string>& names, Micros now);
  std::optional<OnlineRebuild> rebuilding(std::string_view name) const;
  // Waits until no online rebuild is running (tests, shutdown).
  void wait_for_rebuilds();
  // Cancels online rebuilds and waits for them; before the store stops.
  void stop();
  // Test seam: runs on the rebuild thread once the new generations are built, before the swap.
  void set_before_swap(std::function<void()> hook) { before_swap_ = std::move(hook); }
  // Called on the rebuild thread when an online rebuild fails before its swap (a RocksDB error,
  // a scratch directory that cannot be written): its new generations are dropped and the read
  // models keep serving the generations they had. The server logs it.
  using RebuildFailed =
      std::function<void(const std::vector<std::string>& names, const std::string& what)>;
  void set_on_rebuild_failed(RebuildFailed hook) { on_rebuild_failed_ = std::move(hook); }
  // Test seam: events per rebuild chunk (default kRebuildChunk), so that small logs take the
  // multi-chunk and multi-thread paths.
  void set_rebuild_chunk(std::uint64_t events) { rebuild_chunk_ = events; }

  // Offline: rebuilds `names` (all when empty) from position 1 to `until` (0 = head) into new
  // generations and swaps them in. Requires a writable store with no live writer traffic.
  RebuildResult rebuild(std::vector<std::string> names, std::uint64_t until,
                        const std::function<void(const RebuildProgress&)>& progress = {});

 private:
  // Writer-side state (the writer thread, or open/rebuild before serving).
  struct Model {
    std::unique_ptr<Projection> projection;
    std::uint64_t generation = 0;
    rocksdb::ColumnFamilyHandle* cf = nullptr;
  };
  struct OnlineJob {
    std::vector<Model*> models;
    std::vector<BuildTarget> targets;
    std::vector<std::uint64_t> generations;
    std::thread thread;
    bool done = false;
  };
  void run_online(OnlineJob& job);
  // run_online's work up to the swap: the position the new generations are built through, or
  // nothing when the server stops first. Throws on failure.
  std::optional<std::uint64_t> build_online(OnlineJob& job, const std::string& scratch);
  void publish_catalog();
  std::shared_ptr<const events::Catalog> make_catalog() const;
  // A read model's (generation, checkpoint) in the "projections" family at `view`.
  struct State {
    std::uint64_t generation = 0;
    std::uint64_t position = 0;
  };
  std::optional<State> read_state(const events::ReadView& view, std::string_view name) const;
  // The position every read model that follows the log is current through, at `view`.
  std::uint64_t live_head(const events::ReadView& view) const;
  // Records a read model's digest for the family, head and checkpoint it holds for, in the
  // "projections" family, where later status reads (of this process or a later one) find it.
  void keep_digest(std::string_view name, std::uint32_t family, std::uint64_t head,
                   std::uint64_t position, const ReadModelStatus& st) const;
  // The family of a new generation, emptied of what an interrupted rebuild left in it.
  // Fresh families for (read model, generation) pairs, created in one batch; `bulk` creates them
  // with a bulk build's options (no automatic compaction, no write stalls).
  std::vector<rocksdb::ColumnFamilyHandle*> empty_families(
      const std::vector<std::pair<std::string, std::uint64_t>>& generations, bool bulk);
  void apply_live(events::Transaction& tx, std::span<const events::StoredEvent> staged);
  // Marks every read model as kept at the head by the live hook (after open's catch-up).
  void follow_log();
  void catch_up(Model& m);
  Model* find(std::string_view name);
  const Model* find(std::string_view name) const;
  // Stages projection state (generation, checkpoint) for one read model.
  void put_state(events::StagedWrites& writes, const std::string& name, std::uint64_t generation,
                 std::uint64_t position) const;

  events::EventStore& store_;
  std::vector<Model> models_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;

  // The last digest of each read model, with the family id and head it was computed at.
  mutable std::mutex status_mutex_;
  mutable std::map<std::string, std::pair<std::pair<std::uint32_t, std::uint64_t>, ReadModelStatus>,
                   std::less<>>
      status_cache_;
  mutable std::mutex online_mutex_;
  std::condition_variable online_cv_;
  std::map<std::string, OnlineRebuild, std::less<>> online_;  // by read model
  std::vector<std::unique_ptr<OnlineJob>> jobs_;
  std::atomic<bool> stopping_{false};
  std::function<void()> before_swap_;
  RebuildFailed on_rebuild_failed_;
  std::uint64_t rebuild_chunk_ = kRebuildChunk;
};

// Computes the digest and row count of one column family; `per_row`, when given, is called after
// each row (an online rebuild paces itself with it).
ReadModelStatus digest_family(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                              std::string_view row_prefix, const rocksdb::Snapshot* snapshot,
                              const std::function<void()>& per_row = {});

}  // namespace annals::projections
