#include "commands/ledger.h"

#include "commands/body.h"
#include "commands/ids.h"
#include "domain/capability.h"
#include "domain/json_text.h"
#include "domain/money.h"
#include "domain/text_rules.h"
#include "events/ledger_codec.h"

namespace annals::commands {

namespace {

constexpr Micros kDay = 86'400 * kMicrosPerSecond;

std::string day_key(std::int64_t day) { return "d" + format_utc_date(day * kDay); }

}  // namespace

std::expected<InvocationDraft, Problem> parse_invocation(const nlohmann::json& body) {
  BodyReader r(body);
  InvocationDraft d;
  auto& i = d.invocation;
  i.task_type = r.required_string("task_type");
  if (r.has("task_type") && body.at("task_type").is_string() && !capability::is_name(i.task_type)) {
    r.error("task_type", "must match ^[a-z][a-z0-9_]{0,63}$");
  }
  if (!r.has("cost_usd") || r.is_null("cost_usd")) {
    r.error("cost_usd", "is required");
  } else if (const auto& c = body.at("cost_usd"); !c.is_number()) {
    r.error("cost_usd", "must be a number >= 0");
  } else if (auto micros = usd_to_micros(c.get<double>())) {
    i.cost_micro_usd = *micros;
  } else {
    r.error("cost_usd", "must be a number >= 0");
  }
  r.opt_json("cost_usd");
  i.output = r.opt_json("output");
  i.user_id = r.opt_string("user_id");
  if (i.user_id && utf8_length(*i.user_id) > 100) {
    r.error("user_id", "must be at most 100 characters");
  }
  if (auto at = r.opt_string("at")) {
    if (auto t = parse_instant(*at)) {
      i.at = *t;
      d.at_given = true;
    } else {
      r.error("at", "must be an RFC 3339 instant");
    }
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return d;
}

LedgerCommands::LedgerCommands(CommandBus& bus, const Config& config)
    : bus_(bus), config_(config), totals_(bus.store().column_family("agg.ledger")) {}

void LedgerCommands::record(InvocationDraft draft, CommandContext ctx,
                            std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, draft = std::move(draft), ctx](events::Transaction& tx) mutable {
        auto i = draft.invocation;
        if (!draft.at_given) i.at = tx.now();
        if (i.at > tx.now() + config_.clock_skew_tolerance_seconds * kMicrosPerSecond) {
          return Reply::error(Problem::validation(
              {{"at", "is in the future (beyond clock_skew_tolerance_seconds)"}}));
        }
        i.id = new_uuid_v7(tx.now());
        const std::vector<events::NewEvent> evs{events::encode(i)};
        auto appended = tx.append(ledger::stream_name(i.at), events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        const std::string key = "d" + format_utc_date(i.at);
        auto totals = ledger::decode_day_totals(tx.get(totals_, key).value_or(""));
        ledger::add(totals, i);
        tx.put(totals_, key, ledger::encode(totals));
        Reply r;
        r.status = 201;
        r.body = ledger::render(i, tx.now());
        r.etag = appended->stream_version;
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

ledger::Guard LedgerCommands::guard(events::Transaction& tx) const {
  const auto& excluded = config_.budget_excluded_task_types;
  const std::int64_t today = tx.now() / kDay;
  std::int64_t daily = 0, monthly = 0;
  for (const std::int64_t day : ledger::month_to_date(today)) {
    auto bytes = tx.get(totals_, day_key(day));
    if (!bytes) continue;
    const auto t = ledger::counted(ledger::decode_day_totals(*bytes), excluded);
    monthly += t.micro_usd;
    if (day == today) daily = t.micro_usd;
  }
  return ledger::guard(daily, monthly, usd_to_micros(config_.daily_pause_threshold_usd).value_or(0),
                       usd_to_micros(config_.monthly_budget_usd).value_or(0));
}

}  // namespace annals::commands
