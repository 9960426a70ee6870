#include "commands/nightly.h"

#include <spdlog/spdlog.h>

#include <future>
#include <unordered_map>

#include "commands/ids.h"
#include "domain/cron.h"
#include "domain/json_text.h"
#include "domain/money.h"
#include "events/ledger_codec.h"

namespace annals::commands {

namespace {

using nlohmann::json;

constexpr Micros kDay = 86'400 * kMicrosPerSecond;

// Runs one command and waits for its durable reply.
template <typename Submit>
Reply call(Submit submit) {
  std::promise<Reply> p;
  submit([&p](Reply r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

}  // namespace

NightlyJob::NightlyJob(CommandBus& bus, SkillCommands& skills, LedgerCommands& ledger,
                       CandidateCommands& candidates, const Config& config, NightlySource source,
                       std::function<Micros()> clock)
    : bus_(bus),
      skills_(skills),
      ledger_(ledger),
      candidates_(candidates),
      config_(config),
      source_(std::move(source)),
      clock_(std::move(clock)) {}

NightlyJob::~NightlyJob() { stop(); }

Reply NightlyJob::run(const std::string& trigger) {
  if (!config_.enabled) {
    return Reply::error(
        Problem::make(ProblemKind::kUnavailable, "The nightly job is disabled (enabled: false)."));
  }
  std::unique_lock lock(run_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return Reply::error(
        Problem::make(ProblemKind::kAlreadyRunning, "A nightly run is already running."));
  }
  const Micros started = clock_();
  const std::string run_id = new_uuid_v7(started);
  const CommandContext ctx{"system", run_id, std::nullopt, "", std::nullopt};
  json errors = json::array();
  auto step_started = std::chrono::steady_clock::now();
  auto timed = [&](const char* step) {
    const auto t = std::chrono::steady_clock::now();
    spdlog::debug("nightly run {}: step {} took {:.1f} ms", run_id, step,
                  std::chrono::duration<double, std::milli>(t - step_started).count());
    step_started = t;
  };
  auto failed = [&](const char* step, const std::string& what) {
    errors.push_back({{"step", step}, {"error", what}});
  };
  // 1. detector: the window's ledger, read from the durable log outside the writer, then one
  // command decides which task types become candidates.
  json new_candidates = json::array();
  try {
    const Micros window_start = started - 30 * kDay;
    std::map<std::string, candidate::TypeStats> stats;
    // Outputs repeat: the shape of each distinct output text is computed once (bounded).
    std::unordered_map<std::string, std::string> shapes;
    // One sequential scan of the log from the first event recorded in the window (less the
    // clock-skew tolerance: an invocation's `at` is never later than that after it was recorded).
    auto& store = bus_.store();
    const Micros scan_from = window_start - config_.clock_skew_tolerance_seconds * kMicrosPerSecond;
    std::uint64_t lo = 1, hi = store.head() + 1;
    while (lo < hi) {  // the first position recorded at or after scan_from
      const std::uint64_t mid = lo + (hi - lo) / 2;
      auto e = store.read(mid);
      if (e && e->event().recorded_at() < scan_from) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    store.read_range(lo, store.head(), [&](const events::StoredEvent& e) {
      if (e.type() != fb::Payload::InvocationRecorded) return true;
      auto i = events::decode_invocation(e);
      if (!i || i->at < window_start || i->at > started) return true;
      auto& st = stats[i->task_type];
      ++st.volume;
      st.spend_micro_usd += i->cost_micro_usd;
      if (i->output && *i->output != "null") {
        auto it = shapes.find(*i->output);
        if (it == shapes.end()) {
          if (shapes.size() > 100'000) shapes.clear();
          it =
              shapes
                  .emplace(*i->output, candidate::shape_of(json::parse(*i->output, nullptr, false)))
                  .first;
        }
        st.shapes.push_back(it->second);
      }
      return true;
    });
    Reply r =
        call([&](auto done) { candidates_.detect(std::move(stats), window_start, ctx, done); });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "detector failed");
    new_candidates = json::parse(r.body)["new_candidates"];
  } catch (const std::exception& e) {
    failed("detector", e.what());
  }
  timed("detector");
  // 2. cost_tracker
  std::int64_t daily = 0, remaining = 0;
  bool paused = false;
  try {
    Reply r = call([&](auto done) {
      bus_.execute(
          ctx,
          [this](events::Transaction& tx) {
            const auto g = ledger_.guard(tx);
            Reply out;
            out.status = 200;
            out.body = json{
                {"daily", g.daily_spend},
                {"remaining", g.daily_remaining},
                {"paused",
                 g.paused}}.dump();
            return out;
          },
          done);
    });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "guard unavailable");
    const json g = json::parse(r.body);
    daily = g["daily"];
    remaining = g["remaining"];
    paused = g["paused"];
  } catch (const std::exception& e) {
    remaining = 0;
    failed("cost_tracker", e.what());
  }
  const std::int64_t remaining_at_start = remaining;
  timed("cost_tracker");
  // 3. evolution_scheduler
  json evolution_scheduled = json::array(), evolution_skipped = json::array();
  try {
    auto ids = source_.skills_in_state("degraded");
    if (static_cast<std::int64_t>(ids.size()) > config_.evolution_daily_cap) {
      ids.resize(static_cast<std::size_t>(config_.evolution_daily_cap));
    }
    Reply r =
        call([&](auto done) { skills_.schedule_evolution(ids, remaining, run_id, ctx, done); });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "scheduling failed");
    const json out = json::parse(r.body);
    evolution_scheduled = out["scheduled"];
    evolution_skipped = out["skipped"];
    remaining = out["remaining"];
  } catch (const std::exception& e) {
    failed("evolution_scheduler", e.what());
  }
  timed("evolution_scheduler");
  // 4. auto_drafter: new candidates in drafting order, with what is left of the budget
  json drafts_scheduled = json::array(), candidates_dismissed = json::array();
  try {
    Reply r = call([&](auto done) {
      candidates_.schedule_drafts(source_.new_candidates(), remaining, run_id, ctx, done);
    });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "drafting failed");
    const json out = json::parse(r.body);
    drafts_scheduled = out["scheduled"];
    candidates_dismissed = out["dismissed"];
    remaining = out["remaining"];
  } catch (const std::exception& e) {
    failed("auto_drafter", e.what());
  }
  timed("auto_drafter");
  // 5. degradation over every trusted skill, each skill isolated, in one commit
  json degradation = json::array();
  try {
    Reply r = call([&](auto done) {
      skills_.sweep_degradation(source_.skills_in_state("trusted"), ctx, done);
    });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "failed");
    const json out = json::parse(r.body);
    degradation = out["reports"];
    for (const auto& e : out["errors"]) {
      failed("degradation",
             e["skill_id"].get<std::string>() + ": " + e["error"].get<std::string>());
    }
  } catch (const std::exception& e) {
    failed("degradation", e.what());
  }
  timed("degradation");
  // 6. correction_cluster sweep over the eligible skills
  json correction_flagged = json::array();
  try {
    auto ids = source_.skills_in_state("trusted");
    auto shadow = source_.skills_in_state("shadow_primary");
    ids.insert(ids.end(), shadow.begin(), shadow.end());
    Reply r = call([&](auto done) { skills_.sweep_corrections(ids, ctx, done); });
    if (!r.ok()) throw std::runtime_error(r.problem ? r.problem->detail : "failed");
    const json out = json::parse(r.body);
    correction_flagged = out["flagged"];
    for (const auto& e : out["errors"]) {
      failed("correction_cluster",
             e["skill_id"].get<std::string>() + ": " + e["error"].get<std::string>());
    }
  } catch (const std::exception& e) {
    failed("correction_cluster", e.what());
  }
  timed("correction_cluster");
  const Micros finished = clock_();
  const json report = {{"new_candidates", new_candidates},
                       {"evolution_scheduled", evolution_scheduled},
                       {"evolution_skipped", evolution_skipped},
                       {"drafts_scheduled", drafts_scheduled},
                       {"candidates_dismissed", candidates_dismissed},
                       {"degradation", degradation},
                       {"correction_flagged", correction_flagged},
                       {"budget",
                        {{"daily_spend_micro_usd", daily},
                         {"remaining_at_start_micro_usd", remaining_at_start},
                         {"remaining_at_end_micro_usd", remaining},
                         {"paused", paused}}},
                       {"errors", errors}};
  Reply done = call([&](auto cb) {
    bus_.execute(
        ctx,
        [&](events::Transaction& tx) {
          const std::string text = report.dump();
          const std::vector<events::NewEvent> evs{
              {fb::Payload::NightlyRunCompleted, [&](flatbuffers::FlatBufferBuilder& b) {
                 return fb::CreateNightlyRunCompleted(b, b.CreateString(run_id),
                                                      b.CreateString(trigger), started, finished,
                                                      b.CreateString(text))
                     .Union();
               }}};
          auto appended = tx.append("nightly", events::ExpectedVersion::any(), evs,
                                    {"system", run_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          Reply r;
          r.status = 201;
          r.location = "/admin/nightly/runs/" + run_id;
          r.position = appended->last_position;
          r.body = skill::render_nightly(run_id, trigger, started, finished, text);
          return r;
        },
        cb);
  });
  (errors.empty() ? clean_ : with_errors_)++;
  spdlog::info(
      "nightly run {} ({}) finished: {} evolution scheduled, {} degradation checks, {} "
      "correction flags",
      run_id, trigger, evolution_scheduled.size(), degradation.size(), correction_flagged.size());
  return done;
}

std::optional<Micros> NightlyJob::next_fire(Micros after) const {
  auto schedule = cron::parse("0 " + std::to_string(config_.nightly_run_hour_utc) + " * * *");
  auto zone = cron::Zone::find(config_.nightly_timezone);
  if (!schedule || !zone) return std::nullopt;
  return cron::next_fire(*schedule, *zone, after);
}

void NightlyJob::start() {
  std::lock_guard lock(mutex_);
  if (!config_.enabled || thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { timer_loop(); });
}

void NightlyJob::run_async(std::string trigger, std::function<void(Reply)> done) {
  std::lock_guard lock(mutex_);
  workers_.emplace_back(
      [this, trigger = std::move(trigger), done = std::move(done)] { done(run(trigger)); });
}

void NightlyJob::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
    workers.swap(workers_);
  }
  if (thread_.joinable()) thread_.join();
  for (auto& w : workers) w.join();
}

void NightlyJob::timer_loop() {
  // Overdue at start-up: the latest scheduled instant passed with no run completed since.
  const Micros now = clock_();
  if (auto previous = next_fire(now - 2 * 86'400 * kMicrosPerSecond)) {
    Micros latest = *previous;
    while (auto n = next_fire(latest)) {
      if (*n > now) break;
      latest = *n;
    }
    const auto last = source_.last_completed();
    const auto first = source_.first_event_at ? source_.first_event_at() : std::nullopt;
    if (latest <= now && first && *first < latest && (!last || *last < latest)) run("schedule");
  }
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto fire = next_fire(clock_());
    if (!fire) return;
    const Micros wait = std::max<Micros>(0, *fire - clock_());
    if (cv_.wait_for(lock, std::chrono::microseconds(std::min<Micros>(wait, 60 * kMicrosPerSecond)),
                     [this] { return stopping_; })) {
      return;
    }
    if (clock_() >= *fire) {
      lock.unlock();
      run("schedule");
      lock.lock();
    }
  }
}

}  // namespace annals::commands
