// The alert-condition DSL (SPEC §3.10): validation when an expression is stored (every problem
// named by its node path) and evaluation against a run's output. Evaluation of a validated
// expression cannot fail.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "domain/problem.h"

namespace annals::alert {

// Problems of `expr`, each with a field path under `prefix` (e.g. "alert_conditions.all_of[0].op").
std::vector<FieldError> validate(const nlohmann::json& expr, const std::string& prefix);

// Whether `expr` fires for `output`. REQUIRES: validate(expr) is empty.
bool evaluate(const nlohmann::json& expr, const nlohmann::json& output);

// JSON equality of the DSL: numbers numerically, booleans only equal booleans, arrays element-wise,
// objects by equal key sets and values.
bool equal(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace annals::alert
