// Dispatcher: the automation scheduler and the run pipeline of SPEC §3.7-3.14.
//
// - The scheduler thread sleeps until the earliest next_run_at of an active automation with no run
//   in flight (at most automation_poll_interval_seconds), or until woken by a commit; it starts
//   due automations in next_run_at order (ties by id), at most automation_max_concurrent_runs at
//   once, never two runs of one automation at once. Run-now is not counted against the limit.
// - A run: StartRun (durable) → the executor (echo, webhook, http_check; off the writer, on the
//   HTTP caller's I/O threads) → FinishRun (durable, with the failure pause) → observers (the
//   automation_paused notification and the transient_retry auto-lesson) → alert deliveries, one
//   AlertDelivered per channel recorded together.
// - start() first finishes runs a crash left in flight as "interrupted" and delivers fired
//   alerts that have no delivery recorded (SPEC §3.14).
// Every decision is a command on the writer thread; the dispatcher only does I/O and timing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "commands/http_call.h"
#include "commands/lessons.h"
#include "commands/notifier.h"
#include "commands/runs.h"
#include "events/histogram.h"

namespace annals::commands {

// What the scheduler reads, wired by the server from the read models (commands/ does not depend
// on projections/). Each call reads the latest durable view.
struct SchedulerSource {
  struct Due {
    std::string id;
    Micros next_run_at = 0;
  };
  // Due automations without a run in flight, at most `limit`; next_wake = the first
  // next_run_at after now.
  std::function<std::vector<Due>(Micros now, std::size_t limit, std::optional<Micros>& next_wake)>
      due;
  // (automation id, run id) of runs in flight / of fired alerts with no delivery recorded.
  std::function<std::vector<std::pair<std::string, std::string>>()> in_flight, undelivered;
  std::function<std::optional<automation::Automation>(const std::string& id)> automation;
  std::function<std::optional<automation::Run>(const std::string& run_id)> run;
};

class Dispatcher {
 public:
  Dispatcher(RunCommands& runs, LessonCommands& lessons, const Config& config,
             SchedulerSource source, std::function<Micros()> clock);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Crash recovery (blocking until its commands are durable), then the scheduler thread.
  void start();
  // Stops scheduling, waits up to `grace` for runs in progress, then abandons the rest (they
  // are finished as interrupted at the next start).
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  // POST /admin/automations/{id}/run-now: `done` gets the 202 (or the refusal) once the start is
  // durable; the run then goes on in the background.
  void run_now(std::string automation_id, bool force, CommandContext ctx,
               std::function<void(Reply)> done);
  // Re-evaluates what is due (a commit changed automations, or a test moved its clock).
  void wake();
  // Runs in progress (started and not yet finished and delivered).
  std::size_t in_progress() const;
  // Waits until no run is in progress or the timeout passes; returns whether it got there.
  bool wait_idle(std::chrono::milliseconds timeout) const;

  void render_metrics(std::string& out) const;
  Notifier& notifier() { return notifier_; }
  // Runs `fn` on the dispatcher's I/O threads (observers hand work off the writer this way).
  void post(std::function<void()> fn) { caller_.post(std::move(fn)); }
  // Waits until everything handed to post() so far has run.
  void wait_posted() { caller_.wait_posted(); }

 private:
  struct Active;
  void scheduler_loop();
  void launch_run(const std::string& id, automation::Trigger trigger, CommandContext ctx,
                  std::function<void(Reply)> reply, bool counted);
  void execute(const StartedRun& s, std::function<void(automation::ExecutorAnswer)> done);
  void after_finish(const FinishedRun& f, bool counted);
  void deliver(const automation::Automation& a, const std::string& run_id,
               const std::string& content, const std::optional<std::string>& output,
               std::function<void()> done);
  void release(const std::string& id, bool counted);
  void count_run(const std::string& status);

  RunCommands& runs_;
  LessonCommands& lessons_;
  const Config& config_;
  SchedulerSource source_;
  std::function<Micros()> clock_;
  HttpCaller caller_;
  Notifier notifier_;

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::map<std::string, int> busy_;  // automations with a run in progress (run-now may overlap
                                     // a scheduled run's deliveries: the log decides)
  std::size_t counted_ = 0;          // scheduled runs in progress (the concurrency limit)
  std::size_t in_progress_ = 0;
  bool woken_ = false, stopping_ = false;
  std::thread thread_;

  // Metrics.
  mutable std::mutex metrics_mutex_;
  std::map<std::string, std::uint64_t> runs_by_status_;
  std::map<std::pair<std::string, bool>, std::uint64_t> deliveries_;
  events::Histogram dispatch_delay_{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60};
};

}  // namespace annals::commands
