// Generations of read models: online rebuilds while commands commit (reads stay on the old
// generation until the swap), interrupted offline rebuilds, and time travel (issue #5).
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "projections/lessons.h"
#include "tests/support/harness.h"

namespace annals {
namespace {

lesson::Fields lesson(std::string type) {
  lesson::Fields f;
  f.lesson_type = std::move(type);
  return f;
}

TEST(OnlineRebuild, ReadsUseTheOldGenerationUntilTheSwapAndASecondRequestConflicts) {
  testing::Harness h;
  // More than the swap's hand-over lag, so the bulk is built on the rebuild thread.
  for (int i = 0; i < 300; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  const auto before = h.projector().status("lessons");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->generation, 1u);

  std::promise<void> built;
  std::promise<void> release;
  auto released = release.get_future().share();
  h.projector().set_before_swap([&] {
    built.set_value();
    released.wait();
  });
  auto started = h.projector().start_rebuild({"lessons"}, h.now());
  ASSERT_TRUE(started);
  ASSERT_EQ(started->size(), 1u);
  EXPECT_EQ(started->front(), (std::pair<std::string, std::uint64_t>{"lessons", 2}));
  built.get_future().wait();

  // Built but not swapped: the rebuild is visible, a second request conflicts, and commands keep
  // committing into the old generation, which keeps serving reads.
  auto progress = h.projector().rebuilding("lessons");
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->generation, 2u);
  EXPECT_EQ(progress->position, 300u);
  auto again = h.projector().start_rebuild({"lessons"}, h.now());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ProblemKind::kAlreadyRunning);
  EXPECT_EQ(h.projector().start_rebuild({"nope"}, h.now()).error().kind, ProblemKind::kNotFound);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(h.record(lesson("merge_hold")).status, 201);
  const auto during = h.projector().status("lessons");
  EXPECT_EQ(during->generation, 1u);
  EXPECT_EQ(during->position, 305u);
  EXPECT_EQ(during->rows, 305u);
  EXPECT_TRUE(h.lesson_queries().get(305).has_value());

  // The swap catches the new generation up with the five commands it missed.
  release.set_value();
  h.projector().wait_for_rebuilds();
  const auto after = h.projector().status("lessons");
  EXPECT_EQ(after->generation, 2u);
  EXPECT_EQ(after->position, 305u);
  EXPECT_EQ(after->digest, during->digest);
  EXPECT_FALSE(h.projector().rebuilding("lessons"));
  // The old generation's family is gone; new commands land in the new one.
  const auto families = h.store().column_family_names();
  EXPECT_EQ(std::count(families.begin(), families.end(), "rm.lessons.g1"), 0);
  ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  EXPECT_EQ(h.projector().status("lessons")->rows, 306u);
  EXPECT_EQ(h.projector().rebuild({"lessons"}, 0).read_models[0].digest,
            h.projector().status("lessons")->digest);
}

// Read models kept by the live hook share one checkpoint, the live head, which only commits
// through the hook move. A process that appends without the hook (as bench/seed_mixed does)
// leaves it behind, and the next open catches the read models up from there.
TEST(Restart, ReadModelsCatchUpWithEventsAppendedWithoutTheLiveHook) {
  testing::Harness h;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  EXPECT_EQ(h.projector().status("lessons")->position, 10u);
  EXPECT_EQ(h.projector().status("skills")->position, 10u);
  h.close();
  {
    events::StoreOptions options;
    options.dir = h.dir();
    auto store = events::EventStore::open(options);
    ASSERT_TRUE(store);
    projections::Projector projector(**store, projections::all_projections());
    projector.open();  // not attached
    commands::CommandBus bus(**store);
    commands::LessonCommands lessons(bus, h.config());
    for (int i = 0; i < 5; ++i) {
      std::promise<commands::Reply> p;
      lessons.record(lesson("merge_hold"), {"tester", "corr", std::nullopt, "", std::nullopt},
                     [&](commands::Reply r) { p.set_value(std::move(r)); });
      ASSERT_EQ(p.get_future().get().status, 201);
    }
    EXPECT_EQ((*store)->head(), 15u);
    EXPECT_EQ(projector.status("lessons")->position, 10u);
    EXPECT_EQ(projector.status("lessons")->rows, 10u);
    (*store)->stop();
  }
  h.open();
  const auto after = h.projector().status("lessons");
  EXPECT_EQ(after->position, 15u);
  EXPECT_EQ(after->rows, 15u);
  EXPECT_EQ(h.projector().status("skills")->position, 15u);
  ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  EXPECT_EQ(h.projector().status("lessons")->position, 16u);
  EXPECT_EQ(h.projector().rebuild({"lessons"}, 0).read_models[0].digest,
            h.projector().status("lessons")->digest);
}

// A read model's digest outlives the process that computed it (an offline rebuild, a server
// before its restart): it is kept for the family, head and checkpoint it was computed at, and is
// computed from the rows again once any of them moves.
TEST(Restart, ADigestIsKeptForItsFamilyHeadAndCheckpoint) {
  testing::Harness h;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  const auto first = h.projector().status("lessons");
  ASSERT_TRUE(first);
  h.close();
  {
    // A row written behind the projector's back (test-only access) moves neither the head nor
    // the checkpoint.
    events::StoreOptions options;
    options.dir = h.dir();
    auto store = events::EventStore::open(options);
    ASSERT_TRUE(store);
    auto* cf = (*store)->column_family("rm.lessons.g1");
    ASSERT_NE(cf, nullptr);
    rocksdb::WriteOptions synced;
    synced.sync = true;
    ASSERT_TRUE((*store)->db()->Put(synced, cf, "zz-not-a-row", "x").ok());
    (*store)->stop();
  }
  h.open();
  const auto kept = h.projector().status("lessons");
  EXPECT_EQ(kept->position, first->position);
  EXPECT_EQ(kept->digest, first->digest);
  EXPECT_EQ(kept->rows, first->rows);

  ASSERT_EQ(h.record(lesson("merge_hold")).status, 201);
  const auto moved = h.projector().status("lessons");
  EXPECT_EQ(moved->position, 11u);
  const auto view = h.store().read_view();
  const auto fresh = projections::digest_family(h.store().db(), view.family("lessons"), "r",
                                                view.options().snapshot);
  EXPECT_EQ(moved->digest, fresh.digest);
  EXPECT_EQ(moved->rows, 11u);
  EXPECT_NE(moved->digest, first->digest);
}

// With no commit between the end of the build and the swap, an online rebuild takes the new
// generation's digest itself before the swap (paced, on its own thread), and the first status read
// after the swap uses it instead of scanning every row.
TEST(OnlineRebuild, TheRebuildTakesTheDigestOfTheGenerationItSwapsIn) {
  testing::Harness h;
  for (int i = 0; i < 300; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  const auto before = h.projector().status("lessons");
  ASSERT_TRUE(before);
  // After the digest is taken, a row written behind the projector's back (test-only access)
  // shows whether the status read scans the rows again.
  h.projector().set_before_swap([&] {
    auto* cf = h.store().column_family("rm.lessons.g2");
    ASSERT_NE(cf, nullptr);
    ASSERT_TRUE(h.store().db()->Put(rocksdb::WriteOptions(), cf, "zz-not-a-row", "x").ok());
  });
  ASSERT_TRUE(h.projector().start_rebuild({"lessons"}, h.now()));
  h.projector().wait_for_rebuilds();
  const auto after = h.projector().status("lessons");
  EXPECT_EQ(after->generation, 2u);
  EXPECT_EQ(after->position, before->position);
  EXPECT_EQ(after->rows, before->rows);
  EXPECT_EQ(after->digest, before->digest);
  const auto view = h.store().read_view();
  const auto scanned = projections::digest_family(h.store().db(), view.family("lessons"), "r",
                                                  view.options().snapshot);
  EXPECT_NE(scanned.digest, after->digest) << "the status read scanned the rows";

  // The next commit moves the head: the digest is computed from the rows again.
  ASSERT_EQ(h.record(lesson("merge_hold")).status, 201);
  const auto moved = h.projector().status("lessons");
  const auto view2 = h.store().read_view();
  EXPECT_EQ(moved->digest, projections::digest_family(h.store().db(), view2.family("lessons"), "r",
                                                      view2.options().snapshot)
                               .digest);
  EXPECT_EQ(moved->rows, 301u);
}

// A rebuild that fails before its swap (here its scratch directory cannot be created: a file
// is in the way) is reported, drops its half-built generation and leaves the read model serving
// the generation it had; the process keeps running and a later rebuild succeeds.
TEST(OnlineRebuild, AFailedRebuildIsReportedAndLeavesTheOldGenerationInUse) {
  testing::Harness h;
  for (int i = 0; i < 300; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  const auto before = h.projector().status("lessons");
  ASSERT_TRUE(before);
  const std::string in_the_way = h.dir() + "/online-rebuild-2-lessons";
  { std::ofstream(in_the_way) << "not a directory"; }
  std::vector<std::string> failed_names;
  std::string failure;
  h.projector().set_on_rebuild_failed(
      [&](const std::vector<std::string>& names, const std::string& what) {
        failed_names = names;
        failure = what;
      });
  ASSERT_TRUE(h.projector().start_rebuild({"lessons"}, h.now()));
  h.projector().wait_for_rebuilds();
  EXPECT_EQ(failed_names, std::vector<std::string>{"lessons"});
  EXPECT_FALSE(failure.empty());
  EXPECT_FALSE(h.projector().rebuilding("lessons"));
  const auto after = h.projector().status("lessons");
  EXPECT_EQ(after->generation, 1u);
  EXPECT_EQ(after->digest, before->digest);
  const auto families = h.store().column_family_names();
  EXPECT_EQ(std::count(families.begin(), families.end(), "rm.lessons.g2"), 0)
      << "the half-built generation is dropped";
  // Commands still commit, and once the way is clear the same rebuild goes through.
  ASSERT_EQ(h.record(lesson("merge_hold")).status, 201);
  std::filesystem::remove(in_the_way);
  failure.clear();
  auto again = h.projector().start_rebuild({"lessons"}, h.now());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->front().second, 2u);
  h.projector().wait_for_rebuilds();
  EXPECT_TRUE(failure.empty()) << failure;
  const auto rebuilt = h.projector().status("lessons");
  EXPECT_EQ(rebuilt->generation, 2u);
  EXPECT_EQ(rebuilt->rows, 301u);
}

TEST(OnlineRebuild, AnInterruptedRebuildLeavesTheOldGenerationInUse) {
  testing::Harness h;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(h.record(lesson("gate_failure")).status, 201);
  const auto before = h.projector().status("lessons");
  // Offline: the rebuild dies mid-way (here: its progress callback throws).
  EXPECT_THROW(h.projector().rebuild(
                   {"lessons"}, 0,
                   [](const projections::RebuildProgress&) { throw std::runtime_error("killed"); }),
               std::runtime_error);
  EXPECT_TRUE(std::filesystem::exists(h.dir() + "/rebuild-scratch"));
  h.close();
  h.open();
  EXPECT_FALSE(std::filesystem::exists(h.dir() + "/rebuild-scratch"))
      << "leftover chunk files are removed at open";
  const auto reopened = h.projector().status("lessons");
  EXPECT_EQ(reopened->generation, before->generation);
  EXPECT_EQ(reopened->digest, before->digest);
  const auto families = h.store().column_family_names();
  EXPECT_EQ(std::count(families.begin(), families.end(), "rm.lessons.g2"), 0)
      << "the half-built generation is dropped at open";
  // Online: the server stops while a rebuild waits to swap.
  std::promise<void> built;
  h.projector().set_before_swap([&] { built.set_value(); });
  ASSERT_TRUE(h.projector().start_rebuild({"lessons"}, h.now()));
  built.get_future().wait();
  h.close();
  h.open();
  EXPECT_EQ(h.projector().status("lessons")->digest, before->digest);
  EXPECT_LE(h.projector().status("lessons")->generation, 2u);
}

// A rebuild long enough for the parallel path (workers sharing each chunk's tasks, longest first)
// gives the live digests.
TEST(OfflineRebuild, ThreadedBuildsGiveTheLiveDigests) {
  testing::Harness h;
  std::mutex m;
  std::condition_variable cv;
  int pending = 0, failed = 0;
  for (int i = 0; i < 40000; ++i) {
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return pending < 512; });
      ++pending;
    }
    auto f = lesson(i % 3 ? "gate_failure" : "merge_hold");
    f.work_item_id = "W-" + std::to_string(i % 50);
    h.core().lessons->record(std::move(f), {"tester", "c", std::nullopt, "", std::nullopt},
                             [&](commands::Reply r) {
                               std::lock_guard lock(m);
                               if (r.status != 201) ++failed;
                               --pending;
                               cv.notify_all();
                             });
  }
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return pending == 0; });
  }
  ASSERT_EQ(failed, 0);
  ASSERT_EQ(h.update(7, {{"status", std::string("closed")}}).status, 200);
  std::map<std::string, std::string> live;
  for (const auto& name : h.projector().names()) live[name] = h.projector().status(name)->digest;
  const auto at = projections::read_models_at(h.store(), h.store().head(), {}, h.dir() + "-tt");
  for (const auto& st : at) EXPECT_EQ(st.digest, live.at(st.name)) << st.name;
  h.projector().set_rebuild_chunk(4096);  // ten chunks, the last one partial
  const auto rebuilt = h.projector().rebuild({}, 0);
  EXPECT_EQ(rebuilt.events, 40001u);
  for (const auto& st : rebuilt.read_models) EXPECT_EQ(st.digest, live.at(st.name)) << st.name;
}

// build_into with several workers sharing each chunk's tasks: a `progress` that says stop after
// the third chunk leaves every target holding exactly the log up to that chunk's last event.
TEST(OfflineRebuild, WorkersStopAfterTheChunkProgressRefuses) {
  testing::Harness h;
  for (int i = 0; i < 600; ++i) {
    auto f = lesson(i % 3 ? "gate_failure" : "merge_hold");
    f.repo = "repo-" + std::to_string(i % 7);
    ASSERT_EQ(h.record(std::move(f)).status, 201);
    if (i % 5 == 0) {
      ASSERT_EQ(h.update(i / 2 + 1, {{"status", std::string("closed")}}).status, 200);
    }
  }
  const std::uint64_t head = h.store().head();
  ASSERT_GT(head, 600u);
  const std::string dir = h.dir() + "-workers";
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  auto projections = projections::all_projections();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors{
      {rocksdb::kDefaultColumnFamilyName, options}};
  for (const auto& p : projections) descriptors.emplace_back(std::string(p->name()), options);
  for (unsigned workers : {2u, 3u, 5u}) {
    SCOPED_TRACE(workers);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir + "/db", descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::vector<projections::BuildTarget> targets;
    for (std::size_t i = 0; i < projections.size(); ++i) {
      targets.push_back({projections[i].get(), handles[i + 1]});
    }
    std::vector<std::uint64_t> reported;
    const auto reached = projections::build_into(
        h.store(), 1, head, db.get(), targets, options, dir + "/sst",
        [&](std::uint64_t pos) {
          reported.push_back(pos);
          return reported.size() < 3;
        },
        workers, 64);
    EXPECT_EQ(reached, 3u * 64);
    EXPECT_EQ(reported, (std::vector<std::uint64_t>{64, 128, 192}));
    EXPECT_FALSE(std::filesystem::exists(dir + "/sst"));
    const auto expected = projections::read_models_at(h.store(), reached, {}, dir + "-at");
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto st = projections::digest_family(db.get(), targets[i].cf,
                                                 targets[i].projection->row_prefix(), nullptr);
      EXPECT_EQ(st.digest, expected[i].digest) << expected[i].name;
      EXPECT_EQ(st.rows, expected[i].rows) << expected[i].name;
    }
    // Without a stop, every event: the live digests.
    for (std::size_t i = 1; i < handles.size(); ++i) {
      ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
    }
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    handles.clear();
    targets.clear();
    for (std::size_t i = 0; i < projections.size(); ++i) {
      rocksdb::ColumnFamilyHandle* cf = nullptr;
      ASSERT_TRUE(
          db->CreateColumnFamily(options, "full." + std::string(projections[i]->name()), &cf).ok());
      handles.push_back(cf);
      targets.push_back({projections[i].get(), cf});
    }
    EXPECT_EQ(projections::build_into(h.store(), 1, head, db.get(), targets, options, dir + "/sst",
                                      {}, workers, 64),
              head);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto name = std::string(projections[i]->name());
      const auto st = projections::digest_family(db.get(), targets[i].cf,
                                                 projections[i]->row_prefix(), nullptr);
      EXPECT_EQ(st.digest, h.projector().status(name)->digest) << name;
    }
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    db->Close();
  }
  std::filesystem::remove_all(dir);
}

TEST(TimeTravel, ReadModelsAtAPositionEqualThoseLiveAtIt) {
  testing::Harness h;
  std::map<std::uint64_t, std::string> digest_at;
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(h.record(lesson(i % 2 ? "merge_hold" : "gate_failure")).status, 201);
    if (i % 4 == 0) {
      ASSERT_EQ(h.update(1, {{"status", std::string(i % 8 ? "closed" : "new")}}).status, 200);
    }
    const auto st = h.projector().status("lessons");
    digest_at[st->position] = st->digest;
  }
  const std::string scratch = h.dir() + "-scratch";
  for (const auto& [pos, digest] : digest_at) {
    const auto at = projections::read_models_at(h.store(), pos, {"lessons"}, scratch);
    ASSERT_EQ(at.size(), 1u);
    EXPECT_EQ(at[0].position, pos);
    EXPECT_EQ(at[0].digest, digest) << "at " << pos;
  }
  EXPECT_FALSE(std::filesystem::exists(scratch));
  // Position 0: every read model empty.
  for (const auto& st : projections::read_models_at(h.store(), 0, {}, scratch)) {
    EXPECT_EQ(st.rows, 0u) << st.name;
  }
}

}  // namespace
}  // namespace annals
