#include "events/store.h"

#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <filesystem>
#include <future>

#include "events/keys.h"

namespace annals::events {

namespace {

constexpr const char* kLog = "log";
constexpr const char* kStreams = "streams";
constexpr const char* kStreamIndex = "stream_index";
constexpr const char* kIdempotency = "idempotency";

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

// Events in a range read that counts as a long scan (see read_range_at).
constexpr std::uint64_t kLongScan = 4096;

std::string stream_index_key(std::string_view stream, std::uint64_t version) {
  std::string k;
  k.reserve(stream.size() + 9);
  k.append(stream);
  k.push_back('\0');
  append_u64_be(k, version);
  return k;
}

std::string idempotency_key(std::string_view scope, std::string_view key) {
  std::string k(scope);
  k.push_back('\0');
  k.append(key);
  return k;
}

bool decode_stored(std::uint64_t position, std::string_view value, StoredEvent& out) {
  if (value.size() < 32 + 8) return false;
  out.position = position;
  std::copy_n(reinterpret_cast<const std::uint8_t*>(value.data()), 32, out.hash.begin());
  out.bytes.assign(value.substr(32));
  return true;
}

rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::string_view name) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.whole_key_filtering = true;
  // The log is read mostly in long runs (rebuilds, exports, replays), and an event read by
  // position is usually a recent one, whose block is in the cache: 16 KB blocks (RocksDB's
  // default is 4 KB) make it 26 % smaller on disk and its scans cheaper (docs/BENCHMARKS.md).
  if (name == kLog) table.block_size = 16u << 10;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = 32u << 20;
  cf.max_write_buffer_number = 3;
  if (name.starts_with("rm.")) {
    cf.level0_slowdown_writes_trigger = kReadModelSlowdownTrigger;
    cf.level0_stop_writes_trigger = kReadModelStopTrigger;
  }
  return cf;
}

Micros system_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(EventStore& store) : store_(store), builder_(1024) {
  head_ = store.written_head_;
  head_hash_ = store.written_hash_;
  now_ = store.last_now_;
}

void Transaction::begin_job(Micros now) {
  now_ = std::max(now_, now);
  writes_.set_savepoint();
  job_staged_ = staged_.size();
  job_head_ = head_;
  job_head_hash_ = head_hash_;
}

void Transaction::end_job(bool keep) {
  if (keep) {
    writes_.pop_savepoint();
    return;
  }
  writes_.rollback_to_savepoint();
  staged_.resize(job_staged_);
  head_ = job_head_;
  head_hash_ = job_head_hash_;
}

rocksdb::DB* Transaction::db() const { return store_.db_.get(); }

std::optional<std::string> Transaction::get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  return writes_.get(store_.db_.get(), cf, key);
}

void Transaction::put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                      std::string_view value) {
  writes_.put(cf, key, value);
}

void Transaction::remove(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  writes_.remove(cf, key);
}

void Transaction::read_stream(std::string_view stream,
                              const std::function<void(const StoredEvent&)>& fn) const {
  read_stream(stream, 1, fn);
}

void Transaction::read_stream(std::string_view stream, std::uint64_t from_version,
                              const std::function<void(const StoredEvent&)>& fn) const {
  // Events staged in this commit continue the stream's committed versions: when the first of
  // them is at or before from_version, the committed part has nothing to add.
  std::uint64_t first_staged = 0;
  for (const StoredEvent& e : staged_) {
    const auto* s = e.event().stream();
    if (s != nullptr && s->string_view() == stream) {
      first_staged = e.event().version();
      break;
    }
  }
  if (first_staged == 0 || first_staged > from_version) {
    // The writer reads the latest written state, which may be ahead of the durable view.
    store_.read_stream_at(
        rocksdb::ReadOptions(), stream, from_version,
        [&](std::uint64_t, const StoredEvent& e) {
          fn(e);
          return true;
        },
        false);
  }
  for (const StoredEvent& e : staged_) {
    const auto* s = e.event().stream();
    if (s != nullptr && s->string_view() == stream && e.event().version() >= from_version) fn(e);
  }
}

std::uint64_t Transaction::stream_version(std::string_view stream) {
  auto v = get(store_.streams_cf_, stream);
  return v && v->size() == 8 ? read_u64_be(*v) : 0;
}

std::optional<std::string> Transaction::idempotency_record(std::string_view scope,
                                                           std::string_view key) {
  return get(store_.idempotency_cf_, idempotency_key(scope, key));
}

void Transaction::put_idempotency_record(std::string_view scope, std::string_view key,
                                         std::string_view value) {
  put(store_.idempotency_cf_, idempotency_key(scope, key), value);
}

std::expected<AppendResult, Problem> Transaction::append(std::string_view stream,
                                                         ExpectedVersion expected,
                                                         std::span<const NewEvent> events,
                                                         const Envelope& envelope) {
  std::uint64_t version = stream_version(stream);
  const bool ok = expected.kind == ExpectedVersion::Kind::kAny ||
                  (expected.kind == ExpectedVersion::Kind::kNoStream && version == 0) ||
                  (expected.kind == ExpectedVersion::Kind::kExact && version == expected.version);
  if (!ok) {
    return std::unexpected(Problem::make(
        ProblemKind::kPreconditionFailed,
        "Stream '" + std::string(stream) + "' is at version " + std::to_string(version) +
            (expected.kind == ExpectedVersion::Kind::kNoStream
                 ? ", expected no stream."
                 : ", expected " + std::to_string(expected.version) + ".")));
  }
  AppendResult result;
  result.first_position = head_ + 1;
  std::string value;
  for (const NewEvent& e : events) {
    builder_.Clear();
    const auto payload = e.build(builder_);
    const auto stream_off = builder_.CreateString(stream.data(), stream.size());
    const auto actor_off = builder_.CreateString(envelope.actor);
    const auto corr_off = builder_.CreateString(envelope.correlation_id);
    fb::EventBuilder b(builder_);
    b.add_position(head_ + 1);
    b.add_stream(stream_off);
    b.add_version(version + 1);
    b.add_recorded_at(now_);
    b.add_actor(actor_off);
    b.add_correlation_id(corr_off);
    if (envelope.causation_id) b.add_causation_id(*envelope.causation_id);
    b.add_payload_type(e.type);
    b.add_payload(payload);
    builder_.Finish(b.Finish());
    std::string_view bytes(reinterpret_cast<const char*>(builder_.GetBufferPointer()),
                           builder_.GetSize());

    ++head_;
    ++version;
    sha_.update(head_hash_).update(bytes);
    head_hash_ = sha_.finish();

    value.assign(reinterpret_cast<const char*>(head_hash_.data()), head_hash_.size());
    value.append(bytes);
    writes_.put(store_.log_cf_, u64_be(head_), value);
    writes_.put(store_.stream_index_cf_, stream_index_key(stream, version), u64_be(head_));
    staged_.push_back(StoredEvent{head_, head_hash_, std::string(bytes)});
  }
  writes_.put(store_.streams_cf_, stream, u64_be(version));
  result.last_position = head_;
  result.stream_version = version;
  return result;
}

// ---------------------------------------------------------------------------------------------
// EventStore

EventStore::EventStore(StoreOptions options) : options_(std::move(options)) {}

std::expected<std::unique_ptr<EventStore>, Problem> EventStore::open(StoreOptions options) {
  std::unique_ptr<EventStore> store(new EventStore(std::move(options)));
  const auto& o = store->options_;
  if (o.read_only && !std::filesystem::exists(o.dir + "/CURRENT")) {
    return std::unexpected(
        Problem::make(ProblemKind::kUnavailable, "no annals store at '" + o.dir + "'"));
  }
  if (!o.read_only) std::filesystem::create_directories(o.dir);

  store->cache_ = rocksdb::NewLRUCache(o.block_cache_bytes);
  const auto& cache = store->cache_;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !o.read_only;
  db_options.create_missing_column_families = !o.read_only;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 3;
  // Families written rarely (streams, indexes, small read models) would otherwise keep every WAL
  // file since their last flush: bound the WAL (and so the replay at the next open).
  db_options.max_total_wal_size = 512u << 20;

  store->db_options_ = db_options;
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(db_options, o.dir, &names).ok()) names = {"default"};
  for (const char* required : {kLog, kStreams, kStreamIndex, kIdempotency}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) names.push_back(required);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, family_options(cache, n));

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      o.read_only ? rocksdb::DB::OpenForReadOnly(db_options, o.dir, descriptors, &handles, &raw)
                  : rocksdb::DB::Open(db_options, o.dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    const std::string msg = s.ToString();
    if (msg.find("lock") != std::string::npos || msg.find("Lock") != std::string::npos) {
      return std::unexpected(Problem::make(
          ProblemKind::kUnavailable,
          "data directory '" + o.dir + "' is held by another process (is annalsd running?)"));
    }
    return std::unexpected(
        Problem::make(ProblemKind::kUnavailable, "cannot open store at '" + o.dir + "': " + msg));
  }
  store->db_.reset(raw);
  for (auto* h : handles) store->families_[h->GetName()] = h;
  store->log_cf_ = store->families_.at(kLog);
  store->streams_cf_ = store->families_.at(kStreams);
  store->stream_index_cf_ = store->families_.at(kStreamIndex);
  store->idempotency_cf_ = store->families_.at(kIdempotency);

  // Recover the head from the last stored event.
  std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), store->log_cf_));
  it->SeekToLast();
  if (it->Valid()) {
    StoredEvent last;
    if (decode_stored(read_u64_be(it->key().ToStringView()), it->value().ToStringView(), last)) {
      store->head_ = last.position;
      store->head_hash_ = last.hash;
      store->written_head_ = last.position;
      store->written_hash_ = last.hash;
      store->last_now_ = last.event().recorded_at();
    }
  }
  it.reset();
  if (!o.read_only) {
    store->snapshot_ = store->take_snapshot();
    store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
    store->syncer_ = std::thread([s = store.get()] { s->syncer_loop(); });
  }
  return store;
}

EventStore::~EventStore() {
  stop();
  snapshot_.reset();
  catalog_.reset();
  for (auto& [name, h] : families_) db_->DestroyColumnFamilyHandle(h);
  for (auto* h : dropped_) db_->DestroyColumnFamilyHandle(h);
  families_.clear();
  if (db_) db_->Close();
}

Micros EventStore::clock_now() const { return options_.clock ? options_.clock() : system_now(); }

Digest EventStore::head_hash() const {
  std::lock_guard lock(head_mutex_);
  return head_hash_;
}

std::shared_ptr<const rocksdb::Snapshot> EventStore::take_snapshot() {
  rocksdb::DB* db = db_.get();
  return std::shared_ptr<const rocksdb::Snapshot>(
      db->GetSnapshot(), [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
}

ReadView EventStore::read_view() const {
  std::lock_guard lock(head_mutex_);
  return ReadView(snapshot_, head_.load(), catalog_);
}

void EventStore::set_catalog(std::shared_ptr<const Catalog> catalog) {
  std::lock_guard lock(head_mutex_);
  catalog_ = std::move(catalog);
}

void EventStore::refresh_view() {
  if (options_.read_only) return;
  auto snap = take_snapshot();
  std::lock_guard lock(head_mutex_);
  snapshot_ = std::move(snap);
}

std::optional<StoredEvent> EventStore::read(std::uint64_t position) const {
  return read_at(read_view().options(), position);
}

std::vector<std::optional<std::string>> multi_get(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                                                  rocksdb::ColumnFamilyHandle* cf,
                                                  const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db->MultiGet(ro, cf, slices.size(), slices.data(), values.data(), statuses.data());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) out[i] = values[i].ToString();
  }
  return out;
}

std::vector<std::optional<StoredEvent>> EventStore::read_many(
    const ReadView& view, std::span<const std::uint64_t> positions) const {
  std::vector<std::string> keys;
  keys.reserve(positions.size());
  for (const auto p : positions) keys.push_back(u64_be(p));
  auto values = multi_get(db_.get(), view.options(), log_cf_, keys);
  std::vector<std::optional<StoredEvent>> out(positions.size());
  for (std::size_t i = 0; i < positions.size(); ++i) {
    StoredEvent e;
    if (values[i] && decode_stored(positions[i], *values[i], e)) out[i] = std::move(e);
  }
  return out;
}

std::optional<StoredEvent> EventStore::read_at(const rocksdb::ReadOptions& ro,
                                               std::uint64_t position) const {
  std::string value;
  if (!db_->Get(ro, log_cf_, u64_be(position), &value).ok()) {
    return std::nullopt;
  }
  StoredEvent e;
  if (!decode_stored(position, value, e)) return std::nullopt;
  return e;
}

void EventStore::read_range(std::uint64_t from, std::uint64_t to,
                            const std::function<bool(const StoredEvent&)>& fn,
                            bool backward) const {
  if (from > to) return;
  const ReadView view = read_view();
  read_range_at(view.options(), from, to, fn, backward);
}

void EventStore::read_range_written(std::uint64_t from, std::uint64_t to,
                                    const std::function<bool(const StoredEvent&)>& fn) const {
  if (from <= to) read_range_at(rocksdb::ReadOptions(), from, to, fn, false);
}

void EventStore::read_range_at(rocksdb::ReadOptions ro, std::uint64_t from, std::uint64_t to,
                               const std::function<bool(const StoredEvent&)>& fn,
                               bool backward) const {
  ro.readahead_size = 2u << 20;
  // A long scan (a rebuild, an export) reads each block once: it must not evict the blocks that
  // serve point reads from the block cache.
  if (to - from >= kLongScan) ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  StoredEvent e;
  if (backward) {
    for (it->SeekForPrev(u64_be(to)); it->Valid(); it->Prev()) {
      const std::uint64_t p = read_u64_be(it->key().ToStringView());
      if (p < from || !decode_stored(p, it->value().ToStringView(), e) || !fn(e)) break;
    }
  } else {
    for (it->Seek(u64_be(from)); it->Valid(); it->Next()) {
      const std::uint64_t p = read_u64_be(it->key().ToStringView());
      if (p > to || !decode_stored(p, it->value().ToStringView(), e) || !fn(e)) break;
    }
  }
}

std::uint64_t EventStore::stream_version(std::string_view stream) const {
  std::string v;
  if (db_->Get(read_view().options(), streams_cf_, slice(stream), &v).ok() && v.size() == 8) {
    return read_u64_be(v);
  }
  return 0;
}

void EventStore::read_stream(std::string_view stream, std::uint64_t from_version,
                             const std::function<bool(std::uint64_t, const StoredEvent&)>& fn,
                             bool backward) const {
  const ReadView view = read_view();
  read_stream_at(view.options(), stream, from_version, fn, backward);
}

void EventStore::read_stream_at(const rocksdb::ReadOptions& ro, std::string_view stream,
                                std::uint64_t from_version,
                                const std::function<bool(std::uint64_t, const StoredEvent&)>& fn,
                                bool backward) const {
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, stream_index_cf_));
  auto step = [&] { backward ? it->Prev() : it->Next(); };
  if (backward) {
    it->SeekForPrev(stream_index_key(stream, from_version));
  } else {
    it->Seek(stream_index_key(stream, from_version));
  }
  for (; it->Valid(); step()) {
    auto key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8 || !key.starts_with(prefix)) break;
    auto e = read_at(ro, read_u64_be(it->value().ToStringView()));
    if (!e || !fn(read_u64_be(key, prefix.size()), *e)) break;
  }
}

std::optional<std::string> EventStore::idempotency_record(std::string_view scope,
                                                          std::string_view key) const {
  std::string value;
  if (db_->Get(read_view().options(), idempotency_cf_, idempotency_key(scope, key), &value).ok()) {
    return value;
  }
  return std::nullopt;
}

bool EventStore::wait_for(std::uint64_t position, std::chrono::milliseconds timeout) const {
  if (head() >= position) return true;
  std::unique_lock lock(head_mutex_);
  return head_cv_.wait_for(lock, timeout, [&] { return head() >= position; });
}

void EventStore::submit(WriteJob job) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_ && writable_.load() && !options_.read_only) {
      queue_.push_back(std::move(job));
      queue_cv_.notify_one();
      return;
    }
  }
  stats_.write_refusals.fetch_add(1);
  job.done(Problem::make(ProblemKind::kUnavailable, "the store is not accepting writes"));
}

std::expected<AppendResult, Problem> EventStore::append(std::string_view stream,
                                                        ExpectedVersion expected,
                                                        std::vector<NewEvent> events,
                                                        Envelope envelope,
                                                        std::optional<std::string> idem_key) {
  std::promise<std::expected<AppendResult, Problem>> promise;
  auto future = promise.get_future();
  auto result = std::make_shared<std::expected<AppendResult, Problem>>();
  submit(WriteJob{[&, result](Transaction& tx) {
                    if (idem_key) {
                      if (auto stored = tx.idempotency_record("append", *idem_key)) {
                        if (stored->size() == 24) {
                          *result = AppendResult{read_u64_be(*stored), read_u64_be(*stored, 8),
                                                 read_u64_be(*stored, 16)};
                          return true;
                        }
                      }
                    }
                    *result = tx.append(stream, expected, events, envelope);
                    if (!*result) return false;
                    if (idem_key) {
                      std::string rec = u64_be((*result)->first_position) +
                                        u64_be((*result)->last_position) +
                                        u64_be((*result)->stream_version);
                      tx.put_idempotency_record("append", *idem_key, rec);
                    }
                    return true;
                  },
                  [&, result](const std::optional<Problem>& failure) {
                    if (failure) {
                      promise.set_value(std::unexpected(*failure));
                    } else {
                      promise.set_value(std::move(*result));
                    }
                  }});
  return future.get();
}

void EventStore::add_commit_listener(std::function<void(std::uint64_t)> listener) {
  std::lock_guard lock(queue_mutex_);
  listeners_.push_back(std::move(listener));
}

void EventStore::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
    queue_cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(sync_mutex_);
    sync_stopping_ = true;
    sync_cv_.notify_all();
  }
  if (syncer_.joinable()) syncer_.join();
}

void EventStore::writer_loop() {
  std::vector<WriteJob> jobs;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && jobs.size() < options_.max_batch) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(jobs);
  }
}

void EventStore::commit(std::vector<WriteJob>& jobs) {
  Transaction tx(*this);
  for (auto& job : jobs) {
    tx.begin_job(clock_now());
    bool keep = false;
    try {
      keep = job.run(tx);
    } catch (...) {
      keep = false;
    }
    tx.end_job(keep);
  }
  Pending p;
  p.started = std::chrono::steady_clock::now();
  if (!writable_.load()) {
    p.failure = Problem::make(ProblemKind::kUnavailable, "the store is not accepting writes");
  } else if (!tx.writes_.empty()) {
    if (commit_hook_ && !tx.staged_.empty()) commit_hook_(tx, tx.staged_);
    rocksdb::WriteBatch batch;
    tx.writes_.write_sorted(batch);
    // Not synced here: the syncer makes it durable while this thread decides the next batch.
    const rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
    if (s.ok()) {
      written_head_ = tx.head_;
      written_hash_ = tx.head_hash_;
      last_now_ = tx.now_;
      p.wrote = true;
      p.head = tx.head_;
      p.hash = tx.head_hash_;
      p.snapshot = take_snapshot();
      p.catalog = std::move(tx.catalog_);
    } else {
      writable_ = false;
      p.failure =
          Problem::make(ProblemKind::kUnavailable, "the store refused the write: " + s.ToString());
    }
  }
  stats_.batch_commands.observe(static_cast<double>(jobs.size()));
  p.jobs = std::move(jobs);
  jobs.clear();
  std::lock_guard lock(sync_mutex_);
  pending_.push_back(std::move(p));
  sync_cv_.notify_one();
}

void EventStore::syncer_loop() {
  std::deque<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(sync_mutex_);
      sync_cv_.wait(lock, [&] { return sync_stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping and drained
      group.swap(pending_);
    }
    // One WAL sync covers every batch written so far.
    const bool wrote = std::any_of(group.begin(), group.end(), [](auto& p) { return p.wrote; });
    rocksdb::Status s;
    if (wrote && options_.sync && writable_.load()) {
      const auto sync_started = std::chrono::steady_clock::now();
      s = db_->SyncWAL();
      stats_.wal_sync_seconds.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_started).count());
    }
    if (!s.ok()) {
      writable_ = false;
      stats_.write_refusals.fetch_add(group.size());
    }
    for (Pending& p : group) {
      if (!p.failure && (!s.ok() || !writable_.load())) {
        p.failure = Problem::make(ProblemKind::kUnavailable,
                                  "the store could not make the write durable: " + s.ToString());
      }
      if (!p.failure && p.wrote) {
        {
          std::lock_guard lock(head_mutex_);
          head_hash_ = p.hash;
          snapshot_ = std::move(p.snapshot);
          if (p.catalog) catalog_ = std::move(p.catalog);
          head_.store(p.head, std::memory_order_release);
        }
        head_cv_.notify_all();
        stats_.commit_seconds.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - p.started).count());
      }
      for (auto& job : p.jobs) {
        if (job.done) job.done(p.failure);
      }
      if (!p.failure && p.wrote) {
        for (auto& l : listeners_) l(p.head);
      }
    }
    group.clear();
  }
}

rocksdb::ColumnFamilyHandle* EventStore::column_family(const std::string& name) {
  std::lock_guard lock(cf_mutex_);
  if (auto it = families_.find(name); it != families_.end()) return it->second;
  if (options_.read_only) return nullptr;
  rocksdb::ColumnFamilyHandle* h = nullptr;
  if (!db_->CreateColumnFamily(family_options(cache_, name), name, &h).ok()) return nullptr;
  families_[name] = h;
  return h;
}

std::vector<rocksdb::ColumnFamilyHandle*> EventStore::column_families(
    const std::vector<std::string>& names,
    const std::unordered_map<std::string, std::string>& overrides) {
  std::lock_guard lock(cf_mutex_);
  std::vector<rocksdb::ColumnFamilyHandle*> out(names.size(), nullptr);
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto it = families_.find(names[i]); it != families_.end()) {
      out[i] = it->second;
    } else {
      missing.push_back(names[i]);
    }
  }
  if (missing.empty() || options_.read_only) return out;
  rocksdb::ColumnFamilyOptions cf = family_options(cache_, "rm.");
  if (!overrides.empty()) {
    rocksdb::ColumnFamilyOptions base = cf;
    if (!rocksdb::GetColumnFamilyOptionsFromMap(rocksdb::ConfigOptions(), base, overrides, &cf)
             .ok()) {
      return out;
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  if (!db_->CreateColumnFamilies(cf, missing, &created).ok()) {
    for (auto* h : created) db_->DestroyColumnFamilyHandle(h);
    return out;
  }
  for (auto* h : created) families_[h->GetName()] = h;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (out[i] == nullptr) out[i] = families_.at(names[i]);
  }
  return out;
}

void EventStore::drop_column_families(const std::vector<std::string>& names) {
  std::lock_guard lock(cf_mutex_);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const auto& name : names) {
    auto it = families_.find(name);
    if (it == families_.end()) continue;
    handles.push_back(it->second);
    dropped_.push_back(it->second);
    families_.erase(it);
  }
  if (!handles.empty()) db_->DropColumnFamilies(handles);
}

rocksdb::Options EventStore::family_file_options() const {
  return rocksdb::Options(db_options_, family_options(cache_, "rm."));
}

std::vector<std::string> EventStore::column_family_names() const {
  std::lock_guard lock(cf_mutex_);
  std::vector<std::string> names;
  for (const auto& [n, h] : families_) names.push_back(n);
  return names;
}

void EventStore::drop_column_family(const std::string& name) { drop_column_families({name}); }

}  // namespace annals::events
