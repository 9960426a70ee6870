// EventStore: expected versions, idempotent appends, the hash chain, group commit and reopening.
#include "events/store.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "domain/lesson.h"
#include "events/keys.h"
#include "events/lesson_codec.h"
#include "events/verify.h"
#include "tests/support/temp_dir.h"

namespace annals::events {
namespace {

NewEvent lesson_event(std::int64_t id) {
  lesson::Recorded r;
  r.lesson_id = id;
  r.fields.lesson_type = "t";
  return encode(r);
}

std::unique_ptr<EventStore> open_store(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  auto s = EventStore::open(o);
  EXPECT_TRUE(s) << (s ? "" : s.error().detail);
  return s ? std::move(*s) : nullptr;
}

const Envelope kEnv{"tester", "corr-1", std::nullopt};

TEST(EventStore, AssignsDensePositionsAndStreamVersions) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto a =
      store->append("s-a", ExpectedVersion::no_stream(), {lesson_event(1), lesson_event(2)}, kEnv);
  auto b = store->append("s-b", ExpectedVersion::any(), {lesson_event(3)}, kEnv);
  auto c = store->append("s-a", ExpectedVersion::exact(2), {lesson_event(4)}, kEnv);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, (AppendResult{1, 2, 2}));
  EXPECT_EQ(*b, (AppendResult{3, 3, 1}));
  EXPECT_EQ(*c, (AppendResult{4, 4, 3}));
  EXPECT_EQ(store->head(), 4u);
  EXPECT_EQ(store->stream_version("s-a"), 3u);
  std::vector<std::uint64_t> positions;
  store->read_stream("s-a", 1, [&](std::uint64_t v, const StoredEvent& e) {
    positions.push_back(e.position);
    EXPECT_EQ(e.event().version(), v);
    EXPECT_EQ(e.event().actor()->str(), "tester");
    return true;
  });
  EXPECT_EQ(positions, (std::vector<std::uint64_t>{1, 2, 4}));
  positions.clear();
  store->read_stream(
      "s-a", 3,
      [&](std::uint64_t, const StoredEvent& e) {
        positions.push_back(e.position);
        return true;
      },
      /*backward=*/true);
  EXPECT_EQ(positions, (std::vector<std::uint64_t>{4, 2, 1}));
}

TEST(EventStore, ReadManyAnswersInTheOrderAskedAndSkipsWhatIsNotThere) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store->append("s-a", ExpectedVersion::any(),
                            {lesson_event(1), lesson_event(2), lesson_event(3)}, kEnv));
  const std::vector<std::uint64_t> asked{3, 9, 1, 2, 3};
  const auto got = store->read_many(store->read_view(), asked);
  ASSERT_EQ(got.size(), asked.size());
  EXPECT_FALSE(got[1]) << "position 9 is beyond the head";
  for (const std::size_t i : {0u, 2u, 3u, 4u}) {
    ASSERT_TRUE(got[i]) << i;
    const auto one = store->read(asked[i]);
    ASSERT_TRUE(one);
    EXPECT_EQ(got[i]->position, asked[i]);
    EXPECT_EQ(got[i]->bytes, one->bytes);
    EXPECT_EQ(got[i]->hash, one->hash);
  }
  EXPECT_TRUE(store->read_many(store->read_view(), {}).empty());
}

TEST(EventStore, ExpectedVersionConflictsAppendNothing) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store->append("s", ExpectedVersion::no_stream(), {lesson_event(1)}, kEnv));
  auto again = store->append("s", ExpectedVersion::no_stream(), {lesson_event(2)}, kEnv);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ProblemKind::kPreconditionFailed);
  auto stale = store->append("s", ExpectedVersion::exact(0), {lesson_event(2)}, kEnv);
  ASSERT_FALSE(stale);
  auto ahead = store->append("s", ExpectedVersion::exact(5), {lesson_event(2)}, kEnv);
  ASSERT_FALSE(ahead);
  EXPECT_EQ(store->head(), 1u);
  EXPECT_EQ(store->stream_version("s"), 1u);
}

TEST(EventStore, IdempotencyKeyReturnsTheFirstResult) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto first = store->append("s", ExpectedVersion::any(), {lesson_event(1)}, kEnv, "key-1");
  auto repeat = store->append("s", ExpectedVersion::any(), {lesson_event(1)}, kEnv, "key-1");
  ASSERT_TRUE(first && repeat);
  EXPECT_EQ(*first, *repeat);
  EXPECT_EQ(store->head(), 1u);
  auto other = store->append("s", ExpectedVersion::any(), {lesson_event(2)}, kEnv, "key-2");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->first_position, 2u);
}

TEST(EventStore, HashChainLinksEveryEvent) {
  testing::TempDir dir;
  Digest head_hash;
  {
    auto store = open_store(dir.path());
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(store->append("s", ExpectedVersion::any(), {lesson_event(i)}, kEnv));
    }
    Digest prev{};
    for (std::uint64_t p = 1; p <= 5; ++p) {
      auto e = store->read(p);
      ASSERT_TRUE(e);
      Sha256 sha;
      EXPECT_EQ(e->hash, sha.update(prev).update(e->bytes).finish()) << p;
      EXPECT_EQ(e->event().position(), p);
      prev = e->hash;
    }
    EXPECT_EQ(store->head_hash(), prev);
    head_hash = prev;
    const auto check = verify_chain(*store, 1, 5);
    EXPECT_TRUE(check.ok);
    EXPECT_EQ(check.events, 5u);
    EXPECT_EQ(check.hash, prev);
  }
  // Reopening recovers the head and continues the chain.
  auto store = open_store(dir.path());
  EXPECT_EQ(store->head(), 5u);
  EXPECT_EQ(store->head_hash(), head_hash);
  ASSERT_TRUE(store->append("s", ExpectedVersion::exact(5), {lesson_event(6)}, kEnv));
  EXPECT_TRUE(verify_chain(*store, 1, 6).ok);
}

TEST(EventStore, VerifyNamesATamperedPosition) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(store->append("s", ExpectedVersion::any(), {lesson_event(i)}, kEnv));
  // Test-only access: flip one byte of event 2's stored payload.
  std::string value;
  auto* log = store->column_family("log");
  ASSERT_TRUE(store->db()->Get(rocksdb::ReadOptions(), log, u64_be(2), &value).ok());
  value[value.size() - 5] ^= 0x01;
  ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), log, u64_be(2), value).ok());
  store->refresh_view();  // the write bypassed the writer
  const auto check = verify_chain(*store, 1, 3);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.first_bad_position, 2u);
  EXPECT_NE(check.expected_hash, check.stored_hash);
}

TEST(EventStore, GroupCommitBatchesConcurrentAppenders) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  constexpr int kThreads = 8, kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Each thread owns a stream and checks its own version; all share "shared".
        auto own = store->append("own-" + std::to_string(t), ExpectedVersion::exact(i),
                                 {lesson_event(i)}, kEnv);
        auto shared = store->append("shared", ExpectedVersion::any(), {lesson_event(i)}, kEnv);
        if (!own || !shared || own->stream_version != static_cast<std::uint64_t>(i + 1)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr std::uint64_t kTotal = 2 * kThreads * kPerThread;
  EXPECT_EQ(store->head(), kTotal);
  EXPECT_EQ(store->stream_version("shared"), static_cast<std::uint64_t>(kThreads * kPerThread));
  // Fewer commits than appends: the writer grouped concurrent appends into shared batches.
  EXPECT_LT(store->stats().batch_commands.count(), kTotal);
  EXPECT_TRUE(verify_chain(*store, 1, kTotal).ok);
}

TEST(EventStore, DiscardedJobsLeaveNoTraceBetweenKeptOnes) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  std::vector<std::promise<void>> done(3);
  for (int j = 0; j < 3; ++j) {
    store->submit(WriteJob{[j](Transaction& tx) {
                             const std::vector<NewEvent> evs{lesson_event(j)};
                             EXPECT_TRUE(tx.append("job-" + std::to_string(j),
                                                   ExpectedVersion::any(), evs, kEnv));
                             return j != 1;  // the middle job changes its mind
                           },
                           [&, j](const std::optional<Problem>& failure) {
                             EXPECT_FALSE(failure);
                             done[j].set_value();
                           }});
  }
  for (auto& d : done) d.get_future().wait();
  EXPECT_EQ(store->head(), 2u);
  EXPECT_EQ(store->stream_version("job-1"), 0u);
  EXPECT_EQ(store->read(2)->event().stream()->str(), "job-2");
  EXPECT_TRUE(verify_chain(*store, 1, 2).ok);
}

TEST(EventStore, WaitForReturnsOnceThePositionIsCommitted) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  EXPECT_FALSE(store->wait_for(1, std::chrono::milliseconds(20)));
  auto waiter =
      std::async(std::launch::async, [&] { return store->wait_for(1, std::chrono::seconds(10)); });
  ASSERT_TRUE(store->append("s", ExpectedVersion::any(), {lesson_event(1)}, kEnv));
  EXPECT_TRUE(waiter.get());
}

TEST(EventStore, SecondOpenOfAHeldDirectoryIsRefused) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  StoreOptions o;
  o.dir = dir.path();
  auto second = EventStore::open(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ProblemKind::kUnavailable);
  EXPECT_NE(second.error().detail.find("held by another process"), std::string::npos);
  // A read-only open works beside the writer.
  ASSERT_TRUE(store->append("s", ExpectedVersion::any(), {lesson_event(1)}, kEnv));
  o.read_only = true;
  auto reader = EventStore::open(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->head(), 1u);
}

}  // namespace
}  // namespace annals::events
