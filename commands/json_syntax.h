// The syntax check of a JSON request body (API §1.6 step 3), shared by the HTTP layer and the
// command parsers that read bodies from text. simdjson validates the whole document (UTF-8,
// literals, numbers); numbers must fit a 64-bit integer or a double.
#pragma once

#include <optional>
#include <string_view>

#include "domain/problem.h"

namespace annals::commands {

// nullopt when `text` is one JSON value (of any type); else the 400 problem naming what is wrong.
std::optional<Problem> json_syntax_problem(std::string_view text);
// The same, then 422 when the value is not an object.
std::optional<Problem> json_object_problem(std::string_view text);

}  // namespace annals::commands
