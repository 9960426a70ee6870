#include "domain/problem.h"

namespace annals {

namespace {
struct Row {
  int status;
  const char* type;
  const char* title;
};

Row row(ProblemKind k) {
  switch (k) {
    case ProblemKind::kBadRequest:
      return {400, "bad-request", "Bad request"};
    case ProblemKind::kUnauthorized:
      return {401, "unauthorized", "Unauthorized"};
    case ProblemKind::kForbidden:
      return {403, "forbidden", "Forbidden"};
    case ProblemKind::kHumanGateRequired:
      return {403, "human-gate-required", "Human gate required"};
    case ProblemKind::kNotFound:
      return {404, "not-found", "Not found"};
    case ProblemKind::kMethodNotAllowed:
      return {405, "method-not-allowed", "Method not allowed"};
    case ProblemKind::kRequestTimeout:
      return {408, "request-timeout", "Request timeout"};
    case ProblemKind::kIllegalTransition:
      return {409, "illegal-transition", "Illegal transition"};
    case ProblemKind::kDuplicate:
      return {409, "duplicate", "Duplicate"};
    case ProblemKind::kDeleted:
      return {409, "deleted", "Deleted"};
    case ProblemKind::kRunInFlight:
      return {409, "run-in-flight", "Run in flight"};
    case ProblemKind::kMinInterval:
      return {409, "min-interval", "Minimum interval"};
    case ProblemKind::kWrongState:
      return {409, "wrong-state", "Wrong state"};
    case ProblemKind::kInsufficientData:
      return {409, "insufficient-data", "Insufficient data"};
    case ProblemKind::kAlreadyRunning:
      return {409, "already-running", "Already running"};
    case ProblemKind::kPreconditionFailed:
      return {412, "precondition-failed", "Precondition failed"};
    case ProblemKind::kPayloadTooLarge:
      return {413, "payload-too-large", "Payload too large"};
    case ProblemKind::kUnsupportedMediaType:
      return {415, "unsupported-media-type", "Unsupported media type"};
    case ProblemKind::kValidation:
      return {422, "validation", "Validation failed"};
    case ProblemKind::kIdempotencyKeyReused:
      return {422, "idempotency-key-reused", "Idempotency key reused"};
    case ProblemKind::kHeaderTooLarge:
      return {431, "request-header-fields-too-large", "Request header fields too large"};
    case ProblemKind::kUnavailable:
      return {503, "unavailable", "Service unavailable"};
    case ProblemKind::kInternal:
      break;
  }
  return {500, "internal", "Internal error"};
}
}  // namespace

int problem_status(ProblemKind k) { return row(k).status; }
const char* problem_type(ProblemKind k) { return row(k).type; }
const char* problem_title(ProblemKind k) { return row(k).title; }

}  // namespace annals
