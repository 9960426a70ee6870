#include "commands/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "domain/json_text.h"

namespace annals::commands {

namespace {

using nlohmann::ordered_json;

CommandContext system_context(std::string correlation) {
  return {"system", std::move(correlation), std::nullopt, "", std::nullopt};
}

automation::ExecutorAnswer failure(std::string text) { return {std::nullopt, std::move(text)}; }

automation::ExecutorAnswer succeeded(ordered_json output) {
  return {ordered_json{{"status", "succeeded"}, {"output", std::move(output)}, {"cost_usd", 0}},
          std::nullopt};
}

bool is_2xx(const OutboundResult& r) { return r.status && *r.status >= 200 && *r.status < 300; }

}  // namespace

// One alert's deliveries, channel after channel in list order, then one RecordDelivery.
struct Dispatcher::Active : std::enable_shared_from_this<Dispatcher::Active> {
  Dispatcher* d = nullptr;
  automation::Automation a;
  std::string run_id, content;
  std::optional<std::string> output;
  std::vector<std::string> channels;
  std::size_t next_channel = 0;
  std::vector<automation::AlertDelivered> results;
  std::function<void()> done;

  void next() {
    if (next_channel == channels.size()) return record();
    const std::string channel = channels[next_channel++];
    automation::AlertDelivered r{run_id, channel, false, std::nullopt, std::nullopt, 0};
    if (channel == "log") {
      spdlog::info("alert for automation {} ({}), run {}: {}", a.id, a.name, run_id, content);
      r.delivered = true;
      results.push_back(std::move(r));
      return next();
    }
    if (!d->config_.notifier_url) {
      r.error = "notifier not configured";
      results.push_back(std::move(r));
      return next();
    }
    std::string body;
    JsonWriter w(body);
    w.begin_object();
    w.key("kind").value("automation_alert");
    w.key("channel").value(channel);
    w.key("priority").value(3);
    w.key("content").value(content);
    w.key("automation_id").value(a.id);
    w.key("automation_name").value(a.name);
    w.key("run_id").value(run_id);
    w.key("user_id").value(a.user_id);
    w.key("capability").value(a.capability_name);
    w.key("output").raw_or_null(output);
    w.key("at").instant(d->clock_());
    w.end_object();
    d->caller_.call(notifier_request(d->config_, std::move(body)),
                    [self = shared_from_this(), r](OutboundResult res) mutable {
                      r.delivered = is_2xx(res);
                      r.http_status = res.status;
                      if (res.error) {
                        r.error = res.error;
                      } else if (!r.delivered) {
                        r.error = "notifier http " + std::to_string(res.status.value_or(0));
                      }
                      r.latency_ms = res.latency_ms;
                      self->results.push_back(std::move(r));
                      self->next();
                    });
  }

  void record() {
    {
      std::lock_guard lock(d->metrics_mutex_);
      for (const auto& r : results) ++d->deliveries_[{r.channel, r.delivered}];
    }
    d->runs_.deliver(a.id, results, system_context(run_id),
                     [self = shared_from_this()](const Reply& reply) {
                       if (!reply.ok()) {
                         spdlog::error("recording the deliveries of run {} failed: {}",
                                       self->run_id, reply.problem ? reply.problem->detail : "");
                       }
                       self->done();
                     });
  }
};

Dispatcher::Dispatcher(RunCommands& runs, LessonCommands& lessons, const Config& config,
                       SchedulerSource source, std::function<Micros()> clock)
    : runs_(runs),
      lessons_(lessons),
      config_(config),
      source_(std::move(source)),
      clock_(std::move(clock)),
      caller_(2),
      notifier_(config, caller_) {}

Dispatcher::~Dispatcher() { stop(std::chrono::milliseconds(0)); }

void Dispatcher::start() {
  // 1. Runs a crash left in flight end as failed "interrupted", before anything new starts.
  for (const auto& [automation_id, run_id] : source_.in_flight()) {
    std::promise<std::optional<FinishedRun>> finished;
    runs_.finish(automation_id, run_id, std::nullopt, system_context(run_id),
                 [&finished](const Reply&, std::optional<FinishedRun> f) {
                   finished.set_value(std::move(f));
                 });
    auto f = finished.get_future().get();
    if (!f) continue;
    spdlog::warn("run {} of automation {} was interrupted; finished as failed", run_id,
                 automation_id);
    {
      std::lock_guard lock(mutex_);
      busy_[automation_id]++;
      ++in_progress_;
    }
    after_finish(*f, false);
  }
  // 2. Fired alerts with no delivery at all are delivered once now (at least once).
  for (const auto& [automation_id, run_id] : source_.undelivered()) {
    auto a = source_.automation(automation_id);
    auto run = source_.run(run_id);
    if (!a || !run || !run->alert_content) continue;
    {
      std::lock_guard lock(mutex_);
      ++in_progress_;
    }
    deliver(*a, run_id, *run->alert_content, run->output, [this] {
      std::lock_guard lock(mutex_);
      --in_progress_;
      cv_.notify_all();
    });
  }
  std::lock_guard lock(mutex_);
  stopping_ = false;
  if (config_.automations_enabled && !thread_.joinable()) {
    thread_ = std::thread([this] { scheduler_loop(); });
  }
}

void Dispatcher::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  wait_idle(grace);
}

void Dispatcher::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  cv_.notify_all();
}

std::size_t Dispatcher::in_progress() const {
  std::lock_guard lock(mutex_);
  return in_progress_;
}

bool Dispatcher::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return in_progress_ == 0; });
}

void Dispatcher::scheduler_loop() {
  const auto max =
      static_cast<std::size_t>(std::max<std::int64_t>(1, config_.automation_max_concurrent_runs));
  const Micros poll = config_.automation_poll_interval_seconds * kMicrosPerSecond;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    std::optional<Micros> next_wake;
    std::vector<SchedulerSource::Due> launch;
    if (counted_ < max) {
      const std::size_t limit = (max - counted_) + busy_.size();
      lock.unlock();
      auto due = source_.due(clock_(), limit, next_wake);
      lock.lock();
      for (auto& d : due) {
        if (counted_ >= max) break;
        if (busy_.contains(d.id)) continue;
        ++busy_[d.id];
        ++counted_;
        ++in_progress_;
        launch.push_back(std::move(d));
      }
    }
    if (!launch.empty()) {
      lock.unlock();
      for (const auto& d : launch) {
        launch_run(d.id, automation::Trigger::kSchedule, system_context("scheduler"), {}, true);
      }
      lock.lock();
    }
    Micros wait = poll;
    if (next_wake) wait = std::clamp<Micros>(*next_wake - clock_(), 0, poll);
    if (stopping_ || woken_) continue;
    cv_.wait_for(lock, std::chrono::microseconds(wait), [this] { return woken_ || stopping_; });
  }
}

void Dispatcher::run_now(std::string automation_id, bool force, CommandContext ctx,
                         std::function<void(Reply)> done) {
  std::optional<Reply> refusal;
  {
    std::lock_guard lock(mutex_);
    if (!config_.automations_enabled || stopping_) {
      refusal = Reply::error(Problem::make(
          ProblemKind::kUnavailable,
          config_.automations_enabled ? "The dispatcher is stopping."
                                      : "Automations are disabled (automations_enabled: false)."));
    } else {
      ++busy_[automation_id];
      ++in_progress_;
    }
  }
  if (refusal) return done(std::move(*refusal));
  launch_run(automation_id,
             force ? automation::Trigger::kRunNowForced : automation::Trigger::kRunNow,
             std::move(ctx), std::move(done), false);
}

void Dispatcher::launch_run(const std::string& id, automation::Trigger trigger, CommandContext ctx,
                            std::function<void(Reply)> reply, bool counted) {
  runs_.start(
      id, trigger, std::move(ctx),
      [this, id, reply = std::move(reply), counted](Reply r, std::optional<StartedRun> s) {
        if (reply) reply(r);
        if (!s) return release(id, counted);
        if (s->started.scheduled_for) {
          dispatch_delay_.observe(
              static_cast<double>(s->started.started_at - *s->started.scheduled_for) / 1e6);
        }
        if (s->skipped) {
          count_run("skipped_budget");
          return release(id, counted);
        }
        caller_.post([this, id, counted, s = std::move(*s)] {
          execute(s, [this, id, counted, run_id = s.started.run_id](automation::ExecutorAnswer a) {
            runs_.finish(
                id, run_id, std::move(a), system_context(run_id),
                [this, id, counted](const Reply& r, std::optional<FinishedRun> f) {
                  if (!f) {
                    spdlog::error("finishing a run of automation {} failed: {}", id,
                                  r.problem ? r.problem->detail : "");
                    return release(id, counted);
                  }
                  caller_.post([this, counted, f = std::move(*f)] { after_finish(f, counted); });
                });
          });
        });
      });
}

void Dispatcher::execute(const StartedRun& s,
                         std::function<void(automation::ExecutorAnswer)> done) {
  const auto& a = s.automation;
  auto it = config_.executors.find(a.capability_name);
  if (it == config_.executors.end()) it = config_.executors.find("default");
  if (it == config_.executors.end()) {
    return done(failure("no executor configured for capability '" + a.capability_name + "'"));
  }
  const ExecutorConfig& ex = it->second;
  const ordered_json request = automation::executor_request(a, s.started);
  if (ex.type == "echo") return done(succeeded(request.at("inputs")));
  if (ex.type == "http_check") {
    const auto& inputs = request.at("inputs");
    if (!inputs.contains("url") || !inputs.at("url").is_string()) {
      return done(failure("inputs.url must be an http(s) URL"));
    }
    const std::string url_text = inputs.at("url").get<std::string>();
    auto url = parse_url(url_text);
    if (!url) return done(failure("inputs.url must be an http(s) URL"));
    const auto& allowed = config_.http_check_allowed_hosts;
    if (std::find(allowed.begin(), allowed.end(), url->host) == allowed.end()) {
      return done(failure("host not allowed: " + url->host));
    }
    OutboundRequest req;
    req.method = "GET";
    req.url = url_text;
    req.timeout = std::chrono::seconds(config_.http_check_timeout_seconds);
    return caller_.call(std::move(req), [done = std::move(done)](OutboundResult r) {
      if (!r.status) return done(failure(r.error.value_or("connection failed")));
      auto body = ordered_json::parse(r.body, nullptr, false);
      done(succeeded(ordered_json{{"status_code", *r.status},
                                  {"ok", is_2xx(r)},
                                  {"latency_ms", r.latency_ms},
                                  {"json", body.is_discarded() ? ordered_json() : body}}));
    });
  }
  // webhook
  OutboundRequest req;
  req.method = "POST";
  req.url = ex.url;
  req.headers = ex.headers;
  req.body = request.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  req.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(
      ex.timeout_seconds.value_or(static_cast<double>(config_.executor_timeout_seconds)) * 1000));
  caller_.call(std::move(req), [done = std::move(done)](OutboundResult r) {
    if (!r.status) return done(failure(r.error.value_or("connection failed")));
    if (!is_2xx(r)) return done(failure("executor http " + std::to_string(*r.status)));
    auto body = ordered_json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return done(failure("executor returned invalid JSON"));
    }
    done({std::move(body), std::nullopt});
  });
}

void Dispatcher::after_finish(const FinishedRun& f, bool counted) {
  count_run(f.finished.status);
  const auto& a = f.automation;
  if (f.paused) {
    const std::string last_error = f.finished.error.value_or("unknown");
    notifier_.send(
        {"automation_paused", 4,
         "Automation '" + a.name + "' paused after " + std::to_string(f.paused->failure_count) +
             " consecutive failures. Last error: " + last_error,
         std::nullopt, a.id, f.finished.run_id},
        clock_());
    lesson::Fields l;
    l.lesson_type = "transient_retry";
    l.work_item_id = a.id;
    l.stage = "dispatch";
    l.agent = "annals";
    l.source = "auto";
    l.root_cause = "automation paused after " + std::to_string(f.paused->failure_count) +
                   " consecutive failures; last error: " + last_error;
    l.detail = nlohmann::json{{"automation_name", a.name},
                              {"capability_name", a.capability_name},
                              {"failure_count", f.paused->failure_count},
                              {"last_run_id", f.finished.run_id}}
                   .dump();
    lessons_.record(std::move(l), system_context(f.finished.run_id), [](const Reply& r) {
      if (!r.ok() && r.status != 503) {
        spdlog::warn("auto-lesson transient_retry not recorded: {}",
                     r.problem ? r.problem->detail : "");
      }
    });
  }
  const std::string id = a.id;
  if (f.finished.alert_fired && f.finished.alert_content) {
    return deliver(a, f.finished.run_id, *f.finished.alert_content, f.finished.output,
                   [this, id, counted] { release(id, counted); });
  }
  release(id, counted);
}

void Dispatcher::deliver(const automation::Automation& a, const std::string& run_id,
                         const std::string& content, const std::optional<std::string>& output,
                         std::function<void()> done) {
  auto job = std::make_shared<Active>();
  job->d = this;
  job->a = a;
  job->run_id = run_id;
  job->content = content;
  job->output = output;
  job->channels = automation::alert_channels(a, config_.automation_default_alert_channels);
  job->done = std::move(done);
  job->next();
}

void Dispatcher::release(const std::string& id, bool counted) {
  std::lock_guard lock(mutex_);
  if (auto it = busy_.find(id); it != busy_.end() && --it->second == 0) busy_.erase(it);
  if (counted) --counted_;
  --in_progress_;
  woken_ = true;
  cv_.notify_all();
}

void Dispatcher::count_run(const std::string& status) {
  std::lock_guard lock(metrics_mutex_);
  ++runs_by_status_[status];
}

void Dispatcher::render_metrics(std::string& out) const {
  {
    std::lock_guard lock(metrics_mutex_);
    out += "# TYPE annals_automation_runs_total counter\n";
    for (const auto& [status, n] : runs_by_status_) {
      out += "annals_automation_runs_total{status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
    out += "# TYPE annals_alert_deliveries_total counter\n";
    for (const auto& [k, n] : deliveries_) {
      out += "annals_alert_deliveries_total{channel=\"" + k.first + "\",delivered=\"" +
             (k.second ? "true" : "false") + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# TYPE annals_automation_runs_in_flight gauge\nannals_automation_runs_in_flight " +
         std::to_string(in_progress()) + "\n";
  out += "# TYPE annals_automation_dispatch_delay_seconds histogram\n";
  dispatch_delay_.render(out, "annals_automation_dispatch_delay_seconds", "");
  notifier_.render_metrics(out);
}

}  // namespace annals::commands
