#include "commands/candidates.h"

#include "commands/body.h"
#include "commands/ids.h"
#include "domain/capability.h"
#include "domain/money.h"
#include "domain/text_rules.h"
#include "events/candidate_codec.h"

namespace annals::commands {

namespace {

using nlohmann::json;

std::string capability_stream(const std::string& name) { return capability::stream_name(name); }
std::string fingerprint_stream(const std::string& fp) { return "fingerprint-" + fp; }

const candidate::Candidate* find_status(const std::map<std::string, candidate::Candidate>& all,
                                        std::initializer_list<const char*> statuses) {
  for (const auto& [id, c] : all) {
    for (const char* s : statuses) {
      if (c.status == s) return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::expected<Registration, Problem> parse_registration(const json& body) {
  BodyReader r(body);
  Registration reg;
  reg.capability_name = r.opt_string("capability_name");
  if (reg.capability_name && !capability::is_name(*reg.capability_name)) {
    r.error("capability_name", "must be a capability name");
  }
  reg.message = r.opt_string("message");
  if (reg.message && utf8_length(*reg.message) > 10'000) {
    r.error("message", "must be at most 10000 characters");
  }
  reg.pattern_fingerprint = r.opt_string("pattern_fingerprint");
  if (reg.pattern_fingerprint && !candidate::is_fingerprint(*reg.pattern_fingerprint)) {
    r.error("pattern_fingerprint", "must be 32 lowercase hex characters");
  }
  reg.reasoning = r.required_string("reasoning");
  if (!reg.capability_name && !reg.message && !reg.pattern_fingerprint) {
    r.error("capability_name",
            "one of capability_name, message or pattern_fingerprint is required");
  }
  if (reg.message && reg.pattern_fingerprint &&
      candidate::fingerprint(*reg.message) != *reg.pattern_fingerprint) {
    r.error("pattern_fingerprint", "does not match the fingerprint of message");
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  if (reg.message && !reg.pattern_fingerprint)
    reg.pattern_fingerprint = candidate::fingerprint(*reg.message);
  return reg;
}

CandidateCommands::CandidateCommands(CommandBus& bus, const Config& config, SkillCommands& skills)
    : bus_(bus),
      config_(config),
      skills_(skills),
      index_(bus.store().column_family("agg.candidates")),
      cache_(
          bus, [](const std::string& stream) { return stream; },
          [](std::optional<State>& s, const events::StoredEvent& e) {
            if (!s) s.emplace();
            if (auto ev = events::decode_candidate_event(e)) {
              std::visit([&](const auto& x) { candidate::apply(*s, x, e.event().recorded_at()); },
                         *ev);
            }
          }) {}

void CandidateCommands::register_pattern(Registration reg, CommandContext ctx,
                                         std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, reg = std::move(reg), ctx](events::Transaction& tx) {
        const std::string stream = reg.capability_name
                                       ? capability_stream(*reg.capability_name)
                                       : fingerprint_stream(*reg.pattern_fingerprint);
        const auto& f = cache_.fold(tx, stream);
        const State all = f.state.value_or(State{});
        events::CandidateEvent event;
        std::string id;
        int status = 201;
        if (const auto* existing = find_status(all, {"claude_native_registered"})) {
          id = existing->id;
          status = 200;
          event = candidate::StatusChanged{id, existing->status, existing->status, std::nullopt,
                                           reg.reasoning};
        } else {
          id = new_uuid_v7(tx.now());
          candidate::Reported r;
          r.candidate_id = id;
          r.capability_name = reg.capability_name;
          r.status = "claude_native_registered";
          r.pattern_fingerprint = reg.pattern_fingerprint;
          r.reasoning = reg.reasoning;
          event = r;
        }
        const std::vector<events::NewEvent> evs{events::encode(event)};
        auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        tx.put(index_, "i" + id, stream);
        const auto& after = cache_.fold(tx, stream);
        Reply rep;
        rep.status = status;
        rep.body = candidate::render(after.state->at(id));
        rep.etag = appended->stream_version;
        rep.position = appended->last_position;
        return rep;
      },
      std::move(done));
}

void CandidateCommands::dismiss(std::string id, CommandContext ctx,
                                std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, id, ctx](events::Transaction& tx) {
        auto stream = tx.get(index_, "i" + id);
        if (!stream) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        const auto& f = cache_.fold(tx, *stream);
        if (!f.state || !f.state->contains(id)) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        if (ctx.if_match && *ctx.if_match != f.version) {
          return Reply::error(Problem::make(ProblemKind::kPreconditionFailed,
                                            "If-Match does not match the current version."));
        }
        const auto c = f.state->at(id);
        Reply rep;
        rep.status = 200;
        rep.etag = f.version;
        rep.position = f.last_position;
        if (c.status != "dismissed") {
          const std::vector<events::NewEvent> evs{
              events::encode(events::CandidateEvent{candidate::StatusChanged{
                  id, c.status, "dismissed", "dismissed by " + ctx.actor, std::nullopt}})};
          auto appended = tx.append(*stream, events::ExpectedVersion::exact(f.version), evs,
                                    {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          rep.etag = appended->stream_version;
          rep.position = appended->last_position;
        }
        rep.body = candidate::render(cache_.fold(tx, *stream).state->at(id));
        return rep;
      },
      std::move(done));
}

void CandidateCommands::detect(std::map<std::string, candidate::TypeStats> stats,
                               Micros window_start, CommandContext ctx,
                               std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, stats = std::move(stats), window_start, ctx](events::Transaction& tx) {
        const auto& excluded = config_.candidate_excluded_task_types;
        const auto min_savings =
            usd_to_micros(config_.auto_draft_min_expected_savings_usd).value_or(0);
        json created = json::array();
        std::uint64_t position = 0;
        for (const auto& [type, st] : stats) {  // task-type order
          if (std::find(excluded.begin(), excluded.end(), type) != excluded.end()) continue;
          if (!capability::is_name(type)) continue;
          const auto state = skills_.skill_state(tx, type);
          if (state && *state != "claude_native") continue;
          if (!candidate::qualifies(st.spend_micro_usd, min_savings)) continue;
          const std::string stream = capability_stream(type);
          const State all = cache_.fold(tx, stream).state.value_or(State{});
          if (find_status(all, {"new", "drafted", "claude_native_registered"})) continue;
          const auto fp_state =
              cache_.fold(tx, fingerprint_stream(candidate::fingerprint(type))).state;
          if (fp_state && find_status(*fp_state, {"claude_native_registered"})) continue;
          candidate::Reported r;
          r.candidate_id = new_uuid_v7(tx.now());
          r.capability_name = type;
          r.status = "new";
          r.expected_savings_micro_usd = candidate::expected_savings(st.spend_micro_usd);
          r.volume_30d = st.volume;
          r.variance_score = candidate::variance_score(st.shapes);
          r.window_start = window_start;
          const std::vector<events::NewEvent> evs{events::encode(events::CandidateEvent{r})};
          auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                    {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          tx.put(index_, "i" + r.candidate_id, stream);
          position = appended->last_position;
          created.push_back(r.candidate_id);
        }
        Reply rep;
        rep.status = 200;
        rep.body = json{{"new_candidates", created}}.dump();
        rep.position = position;
        return rep;
      },
      std::move(done));
}

}  // namespace annals::commands
