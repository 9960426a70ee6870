#include "domain/money.h"

#include <charconv>
#include <cmath>
#include <string>

namespace annals {

std::optional<std::int64_t> usd_to_micros(double usd) {
  if (!std::isfinite(usd) || usd < 0 || usd > 9.0e12) return std::nullopt;
  // The shortest text that reads back as `usd`, in fixed notation: the number as written.
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, usd, std::chars_format::fixed);
  if (ec != std::errc()) return std::nullopt;
  const std::string text(buf, end);
  const auto dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  frac.resize(std::max<std::size_t>(frac.size(), 7), '0');
  std::int64_t micros = std::stoll(whole) * 1'000'000 + std::stoll(frac.substr(0, 6));
  if (frac[6] >= '5') ++micros;  // half away from zero (amounts are never negative here)
  return micros;
}

}  // namespace annals
