// Projector: keeps every read model in step with the log (SPEC §7).
//
// Each read model lives in a column family per generation ("rm.<name>.g<generation>"); the
// family "projections" maps name → (generation, checkpoint position). Live: the projector is the
// EventStore's commit hook, so a commit's rows and checkpoints land in the same WriteBatch as its
// events. Offline: rebuild() fills a new generation from the log and swaps it in with one synced
// write only when complete; an interrupted rebuild leaves the old generation in use.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// The projections annals serves, in a fixed order.
std::vector<std::unique_ptr<Projection>> all_projections();

class Projector {
 public:
  Projector(events::EventStore& store, std::vector<std::unique_ptr<Projection>> projections);

  // Resolves each read model's current generation (creating generation 1 when new) and, unless
  // the store is read-only, catches up from its checkpoint to the head. Call before serving.
  void open(bool catch_up = true);
  // Installs the live commit hook on the store.
  void attach();

  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;
  std::vector<std::string> names() const;
  std::uint64_t checkpoint(std::string_view name) const;
  // Full scan of the current generation.
  std::optional<ReadModelStatus> status(std::string_view name) const;

  // Offline: rebuilds `names` (all when empty) from position 1 to `until` (0 = head) into new
  // generations and swaps them in. Requires a writable store with no live writer traffic.
  RebuildResult rebuild(std::vector<std::string> names, std::uint64_t until,
                        const std::function<void(const RebuildProgress&)>& progress = {});

 private:
  struct Model {
    std::unique_ptr<Projection> projection;
    std::uint64_t generation = 0;
    rocksdb::ColumnFamilyHandle* cf = nullptr;
  };
  void apply_live(events::Transaction& tx, std::span<const events::StoredEvent> staged);
  void catch_up(Model& m);
  Model* find(std::string_view name);
  const Model* find(std::string_view name) const;
  // Stages projection state (generation, checkpoint) for one read model.
  void put_state(events::StagedWrites& writes, const std::string& name, std::uint64_t generation,
                 std::uint64_t position) const;

  events::EventStore& store_;
  std::vector<Model> models_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
};

// Computes the digest and row count of one column family.
ReadModelStatus digest_family(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                              std::string_view row_prefix, const rocksdb::Snapshot* snapshot);

}  // namespace annals::projections
