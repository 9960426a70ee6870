#include "projections/projector.h"

#include <rocksdb/sst_file_writer.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "events/keys.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "projections/capabilities.h"
#include "projections/ledger.h"
#include "projections/lessons.h"
#include "projections/skills.h"

namespace annals::projections {

namespace {

std::string family_name(std::string_view name, std::uint64_t generation) {
  return "rm." + std::string(name) + ".g" + std::to_string(generation);
}

constexpr std::uint64_t kCatchUpChunk = 4096;
// Events per SST file of an offline rebuild: small enough for the staged rows to stay in cache.
constexpr std::uint64_t kRebuildChunk = 4096;

// Writes the staged rows of each family into its own SST file and ingests it.
void ingest_sorted(rocksdb::DB* db, const events::StagedWrites& writes,
                   const rocksdb::Options& options, const std::string& scratch,
                   std::uint64_t& file_no) {
  rocksdb::ColumnFamilyHandle* current = nullptr;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string path;
  auto finish = [&] {
    if (!writer) return;
    rocksdb::ExternalSstFileInfo info;
    if (writer->Finish(&info).ok() && info.num_entries > 0) {
      rocksdb::IngestExternalFileOptions ingest;
      ingest.move_files = true;
      auto s = db->IngestExternalFile(current, {path}, ingest);
      if (!s.ok()) throw std::runtime_error("ingest failed: " + s.ToString());
    }
    writer.reset();
  };
  writes.for_each_sorted([&](rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                             const std::optional<std::string>& value) {
    if (cf != current) {
      finish();
      current = cf;
      path = scratch + "/" + std::to_string(++file_no) + ".sst";
      writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
      if (!writer->Open(path).ok()) throw std::runtime_error("cannot write " + path);
    }
    const rocksdb::Slice k(key.data(), key.size());
    if (value) {
      writer->Put(k, *value);
    } else {
      writer->Delete(k);
    }
  });
  finish();
}

std::string state_value(std::uint64_t generation, std::uint64_t position) {
  return events::u64_be(generation) + events::u64_be(position);
}

}  // namespace

std::vector<std::unique_ptr<Projection>> all_projections() {
  std::vector<std::unique_ptr<Projection>> v;
  v.push_back(std::make_unique<CapabilitiesProjection>());
  v.push_back(std::make_unique<AutomationsProjection>());
  v.push_back(std::make_unique<AutomationRunsProjection>());
  v.push_back(std::make_unique<InvocationsProjection>());
  v.push_back(std::make_unique<SpendProjection>());
  v.push_back(std::make_unique<LessonsProjection>());
  v.push_back(std::make_unique<SkillsProjection>());
  v.push_back(std::make_unique<SkillRunsProjection>());
  v.push_back(std::make_unique<DivergencesProjection>());
  v.push_back(std::make_unique<CorrectionsProjection>());
  v.push_back(std::make_unique<FixturesProjection>());
  v.push_back(std::make_unique<EvolutionLogProjection>());
  v.push_back(std::make_unique<NightlyRunsProjection>());
  v.push_back(std::make_unique<CandidatesProjection>());
  return v;
}

Projector::Projector(events::EventStore& store,
                     std::vector<std::unique_ptr<Projection>> projections)
    : store_(store) {
  for (auto& p : projections) models_.push_back(Model{std::move(p), 0, nullptr});
}

Projector::Model* Projector::find(std::string_view name) {
  for (auto& m : models_) {
    if (m.projection->name() == name) return &m;
  }
  return nullptr;
}

const Projector::Model* Projector::find(std::string_view name) const {
  return const_cast<Projector*>(this)->find(name);
}

std::vector<std::string> Projector::names() const {
  std::vector<std::string> v;
  for (const auto& m : models_) v.emplace_back(m.projection->name());
  return v;
}

void Projector::put_state(events::StagedWrites& writes, const std::string& name,
                          std::uint64_t generation, std::uint64_t position) const {
  writes.put(meta_, name, state_value(generation, position));
}

void Projector::open(bool catch_up) {
  meta_ = store_.column_family("projections");
  const bool writable = !store_.read_only();
  for (auto& m : models_) {
    const std::string name(m.projection->name());
    std::string state;
    if (meta_ != nullptr &&
        store_.db()->Get(store_.read_view().options(), meta_, name, &state).ok() &&
        state.size() == 16) {
      m.generation = events::read_u64_be(state);
    } else if (writable) {
      m.generation = 1;
      rocksdb::WriteOptions wo;
      wo.sync = true;
      store_.db()->Put(wo, meta_, name, state_value(1, 0));
    }
    m.cf = store_.column_family(family_name(name, m.generation));
    if (!writable) continue;
    // Families of generations that are not current are leftovers of interrupted rebuilds.
    const std::string prefix = "rm." + name + ".g";
    for (const auto& f : store_.column_family_names()) {
      if (f.starts_with(prefix) && f != family_name(name, m.generation)) {
        store_.drop_column_family(f);
      }
    }
    if (catch_up) this->catch_up(m);
  }
  store_.refresh_view();
}

void Projector::attach() {
  store_.set_commit_hook(
      [this](events::Transaction& tx, std::span<const events::StoredEvent> staged) {
        apply_live(tx, staged);
      });
}

std::uint64_t Projector::checkpoint(std::string_view name) const {
  std::string state;
  if (meta_ != nullptr &&
      store_.db()->Get(store_.read_view().options(), meta_, std::string(name), &state).ok() &&
      state.size() == 16) {
    return events::read_u64_be(state, 8);
  }
  return 0;
}

rocksdb::ColumnFamilyHandle* Projector::family(std::string_view name) const {
  const Model* m = find(name);
  return m ? m->cf : nullptr;
}

void Projector::apply_live(events::Transaction& tx, std::span<const events::StoredEvent> staged) {
  for (auto& m : models_) {
    Rows rows(tx.writes(), store_.db(), m.cf);
    for (const auto& e : staged) m.projection->apply(e, rows);
    put_state(tx.writes(), std::string(m.projection->name()), m.generation, tx.head());
  }
}

void Projector::catch_up(Model& m) {
  std::uint64_t from = checkpoint(m.projection->name()) + 1;
  const std::uint64_t head = store_.head();
  while (from <= head) {
    const std::uint64_t to = std::min(head, from + kCatchUpChunk - 1);
    events::StagedWrites writes;
    Rows rows(writes, store_.db(), m.cf);
    store_.read_range(from, to, [&](const events::StoredEvent& e) {
      m.projection->apply(e, rows);
      return true;
    });
    put_state(writes, std::string(m.projection->name()), m.generation, to);
    rocksdb::WriteBatch batch;
    writes.write_sorted(batch);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    store_.db()->Write(wo, &batch);
    from = to + 1;
  }
}

ReadModelStatus digest_family(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                              std::string_view row_prefix, const rocksdb::Snapshot* snapshot) {
  ReadModelStatus st;
  events::Sha256 sha;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.readahead_size = 2u << 20;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  std::string len;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto k = it->key().ToStringView();
    const auto v = it->value().ToStringView();
    len = events::u64_be(k.size()) + events::u64_be(v.size());
    sha.update(len).update(k).update(v);
    if (k.starts_with(row_prefix)) ++st.rows;
  }
  st.digest = events::to_hex(sha.finish());
  return st;
}

std::optional<ReadModelStatus> Projector::status(std::string_view name) const {
  const Model* m = find(name);
  if (m == nullptr || m->cf == nullptr) return std::nullopt;
  // The checkpoint and the rows are read at one durable snapshot.
  const events::ReadView view = store_.read_view();
  const rocksdb::ReadOptions ro = view.options();
  ReadModelStatus st = digest_family(store_.db(), m->cf, m->projection->row_prefix(), ro.snapshot);
  std::string state;
  if (store_.db()->Get(ro, meta_, std::string(name), &state).ok() && state.size() == 16) {
    st.position = events::read_u64_be(state, 8);
  }
  st.name = std::string(name);
  st.generation = m->generation;
  return st;
}

RebuildResult Projector::rebuild(std::vector<std::string> names, std::uint64_t until,
                                 const std::function<void(const RebuildProgress&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  if (names.empty()) names = this->names();
  const std::uint64_t head = store_.head();
  if (until == 0 || until > head) until = head;

  struct Target {
    Model* model;
    std::uint64_t generation;
    rocksdb::ColumnFamilyHandle* cf;
  };
  std::vector<Target> targets;
  for (const auto& n : names) {
    Model* m = find(n);
    if (m == nullptr) continue;
    const std::uint64_t gen = m->generation + 1;
    const std::string fam = family_name(n, gen);
    store_.drop_column_family(fam);  // a leftover of an interrupted rebuild
    targets.push_back({m, gen, store_.column_family(fam)});
  }

  RebuildResult result;
  result.until = until;
  // A new generation starts empty and nothing reads it until the swap, so its rows skip the
  // memtable: each chunk's writes (latest per key, in key order) become one SST file that is
  // ingested at once, where later chunks' reads see it. Compaction of the generation's files is
  // left to RocksDB's background work.
  for (auto& t : targets) {
    store_.db()->SetOptions(
        t.cf, {{"level0_slowdown_writes_trigger", "1000"}, {"level0_stop_writes_trigger", "1000"}});
  }
  const rocksdb::Options file_options = store_.family_file_options();
  const std::string scratch = store_.dir() + "/rebuild-scratch";
  std::filesystem::create_directories(scratch);
  std::uint64_t from = 1, file_no = 0;
  while (from <= until) {
    const std::uint64_t to = std::min(until, from + kRebuildChunk - 1);
    events::StagedWrites writes;
    std::vector<Rows> rows;
    for (auto& t : targets) rows.emplace_back(writes, store_.db(), t.cf);
    store_.read_range(from, to, [&](const events::StoredEvent& e) {
      for (std::size_t i = 0; i < targets.size(); ++i) {
        targets[i].model->projection->apply(e, rows[i]);
      }
      ++result.events;
      return true;
    });
    ingest_sorted(store_.db(), writes, file_options, scratch, file_no);
    from = to + 1;
    if (progress) progress({to, until});
  }
  std::filesystem::remove_all(scratch);
  for (auto& t : targets) {
    store_.db()->SetOptions(
        t.cf, {{"level0_slowdown_writes_trigger", "20"}, {"level0_stop_writes_trigger", "36"}});
  }

  // The swap: one synced write points every rebuilt read model at its new generation.
  rocksdb::WriteBatch swap;
  for (auto& t : targets) {
    swap.Put(meta_, std::string(t.model->projection->name()), state_value(t.generation, until));
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  store_.db()->Write(synced, &swap);
  for (auto& t : targets) {
    const std::string name(t.model->projection->name());
    store_.drop_column_family(family_name(name, t.model->generation));
    t.model->generation = t.generation;
    t.model->cf = t.cf;
  }
  store_.refresh_view();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto& t : targets) {
    if (auto st = status(t.model->projection->name())) result.read_models.push_back(*st);
  }
  return result;
}

}  // namespace annals::projections
