#include "commands/command_bus.h"

#include <memory>

namespace annals::commands {

std::optional<Reply> precondition(const CommandContext& ctx, std::uint64_t version) {
  if (ctx.if_match && *ctx.if_match != version) {
    return Reply::error(Problem::make(ProblemKind::kPreconditionFailed,
                                      "If-Match \"" + std::to_string(*ctx.if_match) +
                                          "\" does not match the current version \"" +
                                          std::to_string(version) + "\"."));
  }
  return std::nullopt;
}

Reply replay_stored(const CommandContext& ctx, std::string_view stored) {
  auto decoded = decode_stored_reply(stored);
  if (!decoded) return Reply::error(Problem::make(ProblemKind::kInternal, "corrupt record"));
  if (decoded->first != ctx.fingerprint) {
    return Reply::error(Problem::make(
        ProblemKind::kIdempotencyKeyReused,
        "Idempotency-Key '" + *ctx.idempotency_key + "' was used with a different request."));
  }
  Reply r = std::move(decoded->second);
  r.replayed = true;
  return r;
}

void CommandBus::execute(CommandContext ctx, Decide decide, std::function<void(Reply)> done) {
  auto reply = std::make_shared<Reply>();
  store_.submit(events::WriteJob{
      [this, ctx = std::move(ctx), decide = std::move(decide), reply](events::Transaction& tx) {
        if (ctx.idempotency_key) {
          if (auto stored = tx.idempotency_record(ctx.actor, *ctx.idempotency_key)) {
            *reply = replay_stored(ctx, *stored);
            return false;
          }
        }
        const std::size_t staged = tx.staged().size();
        *reply = decide(tx);
        if (!reply->ok()) {
          if (tx.staged().size() > staged) {
            for (const auto& fn : discard_) fn();
          }
          return false;
        }
        if (ctx.idempotency_key) {
          tx.put_idempotency_record(ctx.actor, *ctx.idempotency_key,
                                    encode_stored_reply(ctx.fingerprint, *reply));
        }
        return true;
      },
      [reply, done = std::move(done)](const std::optional<Problem>& failure) {
        if (failure) {
          Reply r = Reply::error(*failure);
          r.headers.emplace_back("Retry-After", "1");
          done(std::move(r));
        } else {
          done(std::move(*reply));
        }
      }});
}

std::optional<Reply> CommandBus::replay(const CommandContext& ctx) const {
  if (!ctx.idempotency_key) return std::nullopt;
  // Committed records only; a concurrent first request is caught again on the writer thread.
  auto stored = store_.idempotency_record(ctx.actor, *ctx.idempotency_key);
  if (!stored) return std::nullopt;
  return replay_stored(ctx, *stored);
}

}  // namespace annals::commands
