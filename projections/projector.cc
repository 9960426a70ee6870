#include "projections/projector.h"

#include <rocksdb/sst_file_writer.h>

#include <array>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "events/background.h"
#include "events/keys.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "projections/capabilities.h"
#include "projections/chunk_rows.h"
#include "projections/ledger.h"
#include "projections/lessons.h"
#include "projections/skills.h"

namespace annals::projections {

namespace {

std::string family_name(std::string_view name, std::uint64_t generation) {
  return "rm." + std::string(name) + ".g" + std::to_string(generation);
}

constexpr std::uint64_t kCatchUpChunk = 4096;
// An online rebuild hands over to the writer thread once this close to the head.
constexpr std::uint64_t kSwapLag = 256;

// Keeps a background thread's work near `duty` of the wall-clock time: after each few milliseconds
// of work it sleeps for as long as keeps work / (work + sleep) at `duty`. Work that runs beside
// request handling makes every request dearer even at SCHED_IDLE (on this machine a busy
// SCHED_IDLE loop on the other core raised the server's CPU per mixed read by a fifth and the
// reads' p99 from 1.7 to 18.5 ms; at half the wall time, 5.7 ms), so an online rebuild takes
// longer rather than run flat out.
class Pacer {
 public:
  explicit Pacer(double duty) : duty_(duty), start_(std::chrono::steady_clock::now()) {}
  // Called once per event or row: reads the clock every 64 calls.
  void tick() {
    if (duty_ >= 1.0 || ++ticks_ % 64 != 0) return;
    const auto worked = std::chrono::steady_clock::now() - start_;
    if (worked < kSlice) return;
    std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        worked * ((1.0 - duty_) / duty_)));
    start_ = std::chrono::steady_clock::now();
  }

 private:
  static constexpr auto kSlice = std::chrono::milliseconds(4);
  double duty_;
  std::chrono::steady_clock::time_point start_;
  std::uint64_t ticks_ = 0;
};

// Writes one chunk's rows of a read model into an SST file and ingests it.
void ingest_sorted(rocksdb::DB* db, const ChunkRows& rows, const rocksdb::Options& options,
                   const std::string& scratch, std::uint64_t& file_no, Pacer* pace) {
  if (rows.empty()) return;
  const std::string path = scratch + "/" + std::to_string(++file_no) + ".sst";
  // The file is read again soon (ingested, read by later chunks, compacted): it stays in the
  // page cache rather than being dropped from it as it is written.
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, rows.family(),
                                /*invalidate_page_cache=*/false);
  if (!writer.Open(path).ok()) throw std::runtime_error("cannot write " + path);
  rows.for_each_sorted([&](std::string_view key, const std::string_view* value) {
    const rocksdb::Slice k(key.data(), key.size());
    if (value != nullptr) {
      writer.Put(k, rocksdb::Slice(value->data(), value->size()));
    } else {
      writer.Delete(k);
    }
    if (pace != nullptr) pace->tick();
  });
  rocksdb::ExternalSstFileInfo info;
  if (writer.Finish(&info).ok() && info.num_entries > 0) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    auto s = db->IngestExternalFile(rows.family(), {path}, ingest);
    if (!s.ok()) throw std::runtime_error("ingest failed: " + s.ToString());
  }
}

// A build of many chunks ingests many L0 files into its families: while it runs, their automatic
// compactions wait (they would compete with the build for the cores) and their write-stall
// triggers are raised; afterwards compaction resumes in the background under the read-model
// families' own triggers (events/store.cc), which never stop writes for a rebuild's files.
// Changing options rewrites the OPTIONS file, so small builds leave them alone.
constexpr std::uint64_t kBulkChunks = 4;
const std::unordered_map<std::string, std::string> kBulkOptions = {
    {"disable_auto_compactions", "true"},
    {"level0_slowdown_writes_trigger", "100000"},
    {"level0_stop_writes_trigger", "100000"}};
// What a read-model family serves with once a bulk build is done (kBulkOptions while it runs).
const std::unordered_map<std::string, std::string> kServingOptions = {
    {"disable_auto_compactions", "false"},
    {"level0_slowdown_writes_trigger", std::to_string(events::kReadModelSlowdownTrigger)},
    {"level0_stop_writes_trigger", std::to_string(events::kReadModelStopTrigger)}};

void set_bulk_triggers(rocksdb::DB* db, std::span<const BuildTarget> targets, bool bulk) {
  for (const auto& t : targets) db->SetOptions(t.cf, bulk ? kBulkOptions : kServingOptions);
}

// Compacts each target's family into its last level on the calling thread, one family at a time.
// An online rebuild calls it from its own background thread: CompactRange would hand the work to
// RocksDB's compaction threads, which run at normal priority beside the requests, where this runs
// at the rebuild thread's (events::run_in_background()).
void compact_families(rocksdb::DB* db, std::span<const BuildTarget> targets) {
  for (const auto& t : targets) {
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(t.cf, &meta);
    std::vector<std::string> files;
    for (const auto& level : meta.levels) {
      for (const auto& f : level.files) files.push_back(f.name);
    }
    if (files.empty()) continue;
    const int last = static_cast<int>(meta.levels.size()) - 1;
    if (files.size() == 1 && meta.levels.back().files.size() == 1) continue;  // already folded
    rocksdb::CompactionOptions co;
    co.compression = rocksdb::kDisableCompressionOption;  // the family's own
    co.output_file_size_limit = db->GetOptions(t.cf).target_file_size_base;
    co.max_subcompactions = 1;
    if (!db->CompactFiles(co, t.cf, files, last).ok()) {
      // Some file was taken by another compaction meanwhile: RocksDB's own threads fold it.
      db->CompactRange(rocksdb::CompactRangeOptions(), t.cf, nullptr, nullptr);
    }
  }
}

std::string state_value(std::uint64_t generation, std::uint64_t position) {
  return events::u64_be(generation) + events::u64_be(position);
}

// A read model kept current by the live commit hook records this position: its checkpoint is the
// live head below, which each commit of events writes once for all of them. A process that
// appends without the hook leaves the live head behind, and the next open catches up from it.
constexpr std::uint64_t kFollowsLog = std::numeric_limits<std::uint64_t>::max();
constexpr std::string_view kLiveHead = "@live";  // read model names are [a-z_]

// A read model's last digest is also kept in the "projections" family, under '#' and its name, so
// that it outlives the process that computed it (an offline rebuild, a server before a restart).
// It holds for the family, head and checkpoint it was computed at: the rows of one family at one
// checkpoint are the fold of the same events, so they never differ.
std::string digest_key(std::string_view name) { return "#" + std::string(name); }

std::string digest_record(std::uint32_t family, std::uint64_t head, std::uint64_t position,
                          const ReadModelStatus& st) {
  return events::u64_be(family) + events::u64_be(head) + events::u64_be(position) +
         events::u64_be(st.rows) + st.digest;
}

std::optional<ReadModelStatus> from_digest_record(std::string_view v, std::uint32_t family,
                                                  std::uint64_t head, std::uint64_t position) {
  if (v.size() != 32 + 64 || events::read_u64_be(v) != family ||
      events::read_u64_be(v, 8) != head || events::read_u64_be(v, 16) != position) {
    return std::nullopt;
  }
  ReadModelStatus st;
  st.rows = events::read_u64_be(v, 24);
  st.digest = std::string(v.substr(32));
  return st;
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

Projector::~Projector() { stop(); }

void Projector::stop() {
  stopping_ = true;
  wait_for_rebuilds();
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

std::shared_ptr<const events::Catalog> Projector::make_catalog() const {
  auto catalog = std::make_shared<events::Catalog>();
  for (const auto& m : models_) {
    if (m.cf != nullptr) catalog->emplace(std::string(m.projection->name()), m.cf);
  }
  return catalog;
}

void Projector::publish_catalog() { store_.set_catalog(make_catalog()); }

void Projector::open(bool catch_up) {
  meta_ = store_.column_family("projections");
  const bool writable = !store_.read_only();
  for (auto& m : models_) {
    const std::string name(m.projection->name());
    if (const auto state = read_state(store_.read_view(), name)) {
      m.generation = state->generation;
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
  // Caught up: from here the live hook keeps every read model at the head.
  if (writable && catch_up) follow_log();
  if (writable) {
    // Chunk files of rebuilds that did not finish (their generations were dropped above).
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(store_.dir(), ec)) {
      const std::string name = entry.path().filename().string();
      if (name == "rebuild-scratch" || name.starts_with("online-rebuild-")) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
  }
  store_.refresh_view();
  publish_catalog();
}

void Projector::attach() {
  store_.set_commit_hook(
      [this](events::Transaction& tx, std::span<const events::StoredEvent> staged) {
        apply_live(tx, staged);
      });
}

std::vector<rocksdb::ColumnFamilyHandle*> Projector::empty_families(
    const std::vector<std::pair<std::string, std::uint64_t>>& generations, bool bulk) {
  std::vector<std::string> families;
  for (const auto& [name, generation] : generations) {
    families.push_back(family_name(name, generation));
  }
  store_.drop_column_families(families);  // leftovers of an interrupted rebuild
  return store_.column_families(families, bulk ? kBulkOptions : decltype(kBulkOptions){});
}

std::uint64_t Projector::checkpoint(std::string_view name) const {
  const auto state = read_state(store_.read_view(), name);
  return state ? state->position : 0;
}

std::optional<Projector::State> Projector::read_state(const events::ReadView& view,
                                                      std::string_view name) const {
  std::string value;
  auto get = [&](std::string_view key) {
    return meta_ != nullptr &&
           store_.db()
               ->Get(view.options(), meta_, rocksdb::Slice(key.data(), key.size()), &value)
               .ok();
  };
  if (!get(name) || value.size() != 16) return std::nullopt;
  State state{events::read_u64_be(value), events::read_u64_be(value, 8)};
  if (state.position == kFollowsLog) state.position = live_head(view);
  return state;
}

void Projector::keep_digest(std::string_view name, std::uint32_t family, std::uint64_t head,
                            std::uint64_t position, const ReadModelStatus& st) const {
  if (meta_ == nullptr || store_.read_only()) return;
  // Not synced: the record is only a cache, and a lost one is computed again.
  store_.db()->Put(rocksdb::WriteOptions(), meta_, digest_key(name),
                   digest_record(family, head, position, st));
}

std::uint64_t Projector::live_head(const events::ReadView& view) const {
  std::string value;
  if (meta_ == nullptr ||
      !store_.db()
           ->Get(view.options(), meta_, rocksdb::Slice(kLiveHead.data(), kLiveHead.size()), &value)
           .ok() ||
      value.size() != 8) {
    return 0;
  }
  return events::read_u64_be(value);
}

rocksdb::ColumnFamilyHandle* Projector::family(std::string_view name) const {
  return store_.read_view().family(name);
}

void Projector::apply_live(events::Transaction& tx, std::span<const events::StoredEvent> staged) {
  for (auto& m : models_) {
    StagedRows rows(tx.writes(), store_.db(), m.cf);
    for (const auto& e : staged) m.projection->apply(e, rows);
  }
  tx.writes().put(meta_, kLiveHead, events::u64_be(tx.head()));
}

void Projector::follow_log() {
  rocksdb::WriteBatch batch;
  for (const auto& m : models_) {
    batch.Put(meta_, std::string(m.projection->name()), state_value(m.generation, kFollowsLog));
  }
  batch.Put(meta_, rocksdb::Slice(kLiveHead.data(), kLiveHead.size()),
            events::u64_be(store_.head()));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  store_.db()->Write(wo, &batch);
}

void Projector::catch_up(Model& m) {
  std::uint64_t from = checkpoint(m.projection->name()) + 1;
  const std::uint64_t head = store_.head();
  while (from <= head) {
    const std::uint64_t to = std::min(head, from + kCatchUpChunk - 1);
    events::StagedWrites writes;
    StagedRows rows(writes, store_.db(), m.cf);
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
                              std::string_view row_prefix, const rocksdb::Snapshot* snapshot,
                              const std::function<void()>& per_row) {
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
    if (per_row) per_row();
  }
  st.digest = events::to_hex(sha.finish());
  return st;
}

std::optional<ReadModelStatus> Projector::status(std::string_view name) const {
  return status(name, store_.read_view());
}

std::optional<ReadModelStatus> Projector::status(std::string_view name,
                                                 const events::ReadView& view) const {
  const Model* m = find(name);
  rocksdb::ColumnFamilyHandle* cf = view.family(name);
  if (m == nullptr || cf == nullptr) return std::nullopt;
  // The checkpoint, the generation and the rows are read at one durable snapshot. The rows of a
  // family at one head and checkpoint never change, so their digest is kept (in memory, and in the
  // "projections" family for later processes) until one of them moves on.
  const rocksdb::ReadOptions ro = view.options();
  const auto state = read_state(view, name);
  const std::uint64_t position = state ? state->position : 0;
  const std::pair<std::uint32_t, std::uint64_t> at{cf->GetID(), view.head()};
  ReadModelStatus st;
  {
    std::lock_guard lock(status_mutex_);
    if (auto it = status_cache_.find(name); it != status_cache_.end() && it->second.first == at &&
                                            it->second.second.position == position) {
      st = it->second.second;
    }
  }
  if (st.digest.empty()) {
    std::string v;
    if (meta_ != nullptr &&
        store_.db()->Get(rocksdb::ReadOptions(), meta_, digest_key(name), &v).ok()) {
      if (auto kept = from_digest_record(v, at.first, at.second, position)) st = std::move(*kept);
    }
    if (st.digest.empty()) {
      st = digest_family(store_.db(), cf, m->projection->row_prefix(), ro.snapshot);
      keep_digest(name, at.first, at.second, position, st);
    }
    st.position = position;
    std::lock_guard lock(status_mutex_);
    status_cache_[std::string(name)] = {at, st};
  }
  if (state) {
    st.generation = state->generation;
    st.position = state->position;
  }
  st.name = std::string(name);
  return st;
}

namespace {

// One builder's share of the read models over a chunk at a time: applies events with the live
// projection code into ChunkRows, then writes each read model's rows out. A generation being built
// is read by nobody else, so a full chunk's rows skip the memtable: they become one SST file per
// family, ingested at once, where later chunks' reads see them.
class ChunkBuilder {
 public:
  ChunkBuilder(rocksdb::DB* db, std::span<const BuildTarget> targets,
               const rocksdb::Options& file_options, std::string scratch, Pacer* pace = nullptr)
      : db_(db),
        pace_(pace),
        targets_(targets.begin(), targets.end()),
        options_(file_options),
        scratch_(std::move(scratch)) {
    std::filesystem::create_directories(scratch_);
    rows_.reserve(targets_.size());
    for (const auto& t : targets_) {
      rows_.emplace_back(db, t.cf);
      auto& wants = projects_.emplace_back();
      for (std::size_t type = 0; type < wants.size(); ++type) {
        wants[type] = t.projection->projects(static_cast<fb::Payload>(type));
      }
    }
  }

  void apply(const events::StoredEvent& e) { apply(e, e.type()); }
  // Applies a chunk whose events' types are known. A chunk's events do not fit in the caches, so
  // the bytes of the events a little ahead are fetched while these are applied.
  void apply(std::span<const events::StoredEvent> events, std::span<const fb::Payload> types) {
    auto wanted = [&](std::size_t j) {
      for (const auto& p : projects_) {
        if (p[static_cast<std::uint8_t>(types[j])]) return true;
      }
      return false;
    };
    constexpr std::size_t kAhead = 6;
    for (std::size_t j = 0; j < std::min(kAhead, events.size()); ++j) {
      if (wanted(j)) __builtin_prefetch(events[j].bytes.data());
    }
    for (std::size_t j = 0; j < events.size(); ++j) {
      if (j + kAhead < events.size() && wanted(j + kAhead)) {
        const char* bytes = events[j + kAhead].bytes.data();
        __builtin_prefetch(bytes);
        __builtin_prefetch(bytes + 64);
      }
      apply(events[j], types[j]);
    }
  }

  // Reads in one batch per target what applying these events will read from earlier chunks.
  void prefetch(std::span<const events::StoredEvent> events, std::span<const fb::Payload> types) {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      keys.clear();
      for (std::size_t j = 0; j < events.size(); ++j) {
        if (projects_[i][static_cast<std::uint8_t>(types[j])]) {
          targets_[i].projection->reads(events[j], keys);
        }
      }
      if (!keys.empty()) rows_[i].prefetch(std::move(keys));
    }
  }
  // With the event's type known, events no target projects are not touched.
  void apply(const events::StoredEvent& e, fb::Payload type) {
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      if (projects_[i][static_cast<std::uint8_t>(type)]) targets_[i].projection->apply(e, rows_[i]);
    }
  }

  // Writes the chunk's rows and starts the next chunk.
  void finish(bool full_chunk) {
    if (full_chunk) {
      for (const auto& r : rows_) ingest_sorted(db_, r, options_, scratch_, file_no_, pace_);
    } else {
      // A partial chunk goes through the memtable (and the WAL, made durable by the synced
      // write that swaps the generation in): cheaper than files for a few rows.
      rocksdb::WriteBatch batch;
      for (const auto& r : rows_) {
        r.for_each_sorted([&](std::string_view key, const std::string_view* value) {
          const rocksdb::Slice k(key.data(), key.size());
          if (value != nullptr) {
            batch.Put(r.family(), k, rocksdb::Slice(value->data(), value->size()));
          } else {
            batch.Delete(r.family(), k);
          }
          if (pace_ != nullptr) pace_->tick();
        });
      }
      if (auto st = db_->Write(rocksdb::WriteOptions(), &batch); !st.ok()) {
        throw std::runtime_error("rebuild write failed: " + st.ToString());
      }
    }
    for (auto& r : rows_) r.clear();
  }

 private:
  rocksdb::DB* db_;
  Pacer* pace_;
  std::vector<BuildTarget> targets_;
  const rocksdb::Options& options_;
  std::string scratch_;
  std::vector<ChunkRows> rows_;
  std::vector<std::array<bool, 256>> projects_;  // by target, then payload type
  std::uint64_t file_no_ = 0;
};

std::uint64_t build_serial(const events::EventStore& source, std::uint64_t from, std::uint64_t to,
                           rocksdb::DB* db, std::span<const BuildTarget> targets,
                           const rocksdb::Options& file_options, const std::string& scratch,
                           const std::function<bool(std::uint64_t)>& progress, std::uint64_t chunk,
                           double duty) {
  std::uint64_t done = from - 1;
  {
    Pacer pace(duty);
    ChunkBuilder builder(db, targets, file_options, scratch, &pace);
    while (from <= to) {
      const std::uint64_t last = std::min(to, from + chunk - 1);
      source.read_range(from, last, [&](const events::StoredEvent& e) {
        builder.apply(e);
        pace.tick();
        return true;
      });
      builder.finish(last - from + 1 == chunk);
      done = last;
      from = last + 1;
      if (progress && !progress(done)) break;
    }
  }
  std::filesystem::remove_all(scratch);
  return done;
}

}  // namespace

std::uint64_t build_into(const events::EventStore& source, std::uint64_t from, std::uint64_t to,
                         rocksdb::DB* db, std::span<const BuildTarget> targets,
                         const rocksdb::Options& file_options, const std::string& scratch,
                         const std::function<bool(std::uint64_t)>& progress, unsigned threads,
                         std::uint64_t chunk, double duty) {
  threads = std::min<unsigned>(threads, static_cast<unsigned>(targets.size()));
  if (threads <= 1 || to - from + 1 < 2 * chunk) {
    return build_serial(source, from, to, db, targets, file_options, scratch, progress, chunk,
                        duty);
  }
  // Read models are independent, so a chunk's work splits into tasks: building each read model
  // from the chunk (its apply calls, then its sorted SST file) and reading the next chunk from the
  // log into the other buffer. Phase k reads chunk k and builds chunk k - 1; `threads` workers
  // (this thread among them) take a phase's tasks longest first, by what each cost in the phase
  // before, so one read model that costs more than the others no longer sets the pace on its own.
  // A chunk's types are kept apart from its events: a task scans the types and reads only the
  // events its read model projects.
  std::vector<events::StoredEvent> buffers[2];
  std::vector<fb::Payload> types[2];
  auto read_into = [&](std::uint64_t k, std::uint64_t first, std::uint64_t last) {
    auto& buffer = buffers[k % 2];
    auto& type = types[k % 2];
    std::size_t n = 0;
    type.clear();
    source.read_range(first, last, [&](const events::StoredEvent& e) {
      if (n == buffer.size()) buffer.emplace_back();
      auto& slot = buffer[n++];
      slot.position = e.position;
      slot.hash = e.hash;
      slot.bytes.assign(e.bytes);
      type.push_back(slot.type());
      return true;
    });
    buffer.resize(n);
  };
  std::vector<std::unique_ptr<ChunkBuilder>> builders;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    builders.push_back(std::make_unique<ChunkBuilder>(db, targets.subspan(i, 1), file_options,
                                                      scratch + "/" + std::to_string(i)));
  }
  const std::uint64_t chunks = (to - from) / chunk + 1;
  auto chunk_first = [&](std::uint64_t k) { return from + k * chunk; };
  auto chunk_last = [&](std::uint64_t k) { return std::min(to, chunk_first(k) + chunk - 1); };

  // Task i < targets.size() builds read model i; the last one reads. Costs are seconds.
  const std::size_t read_task = targets.size();
  std::vector<double> cost(targets.size() + 1, 0.0);
  std::vector<std::size_t> order;
  std::atomic<std::size_t> next{0};
  std::uint64_t phase = 0;
  std::atomic<bool> stop{false};  // a task failed or `progress` said stop: take no more tasks
  bool done = false;              // changed only by the barrier's completion, so all workers agree
  std::mutex error_mutex;
  std::exception_ptr error;
  std::uint64_t reached = from - 1;
  auto plan = [&] {  // the tasks of `phase`, longest first
    order.clear();
    if (phase > 0) {
      for (std::size_t i = 0; i < targets.size(); ++i) order.push_back(i);
    }
    if (phase < chunks) order.push_back(read_task);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    next = 0;
  };
  plan();
  std::barrier sync(static_cast<std::ptrdiff_t>(threads), [&]() noexcept {
    if (phase > 0 && !stop) {
      reached = chunk_last(phase - 1);
      try {
        if (progress && !progress(reached)) stop = true;
      } catch (...) {
        stop = true;
      }
    }
    ++phase;
    done = stop || phase > chunks;
    if (!done) plan();
  });
  auto work = [&] {
    while (!done) {
      for (std::size_t i; !stop && (i = next++) < order.size();) {
        const std::size_t task = order[i];
        const auto t0 = std::chrono::steady_clock::now();
        try {
          if (task == read_task) {
            read_into(phase, chunk_first(phase), chunk_last(phase));
          } else {
            const std::uint64_t k = phase - 1;
            const auto& events = buffers[k % 2];
            const auto& type = types[k % 2];
            builders[task]->prefetch(events, type);
            builders[task]->apply(events, type);
            builders[task]->finish(chunk_last(k) - chunk_first(k) + 1 == chunk);
          }
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          stop = true;
        }
        cost[task] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      sync.arrive_and_wait();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  builders.clear();
  std::filesystem::remove_all(scratch);
  if (error) std::rethrow_exception(error);
  return reached;
}

RebuildResult Projector::rebuild(std::vector<std::string> names, std::uint64_t until,
                                 const std::function<void(const RebuildProgress&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  if (names.empty()) names = this->names();
  const std::uint64_t head = store_.head();
  if (until == 0 || until > head) until = head;

  std::vector<std::pair<Model*, std::uint64_t>> models;  // with the new generation
  std::vector<std::pair<std::string, std::uint64_t>> generations;
  for (const auto& n : names) {
    Model* m = find(n);
    if (m == nullptr) continue;
    models.emplace_back(m, m->generation + 1);
    generations.emplace_back(n, m->generation + 1);
  }
  const bool bulk = until >= kBulkChunks * rebuild_chunk_;
  const auto families = empty_families(generations, bulk);
  std::vector<BuildTarget> targets;
  for (std::size_t i = 0; i < models.size(); ++i) {
    targets.push_back({models[i].first->projection.get(), families[i]});
  }

  RebuildResult result;
  result.until = until;
  build_into(
      store_, 1, until, store_.db(), targets, store_.family_file_options(),
      store_.dir() + "/rebuild-scratch",
      [&](std::uint64_t pos) {
        if (progress) progress({pos, until});
        return true;
      },
      std::max(1u, std::thread::hardware_concurrency()), rebuild_chunk_);
  result.events = until;
  // Compaction of the ingested files is left to RocksDB's background work (the server reads
  // through L0 until then); an online rebuild compacts before its swap instead.
  if (bulk) set_bulk_triggers(store_.db(), targets, false);

  // The swap: one synced write points every rebuilt read model at its new generation.
  rocksdb::WriteBatch swap;
  for (auto& [m, gen] : models) {
    swap.Put(meta_, std::string(m->projection->name()), state_value(gen, until));
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  store_.db()->Write(synced, &swap);
  std::vector<std::string> old;
  for (std::size_t i = 0; i < models.size(); ++i) {
    auto& [m, gen] = models[i];
    old.push_back(family_name(m->projection->name(), m->generation));
    m->generation = gen;
    m->cf = targets[i].cf;
  }
  store_.drop_column_families(old);
  store_.refresh_view();
  publish_catalog();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto& [m, gen] : models) {
    if (auto st = status(m->projection->name())) result.read_models.push_back(*st);
  }
  return result;
}

std::vector<ReadModelStatus> read_models_at(const events::EventStore& source, std::uint64_t at,
                                            std::vector<std::string> names,
                                            const std::string& scratch_dir) {
  std::vector<std::unique_ptr<Projection>> projections;
  for (auto& p : all_projections()) {
    if (names.empty() || std::find(names.begin(), names.end(), p->name()) != names.end()) {
      projections.push_back(std::move(p));
    }
  }
  std::filesystem::remove_all(scratch_dir);
  std::filesystem::create_directories(scratch_dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors{
      {rocksdb::kDefaultColumnFamilyName, options}};
  for (const auto& p : projections) descriptors.emplace_back(std::string(p->name()), options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, scratch_dir + "/db", descriptors, &handles, &raw);
  if (!s.ok()) throw std::runtime_error("cannot open a scratch store: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<BuildTarget> targets;
  for (std::size_t i = 0; i < projections.size(); ++i) {
    targets.push_back({projections[i].get(), handles[i + 1]});
  }
  build_into(source, 1, at, db.get(), targets, options, scratch_dir + "/sst", {},
             std::max(1u, std::thread::hardware_concurrency()));
  std::vector<ReadModelStatus> out;
  for (const auto& t : targets) {
    ReadModelStatus st = digest_family(db.get(), t.cf, t.projection->row_prefix(), nullptr);
    st.name = std::string(t.projection->name());
    st.position = at;
    out.push_back(std::move(st));
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close();
  db.reset();
  std::filesystem::remove_all(scratch_dir);
  return out;
}

std::expected<std::vector<std::pair<std::string, std::uint64_t>>, Problem> Projector::start_rebuild(
    const std::vector<std::string>& names, Micros now) {
  std::lock_guard lock(online_mutex_);
  if (stopping_) return std::unexpected(Problem::make(ProblemKind::kUnavailable, "Stopping."));
  for (const auto& n : names) {
    if (find(n) == nullptr) {
      return std::unexpected(
          Problem::make(ProblemKind::kNotFound, "No read model named '" + n + "'."));
    }
    if (online_.contains(n)) {
      return std::unexpected(Problem::make(ProblemKind::kAlreadyRunning,
                                           "Read model '" + n + "' is already being rebuilt."));
    }
  }
  // Finished jobs leave their threads to join.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  auto job = std::make_unique<OnlineJob>();
  std::vector<std::pair<std::string, std::uint64_t>> started;
  // The live generation number is read at the latest durable view (the writer-side copy belongs
  // to the writer thread).
  const events::ReadView view = store_.read_view();
  for (const auto& n : names) {
    const auto state = read_state(view, n);
    started.emplace_back(n, (state ? state->generation : 1) + 1);
  }
  const auto families = empty_families(started, /*bulk=*/false);
  for (std::size_t i = 0; i < names.size(); ++i) {
    Model* m = find(names[i]);
    const std::uint64_t gen = started[i].second;
    job->models.push_back(m);
    job->targets.push_back({m->projection.get(), families[i]});
    job->generations.push_back(gen);
    online_[names[i]] = OnlineRebuild{gen, 0, now};
  }
  OnlineJob* raw = job.get();
  jobs_.push_back(std::move(job));
  raw->thread = std::thread([this, raw] { run_online(*raw); });
  return started;
}

std::optional<OnlineRebuild> Projector::rebuilding(std::string_view name) const {
  std::lock_guard lock(online_mutex_);
  auto it = online_.find(name);
  if (it == online_.end()) return std::nullopt;
  return it->second;
}

void Projector::wait_for_rebuilds() {
  std::vector<std::unique_ptr<OnlineJob>> jobs;
  {
    std::lock_guard lock(online_mutex_);
    jobs.swap(jobs_);
  }
  for (auto& j : jobs) {
    if (j->thread.joinable()) j->thread.join();
  }
}

std::optional<std::uint64_t> Projector::build_online(OnlineJob& job, const std::string& scratch) {
  auto set_position = [&](std::uint64_t pos) {
    std::lock_guard lock(online_mutex_);
    for (const auto& t : job.targets) online_[std::string(t.projection->name())].position = pos;
    return !stopping_.load();
  };
  const bool bulk = store_.head() >= kBulkChunks * rebuild_chunk_;
  if (bulk) set_bulk_triggers(store_.db(), job.targets, true);
  // Bulk: from position 1 to the head, then again until the new generations are within
  // kSwapLag events of the head (the rest is applied on the writer thread by the swap).
  std::uint64_t built = 0;
  bool compacted = false;
  for (;;) {
    const std::uint64_t head = store_.head();
    if (head > built + kSwapLag) {
      built = build_into(store_, built + 1, head, store_.db(), job.targets,
                         store_.family_file_options(), scratch, set_position, 1, rebuild_chunk_,
                         kOnlineRebuildDuty);
      if (stopping_) return std::nullopt;
      continue;
    }
    if (compacted) break;
    // Fold the ingested files before live writes reach the new generations.
    if (bulk) {
      compact_families(store_.db(), job.targets);
      set_bulk_triggers(store_.db(), job.targets, false);
    }
    compacted = true;
  }
  // Digests scan every row. With the head where the build stopped, the swap adds nothing to the
  // new generations, so their digests are taken now, on this thread at its pace, for the first
  // status read after the swap; it would otherwise scan every row beside the requests. (After a
  // later commit they are stale and never used.)
  std::optional<std::uint64_t> live;  // the checkpoint the read models will show after the swap
  {
    // The view (a snapshot) is not held during the scans.
    const auto view = store_.read_view();
    if (view.head() == built) live = live_head(view);
  }
  if (live) {
    Pacer pace(kOnlineRebuildDuty);
    for (const auto& t : job.targets) {
      ReadModelStatus st = digest_family(store_.db(), t.cf, t.projection->row_prefix(), nullptr,
                                         [&pace] { pace.tick(); });
      if (stopping_) return std::nullopt;
      // The old generation's digest stays cached in memory until the swap; its record in the
      // "projections" family makes way for this one.
      keep_digest(t.projection->name(), t.cf->GetID(), built, *live, st);
    }
  }
  return built;
}

void Projector::run_online(OnlineJob& job) {
  // The background build runs only when request handling and the writer leave a core idle; it
  // builds on this one thread.
  events::run_in_background();
  // Forgets this job's entries (a later rebuild of the same read model may have its own by now).
  auto forget = [this, &job] {
    for (std::size_t i = 0; i < job.targets.size(); ++i) {
      auto it = online_.find(job.targets[i].projection->name());
      if (it != online_.end() && it->second.generation == job.generations[i]) online_.erase(it);
    }
  };
  // Drops the job's new generations (`back` 0) or the ones they replaced (1), in one manifest
  // write.
  auto drop_generations = [&](std::uint64_t back) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < job.targets.size(); ++i) {
      names.push_back(family_name(job.targets[i].projection->name(), job.generations[i] - back));
    }
    store_.drop_column_families(names);
  };
  auto finish = [&](bool swapped) {
    std::lock_guard lock(online_mutex_);
    forget();
    if (!swapped) drop_generations(0);
    job.done = true;
  };
  const std::string scratch = store_.dir() + "/online-rebuild-" +
                              std::to_string(job.generations.front()) + "-" +
                              std::string(job.targets.front().projection->name());
  std::optional<std::uint64_t> built;
  try {
    built = build_online(job, scratch);
  } catch (const std::exception& e) {
    // Nothing was swapped: the read models keep their generations; the half-built ones go.
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
    std::vector<std::string> names;
    for (const auto& t : job.targets) names.emplace_back(t.projection->name());
    finish(false);
    if (on_rebuild_failed_) on_rebuild_failed_(names, e.what());
    return;
  }
  if (!built) return finish(false);
  if (before_swap_) before_swap_();
  // The swap, on the writer thread: the events written since `built` go into the new generations
  // in the same commit that points the read models at them and publishes the new catalog.
  std::promise<bool> swapped;
  store_.submit(events::WriteJob{
      [this, &job, built = *built](events::Transaction& tx) {
        const std::uint64_t upto =
            tx.staged().empty() ? tx.head() : tx.staged().front().position - 1;
        std::vector<StagedRows> rows;
        for (const auto& t : job.targets) rows.emplace_back(tx.writes(), store_.db(), t.cf);
        store_.read_range_written(built + 1, upto, [&](const events::StoredEvent& e) {
          for (std::size_t i = 0; i < job.targets.size(); ++i) {
            job.targets[i].projection->apply(e, rows[i]);
          }
          return true;
        });
        for (std::size_t i = 0; i < job.models.size(); ++i) {
          Model* m = job.models[i];
          m->generation = job.generations[i];
          m->cf = job.targets[i].cf;
          // Current through `upto` now, and through each later commit by the live hook.
          put_state(tx.writes(), std::string(m->projection->name()), m->generation, kFollowsLog);
        }
        tx.publish_catalog(make_catalog());
        return true;
      },
      [&](const std::optional<Problem>& failure) {
        // Durable and published: the read models serve from the new generations, so they may be
        // rebuilt again at once.
        if (!failure) {
          std::lock_guard lock(online_mutex_);
          forget();
        }
        swapped.set_value(!failure);
      }});
  const bool ok = swapped.get_future().get();
  if (ok) {
    drop_generations(1);
  }
  finish(ok);
}

}  // namespace annals::projections
