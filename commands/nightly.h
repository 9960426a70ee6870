// The nightly job (SPEC §2.20): fires daily at nightly_run_hour_utc in nightly_timezone (one run
// at start-up when the scheduled instant passed while the server was down), or on
// POST /admin/nightly/run. Steps in order, each isolated: detector, cost_tracker,
// evolution_scheduler, auto_drafter, degradation, correction_cluster; then NightlyRunCompleted on
// the `nightly` stream. Every event a run appends carries the run id as its correlation id.

#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands/candidates.h"
#include "commands/ledger.h"
#include "commands/skills.h"

namespace annals::commands {

// What the job reads to pick its work (wired by the server from the read models; every pick is
// re-decided from the log by a command).
struct NightlySource {
  // Skill ids in `state`; degraded ones by updated_at ascending.
  std::function<std::vector<std::string>(const std::string& state)> skills_in_state;
  // Candidates in status new, in drafting order.
  std::function<std::vector<std::string>()> new_candidates;
  // finished_at of the latest completed nightly run.
  std::function<std::optional<Micros>()> last_completed;
  // recorded_at of the first event: a store created after the latest scheduled instant has not
  // missed it.
  std::function<std::optional<Micros>()> first_event_at;
};

class NightlyJob {
 public:
  NightlyJob(CommandBus& bus, SkillCommands& skills, LedgerCommands& ledger,
             CandidateCommands& candidates, const Config& config, NightlySource source,
             std::function<Micros()> clock);
  ~NightlyJob();

  // Runs the job now on the calling thread; the reply is 201 `NR` (409 already-running, 503 when
  // `enabled` is false). `trigger` is schedule | manual.
  Reply run(const std::string& trigger);
  // Runs the job on a worker thread of its own; `done` gets the reply there.
  void run_async(std::string trigger, std::function<void(Reply)> done);
  // The daily timer (and the overdue run at start-up).
  void start();
  void stop();
  std::uint64_t runs_total(bool errors) const { return errors ? with_errors_ : clean_; }

  // The first scheduled instant strictly after `after` (nightly_run_hour_utc in nightly_timezone).
  std::optional<Micros> next_fire(Micros after) const;

 private:
  void timer_loop();

  CommandBus& bus_;
  SkillCommands& skills_;
  LedgerCommands& ledger_;
  CandidateCommands& candidates_;
  const Config& config_;
  NightlySource source_;
  std::function<Micros()> clock_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> clean_{0}, with_errors_{0};
};

}  // namespace annals::commands
