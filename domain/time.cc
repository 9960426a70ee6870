#include "domain/time.h"

#include <cstdio>

namespace annals {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void put_digits(char* p, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void append_instant(std::string& out, Micros t) {
  const std::int64_t days = floor_div(t, 86'400 * kMicrosPerSecond);
  const std::int64_t in_day = t - days * 86'400 * kMicrosPerSecond;
  const CivilDate c = civil_from_days(days);
  const auto secs = static_cast<unsigned>(in_day / kMicrosPerSecond);
  const auto frac = static_cast<unsigned>(in_day % kMicrosPerSecond);
  char buf[40];
  if (c.year < 0 || c.year > 9999) {
    std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(c.year));
    out += buf;
  } else {
    put_digits(buf, static_cast<unsigned>(c.year), 4);
    out.append(buf, 4);
  }
  // "-MM-DDTHH:MM:SS.ffffff+00:00"
  char* p = buf;
  *p++ = '-';
  put_digits(p, c.month, 2), p += 2;
  *p++ = '-';
  put_digits(p, c.day, 2), p += 2;
  *p++ = 'T';
  put_digits(p, secs / 3600, 2), p += 2;
  *p++ = ':';
  put_digits(p, secs / 60 % 60, 2), p += 2;
  *p++ = ':';
  put_digits(p, secs % 60, 2), p += 2;
  *p++ = '.';
  put_digits(p, frac, 6), p += 6;
  for (char ch : std::string_view("+00:00")) *p++ = ch;
  out.append(buf, static_cast<std::size_t>(p - buf));
}

std::string format_instant(Micros t) {
  std::string s;
  s.reserve(32);
  append_instant(s, t);
  return s;
}

std::string format_utc_date(Micros t) {
  const CivilDate c = civil_from_days(floor_div(t, 86'400 * kMicrosPerSecond));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<Micros> parse_instant(std::string_view s) {
  unsigned y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  Micros frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) frac = frac * 10 + (s[pos] - '0');
      ++n, ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t i = n; i < 6; ++i) frac *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  std::int64_t offset_s = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    unsigned oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (static_cast<std::int64_t>(oh) * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (sec == 60) sec = 59;  // leap second: clamp rather than reject
  const std::int64_t days = days_from_civil(y, mo, d);
  const std::int64_t secs = days * 86'400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kMicrosPerSecond + frac;
}

}  // namespace annals
