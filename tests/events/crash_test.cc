// Durability under SIGKILL: a child process appends from several threads and reports every
// acknowledged append on a pipe; the parent kills it mid-load, reopens the store and checks that
// every acknowledged event is there, intact and chained, and nothing is half-written.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "domain/lesson.h"
#include "events/lesson_codec.h"
#include "events/store.h"
#include "events/verify.h"
#include "tests/support/temp_dir.h"

namespace annals::events {
namespace {

[[noreturn]] void child_appender(const std::string& dir, int fd) {
  StoreOptions o;
  o.dir = dir;
  auto store = EventStore::open(o);
  if (!store) ::_exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "crash-" + std::to_string(t);
      for (auto i = static_cast<std::int64_t>((*store)->stream_version(stream)) + 1;; ++i) {
        lesson::Recorded r;
        r.lesson_id = i;
        r.fields.lesson_type = "crash";
        r.fields.root_cause = std::string(200, 'x');
        auto res =
            (*store)->append(stream, ExpectedVersion::exact(static_cast<std::uint64_t>(i - 1)),
                             {encode(r)}, {"child", "c", std::nullopt});
        if (!res) ::_exit(4);
        char line[64];
        const int n =
            std::snprintf(line, sizeof line, "%d %lld %llu\n", t, static_cast<long long>(i),
                          static_cast<unsigned long long>(res->last_position));
        if (::write(fd, line, static_cast<std::size_t>(n)) != n) ::_exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(Crash, AcknowledgedAppendsSurviveSigkill) {
  testing::TempDir dir;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_appender(dir.path(), fds[1]);
    }
    ::close(fds[1]);
    // Read acknowledgements until enough have arrived, then kill the child mid-load.
    std::set<std::uint64_t> acked;
    std::map<int, std::int64_t> acked_version;
    FILE* in = ::fdopen(fds[0], "r");
    int t = 0;
    long long version = 0;
    unsigned long long position = 0;
    while (acked.size() < 1500 && std::fscanf(in, "%d %lld %llu", &t, &version, &position) == 3) {
      acked.insert(position);
      acked_version[t] = std::max<std::int64_t>(acked_version[t], version);
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // Acknowledgements written before the kill may still sit in the pipe.
    while (std::fscanf(in, "%d %lld %llu", &t, &version, &position) == 3) {
      acked.insert(position);
      acked_version[t] = std::max<std::int64_t>(acked_version[t], version);
    }
    ::fclose(in);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    ASSERT_GE(acked.size(), 1500u);

    StoreOptions o;
    o.dir = dir.path();
    auto store = EventStore::open(o);
    ASSERT_TRUE(store);
    EXPECT_GE((*store)->head(), *acked.rbegin());
    for (std::uint64_t p : acked) {
      auto e = (*store)->read(p);
      ASSERT_TRUE(e) << "acknowledged position " << p << " lost";
      EXPECT_EQ(e->event().payload_as_LessonRecorded()->root_cause()->size(), 200u);
    }
    for (const auto& [thread, v] : acked_version) {
      EXPECT_GE((*store)->stream_version("crash-" + std::to_string(thread)),
                static_cast<std::uint64_t>(v));
    }
    // Nothing half-written: the chain verifies to the head and versions are dense.
    const auto check = verify_chain(**store, 1, (*store)->head());
    EXPECT_TRUE(check.ok) << "first bad position " << check.first_bad_position;
    EXPECT_EQ(check.events, (*store)->head());
  }
}

}  // namespace
}  // namespace annals::events
