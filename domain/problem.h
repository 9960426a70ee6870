// Problem: the one error value every layer returns (API §1.5). Domain deciders use the domain kinds
// (SPEC §0.7); the HTTP layer adds the protocol kinds. A Problem maps 1:1 to a problem+json body.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace annals {

enum class ProblemKind {
  kBadRequest,            // 400
  kUnauthorized,          // 401
  kForbidden,             // 403
  kHumanGateRequired,     // 403
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kRequestTimeout,        // 408
  kIllegalTransition,     // 409
  kDuplicate,             // 409
  kDeleted,               // 409
  kRunInFlight,           // 409
  kMinInterval,           // 409
  kWrongState,            // 409
  kInsufficientData,      // 409
  kAlreadyRunning,        // 409
  kPreconditionFailed,    // 412
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kValidation,            // 422
  kIdempotencyKeyReused,  // 422
  kHeaderTooLarge,        // 431
  kUnavailable,           // 503
  kInternal,              // 500
};

struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

struct Problem {
  ProblemKind kind = ProblemKind::kInternal;
  std::string detail;
  std::vector<FieldError> errors;

  static Problem make(ProblemKind kind, std::string detail) {
    return {kind, std::move(detail), {}};
  }
  static Problem validation(std::vector<FieldError> errors) {
    std::string detail = errors.empty() ? "Validation failed."
                                        : errors.front().field + ": " + errors.front().message;
    return {ProblemKind::kValidation, std::move(detail), std::move(errors)};
  }
};

int problem_status(ProblemKind kind);
// The suffix of "urn:annals:problem:<type>".
const char* problem_type(ProblemKind kind);
const char* problem_title(ProblemKind kind);

}  // namespace annals
