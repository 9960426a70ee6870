// Money (SPEC §0.4): integer micro-USD. Inputs arrive as JSON numbers; they are rounded to the
// nearest micro-USD, half away from zero, working from the number's shortest decimal text so
// that no binary-float error creeps in (0.0000005 → 1, 0.02 → 20000).
#pragma once

#include <cstdint>
#include <optional>

namespace annals {

// nullopt for negative, non-finite or out-of-range amounts.
std::optional<std::int64_t> usd_to_micros(double usd);

}  // namespace annals
