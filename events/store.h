// EventStore: the append-only log of annals on RocksDB (ARCHITECTURE.md, SPEC §6.1).
//
// Guarantees:
// - Positions are dense from 1; each stream's versions are dense from 1.
// - Every stored event carries hash = SHA-256(previous hash ‖ its stored bytes); position 1 chains
//   from 32 zero bytes.
// - One writer thread runs WriteJobs in submission order and commits all jobs it drained in one
//   synced WriteBatch (group commit): events, stream index, idempotency records, and whatever the
//   commit hook (the projector) adds, written in key order (see StagedWrites). A job's `done` runs
//   only after that batch is on disk.
// - A job that returns false, or whose append fails, leaves no trace in the batch.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "domain/problem.h"
#include "domain/time.h"
#include "events/events_generated.h"
#include "events/histogram.h"
#include "events/sha256.h"
#include "events/staged_writes.h"

namespace annals::events {

struct ExpectedVersion {
  enum class Kind { kAny, kNoStream, kExact };
  Kind kind = Kind::kAny;
  std::uint64_t version = 0;

  static ExpectedVersion any() { return {}; }
  static ExpectedVersion no_stream() { return {Kind::kNoStream, 0}; }
  static ExpectedVersion exact(std::uint64_t v) { return {Kind::kExact, v}; }
};

// Who caused the events of one append (SPEC §6.1).
struct Envelope {
  std::string actor;
  std::string correlation_id;
  std::optional<std::uint64_t> causation_id;
};

// A payload to append: its union type and a function writing its table into a builder.
struct NewEvent {
  fb::Payload type = fb::Payload::NONE;
  std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)> build;
};

// One event as stored: position, chain hash and the FlatBuffers bytes of fb::Event.
struct StoredEvent {
  std::uint64_t position = 0;
  Digest hash{};
  std::string bytes;

  const fb::Event& event() const { return *fb::GetEvent(bytes.data()); }
  fb::Payload type() const { return event().payload_type(); }
  std::string_view type_name() const { return fb::EnumNamePayload(type()); }
};

struct AppendResult {
  std::uint64_t first_position = 0;
  std::uint64_t last_position = 0;
  std::uint64_t stream_version = 0;  // after the append
  bool operator==(const AppendResult&) const = default;
};

class EventStore;

// Named column families published together with the durable view: the layers above map a read
// model's name to the family of its current generation, and a generation swap becomes visible to
// readers exactly with the snapshot of the commit that made it.
using Catalog = std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>>;

// A consistent view of the durable state: the head position, a RocksDB snapshot at it and the
// catalog of families that snapshot is to be read through.
// The values of `keys` in `cf` as `ro` sees them, in one batched lookup (RocksDB's MultiGet
// sorts the keys and shares index and block lookups between neighbours): a list page's second
// step, after its index scan. nullopt where a key is absent.
std::vector<std::optional<std::string>> multi_get(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                                                  rocksdb::ColumnFamilyHandle* cf,
                                                  const std::vector<std::string>& keys);

class ReadView {
 public:
  ReadView() = default;
  ReadView(std::shared_ptr<const rocksdb::Snapshot> snapshot, std::uint64_t head,
           std::shared_ptr<const Catalog> catalog = {})
      : snapshot_(std::move(snapshot)), head_(head), catalog_(std::move(catalog)) {}
  rocksdb::ReadOptions options() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_.get();
    return ro;
  }
  std::uint64_t head() const { return head_; }
  // The catalog's family for `name` (nullptr when unknown).
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const {
    if (!catalog_) return nullptr;
    auto it = catalog_->find(name);
    return it == catalog_->end() ? nullptr : it->second;
  }

 private:
  std::shared_ptr<const rocksdb::Snapshot> snapshot_;
  std::uint64_t head_ = 0;
  std::shared_ptr<const Catalog> catalog_;
};

// The state of one group commit as seen by the writer thread. Reads see everything staged so far.
class Transaction {
 public:
  // The writer's clock for the current job; never decreases.
  Micros now() const { return now_; }
  // Position of the last staged (or committed) event.
  std::uint64_t head() const { return head_; }
  std::uint64_t stream_version(std::string_view stream);

  // Appends `events` to `stream` if its version matches `expected`; else kPreconditionFailed.
  std::expected<AppendResult, Problem> append(std::string_view stream, ExpectedVersion expected,
                                              std::span<const NewEvent> events,
                                              const Envelope& envelope);

  // Folds `stream` as this commit sees it: committed events, then those staged so far.
  void read_stream(std::string_view stream,
                   const std::function<void(const StoredEvent&)>& fn) const;
  // The same from version `from_version` on.
  void read_stream(std::string_view stream, std::uint64_t from_version,
                   const std::function<void(const StoredEvent&)>& fn) const;

  std::optional<std::string> get(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  void put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value);
  void remove(rocksdb::ColumnFamilyHandle* cf, std::string_view key);

  // Idempotency records: a value stored once under (scope, key), committed with the events.
  std::optional<std::string> idempotency_record(std::string_view scope, std::string_view key);
  void put_idempotency_record(std::string_view scope, std::string_view key, std::string_view value);

  // Publishes `catalog` to readers together with this commit's durable snapshot.
  void publish_catalog(std::shared_ptr<const Catalog> catalog) { catalog_ = std::move(catalog); }

  // Events staged in this commit so far, in position order.
  std::span<const StoredEvent> staged() const { return staged_; }
  // Every row write of this commit (events, indexes, read models), for layers that stage rows.
  StagedWrites& writes() { return writes_; }
  rocksdb::DB* db() const;

 private:
  friend class EventStore;
  explicit Transaction(EventStore& store);
  void begin_job(Micros now);
  void end_job(bool keep);

  EventStore& store_;
  StagedWrites writes_;
  flatbuffers::FlatBufferBuilder builder_;
  Sha256 sha_;
  std::vector<StoredEvent> staged_;
  std::shared_ptr<const Catalog> catalog_;
  std::uint64_t head_ = 0;
  Digest head_hash_{};
  Micros now_ = 0;
  // Job savepoint.
  std::size_t job_staged_ = 0;
  std::uint64_t job_head_ = 0;
  Digest job_head_hash_{};
};

struct WriteJob {
  // Runs on the writer thread in submission order. Return false to discard what it staged.
  std::function<bool(Transaction&)> run;
  // Runs on the writer thread once the batch holding this job is durable (failure: nullopt) or
  // could not be written (failure: a kUnavailable Problem).
  std::function<void(const std::optional<Problem>& failure)> done;
};

// Called on the writer thread with every event the batch will commit, before it is written.
using CommitHook = std::function<void(Transaction&, std::span<const StoredEvent>)>;

// Write-stall triggers (L0 files) of read-model families ("rm.*"): they are written only by the
// projector, and a rebuild ingests one file per chunk into them, so the files a large rebuild
// leaves (compacted in the background afterwards) slow reads for a while but never stop writes.
constexpr int kReadModelSlowdownTrigger = 512;
constexpr int kReadModelStopTrigger = 2048;

struct StoreOptions {
  std::string dir;
  bool read_only = false;
  bool sync = true;  // sync the WAL on every commit; tests of durability keep this true
  std::size_t max_batch = 512;
  std::function<Micros()> clock;  // default: the system clock
  std::size_t block_cache_bytes = 64u << 20;
};

struct CommitStats {
  Histogram batch_commands{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};
  Histogram commit_seconds{
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  // WAL fsync duration per sync (one sync covers every batch written since the last).
  Histogram wal_sync_seconds{
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  std::atomic<std::uint64_t> write_refusals{0};
};

class EventStore {
 public:
  // Opens (creating when missing, unless read_only) the store at options.dir. A directory held by
  // another process → kUnavailable whose detail says so.
  static std::expected<std::unique_ptr<EventStore>, Problem> open(StoreOptions options);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // --- read side (any thread; durable state only) ---
  std::uint64_t head() const { return head_.load(std::memory_order_acquire); }
  Digest head_hash() const;
  // The durable state to read from; hold it for the duration of a multi-read query.
  ReadView read_view() const;
  // Re-publishes the durable view after writes made outside the writer (start-up catch-up,
  // offline rebuilds). REQUIRES: no batch is being committed.
  void refresh_view();
  // Publishes `catalog` at once (start-up, offline rebuilds; live swaps go through a commit).
  void set_catalog(std::shared_ptr<const Catalog> catalog);
  // Calls fn for each event with from ≤ position ≤ to as written (including batches not yet
  // synced). Writer thread only: the commit hook's catch-up reads.
  void read_range_written(std::uint64_t from, std::uint64_t to,
                          const std::function<bool(const StoredEvent&)>& fn) const;
  std::optional<StoredEvent> read(std::uint64_t position) const;
  // The event at `position` as `view` sees it (read models that point into the log).
  // The events at `positions` (any order) in one batched lookup; nullopt where none is stored.
  std::vector<std::optional<StoredEvent>> read_many(const ReadView& view,
                                                    std::span<const std::uint64_t> positions) const;
  std::optional<StoredEvent> read(const ReadView& view, std::uint64_t position) const {
    return read_at(view.options(), position);
  }
  // Calls fn for each event with from ≤ position ≤ to, ascending (or descending), until it
  // returns false.
  void read_range(std::uint64_t from, std::uint64_t to,
                  const std::function<bool(const StoredEvent&)>& fn, bool backward = false) const;
  std::uint64_t stream_version(std::string_view stream) const;
  // Events of `stream` from version `from_version`, ascending (or descending from it).
  void read_stream(std::string_view stream, std::uint64_t from_version,
                   const std::function<bool(std::uint64_t version, const StoredEvent&)>& fn,
                   bool backward = false) const;
  // A committed idempotency record (see Transaction::put_idempotency_record).
  std::optional<std::string> idempotency_record(std::string_view scope, std::string_view key) const;
  // Waits until head() ≥ position or the timeout passes; returns whether it got there.
  bool wait_for(std::uint64_t position, std::chrono::milliseconds timeout) const;

  // --- write side ---
  // Queues a job for the writer thread. Fails the job at once when the store refuses writes.
  void submit(WriteJob job);
  // Appends and waits until durable. With an idempotency key, a repeat returns the first result.
  std::expected<AppendResult, Problem> append(std::string_view stream, ExpectedVersion expected,
                                              std::vector<NewEvent> events, Envelope envelope,
                                              std::optional<std::string> idempotency_key = {});
  // Must be set before the first submit.
  void set_commit_hook(CommitHook hook) { commit_hook_ = std::move(hook); }
  // Called on the writer thread after each durable commit with the new head.
  void add_commit_listener(std::function<void(std::uint64_t)> listener);
  // Finishes every queued job, then stops the writer thread. Idempotent.
  void stop();
  bool writable() const { return writable_.load(); }
  bool read_only() const { return options_.read_only; }

  // --- storage for the layers above (read models keep their rows in their own families) ---
  rocksdb::DB* db() const { return db_.get(); }
  // The family `name`, created when missing (not in read-only mode: nullptr then).
  rocksdb::ColumnFamilyHandle* column_family(const std::string& name);
  std::vector<std::string> column_family_names() const;
  // The read-model families `names` (nullptr each in read-only mode), the missing ones created
  // in one batch (one OPTIONS file written, not one per family) with `overrides` (RocksDB option
  // names and values) applied to their options.
  std::vector<rocksdb::ColumnFamilyHandle*> column_families(
      const std::vector<std::string>& names,
      const std::unordered_map<std::string, std::string>& overrides = {});
  // Drops the family; its handle stays valid (readers of older views may still hold it) until the
  // store closes.
  void drop_column_family(const std::string& name);
  // Drops those of the families that exist, in one batch.
  void drop_column_families(const std::vector<std::string>& names);
  const CommitStats& stats() const { return stats_; }
  // Options matching the store's families, for writing SST files to ingest.
  rocksdb::Options family_file_options() const;
  const std::string& dir() const { return options_.dir; }

 private:
  friend class Transaction;
  // A written batch waiting for its sync.
  struct Pending {
    std::vector<WriteJob> jobs;
    bool wrote = false;
    std::optional<Problem> failure;
    std::uint64_t head = 0;
    Digest hash{};
    std::shared_ptr<const rocksdb::Snapshot> snapshot;
    std::shared_ptr<const Catalog> catalog;
    std::chrono::steady_clock::time_point started;
  };
  explicit EventStore(StoreOptions options);
  void writer_loop();
  void commit(std::vector<WriteJob>& jobs);
  void syncer_loop();
  std::shared_ptr<const rocksdb::Snapshot> take_snapshot();
  std::optional<StoredEvent> read_at(const rocksdb::ReadOptions& ro, std::uint64_t position) const;
  void read_range_at(rocksdb::ReadOptions ro, std::uint64_t from, std::uint64_t to,
                     const std::function<bool(const StoredEvent&)>& fn, bool backward) const;
  void read_stream_at(const rocksdb::ReadOptions& ro, std::string_view stream,
                      std::uint64_t from_version,
                      const std::function<bool(std::uint64_t, const StoredEvent&)>& fn,
                      bool backward) const;
  Micros clock_now() const;

  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::DBOptions db_options_;
  mutable std::mutex cf_mutex_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> families_;
  std::vector<rocksdb::ColumnFamilyHandle*> dropped_;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;       // stream → version
  rocksdb::ColumnFamilyHandle* stream_index_cf_ = nullptr;  // stream ‖ 0 ‖ version → position
  rocksdb::ColumnFamilyHandle* idempotency_cf_ = nullptr;

  // Durable state, published by the syncer (REQUIRES: head_mutex_ for hash and snapshot).
  std::atomic<std::uint64_t> head_{0};
  mutable std::mutex head_mutex_;
  mutable std::condition_variable head_cv_;
  Digest head_hash_{};
  std::shared_ptr<const rocksdb::Snapshot> snapshot_;
  std::shared_ptr<const Catalog> catalog_;
  // Written state, known to the writer thread only (may be ahead of the durable state).
  std::uint64_t written_head_ = 0;
  Digest written_hash_{};
  Micros last_now_ = 0;
  // Batches between the writer and the syncer.
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::deque<Pending> pending_;
  bool sync_stopping_ = false;
  std::thread syncer_;

  CommitHook commit_hook_;
  std::vector<std::function<void(std::uint64_t)>> listeners_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteJob> queue_;
  bool stopping_ = false;
  std::atomic<bool> writable_{true};
  std::thread writer_;
  CommitStats stats_;
};

}  // namespace annals::events
