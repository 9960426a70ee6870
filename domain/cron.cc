#include "domain/cron.h"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <vector>

namespace annals::cron {

namespace {

constexpr int kFirstYear = 1970, kLastYear = 2099;
constexpr std::array<const char*, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto at = s.find(sep, start);
    out.emplace_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

struct FieldSpec {
  const char* name;
  int min, max;
  const char* const* names = nullptr;  // value names, index = value - names_base
  int names_count = 0;
  int names_base = 0;
};

// A number or a name of the field.
std::expected<int, std::string> value_of(const std::string& token, const FieldSpec& f) {
  if (token.empty()) return std::unexpected(std::string("empty value in ") + f.name);
  if (std::all_of(token.begin(), token.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (token.size() > 4) return std::unexpected("value " + token + " out of range in " + f.name);
    const int v = std::stoi(token);
    if (v < f.min || v > f.max) {
      return std::unexpected("value " + token + " out of range " + std::to_string(f.min) + "-" +
                             std::to_string(f.max) + " in " + f.name);
    }
    return v;
  }
  const std::string l = lower(token);
  for (int i = 0; i < f.names_count; ++i) {
    if (l == f.names[i]) return i + f.names_base;
  }
  return std::unexpected("invalid value '" + token + "' in " + f.name);
}

// Parses a plain field (lists, ranges with wrap-around, steps) into the values min..max.
std::expected<std::vector<bool>, std::string> parse_plain(const std::string& text,
                                                          const FieldSpec& f) {
  std::vector<bool> set(static_cast<std::size_t>(f.max + 1), false);
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return std::unexpected(std::string("empty list item in ") + f.name);
    const auto slash = item.find('/');
    const std::string base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string::npos) {
      const std::string st = item.substr(slash + 1);
      if (st.empty() || st.size() > 4 || !std::all_of(st.begin(), st.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          })) {
        return std::unexpected("invalid step '" + st + "' in " + f.name);
      }
      step = std::stoi(st);
      if (step == 0) return std::unexpected(std::string("step 0 in ") + f.name);
    }
    int lo = f.min, hi = f.max;
    if (base != "*") {
      const auto dash = base.find('-');
      auto a = value_of(base.substr(0, dash), f);
      if (!a) return std::unexpected(a.error());
      lo = *a;
      if (dash != std::string::npos) {
        auto b = value_of(base.substr(dash + 1), f);
        if (!b) return std::unexpected(b.error());
        hi = *b;
      } else if (slash == std::string::npos) {
        hi = lo;  // a single value
      }
      // `a/n` runs to the field's max.
    }
    // A range whose start is above its end wraps around the field.
    std::vector<int> sequence;
    if (lo <= hi) {
      for (int v = lo; v <= hi; ++v) sequence.push_back(v);
    } else {
      for (int v = lo; v <= f.max; ++v) sequence.push_back(v);
      for (int v = f.min; v <= hi; ++v) sequence.push_back(v);
    }
    for (std::size_t i = 0; i < sequence.size(); i += static_cast<std::size_t>(step)) {
      set[static_cast<std::size_t>(sequence[i])] = true;
    }
  }
  return set;
}

const FieldSpec kSecond{"second", 0, 59};
const FieldSpec kMinute{"minute", 0, 59};
const FieldSpec kHour{"hour", 0, 23};
const FieldSpec kDayOfMonth{"day-of-month", 1, 31};
const FieldSpec kMonth{"month", 1, 12, kMonths.data(), 12, 1};
const FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDays.data(), 7, 0};
const FieldSpec kYear{"year", kFirstYear, kLastYear};

template <std::size_t N>
std::bitset<N> to_bits(const std::vector<bool>& v, int offset = 0) {
  std::bitset<N> b;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i]) b.set(i - static_cast<std::size_t>(offset));
  }
  return b;
}

bool has_letter(const std::string& s, char c) {
  return std::any_of(s.begin(), s.end(),
                     [c](char x) { return std::tolower(static_cast<unsigned char>(x)) == c; });
}

std::optional<std::string> parse_days(const std::string& text, Schedule& s) {
  if (text == "?" || text == "*") {
    s.days.set();
    s.days.reset(0);
    return std::nullopt;
  }
  const std::string l = lower(text);
  // nW / Wn: a single value only.
  if (has_letter(l, 'w')) {
    if (l.find(',') != std::string::npos || l.find('-') != std::string::npos ||
        l.find('/') != std::string::npos) {
      return "W is allowed only as a single value in day-of-month";
    }
    std::string n = l;
    n.erase(std::remove(n.begin(), n.end(), 'w'), n.end());
    if (n.size() + 1 != l.size()) return "invalid W in day-of-month";
    auto v = value_of(n, kDayOfMonth);
    if (!v) return v.error();
    s.nearest_weekday = *v;
    return std::nullopt;
  }
  std::string plain;
  for (const auto& item : split(l, ',')) {
    if (item == "l") {
      s.last_day = true;
    } else if (item.size() > 2 && item.ends_with("-l")) {
      auto from = value_of(item.substr(0, item.size() - 2), kDayOfMonth);
      if (!from) return from.error();
      s.last_day = true;
      s.last_day_from = *from;
    } else {
      plain += (plain.empty() ? "" : ",") + item;
    }
  }
  if (!plain.empty()) {
    auto v = parse_plain(plain, kDayOfMonth);
    if (!v) return v.error();
    s.days = to_bits<32>(*v);
  }
  return std::nullopt;
}

std::optional<std::string> parse_weekdays(const std::string& text, Schedule& s) {
  if (text == "?" || text == "*") {
    s.weekdays.set();
    return std::nullopt;
  }
  const std::string l = lower(text);
  const bool hash = l.find('#') != std::string::npos;
  const bool last = !l.empty() && l[0] == 'l';
  if (hash || last) {
    if (l.find(',') != std::string::npos) {
      return "d#n and Ld cannot be combined with other day-of-week values";
    }
    if (hash) {
      const auto at = l.find('#');
      auto d = value_of(l.substr(0, at), kDayOfWeek);
      if (!d) return d.error();
      const std::string n = l.substr(at + 1);
      if (n.size() != 1 || n[0] < '1' || n[0] > '5') return "the n of d#n must be 1-5";
      s.nth_weekday = *d % 7;
      s.nth = n[0] - '0';
    } else {
      auto d = value_of(l.substr(1), kDayOfWeek);
      if (!d) return d.error();
      s.last_weekday = *d % 7;
    }
    return std::nullopt;
  }
  auto v = parse_plain(l, kDayOfWeek);
  if (!v) return v.error();
  for (int i = 0; i <= 7; ++i) {
    if ((*v)[static_cast<std::size_t>(i)]) s.weekdays.set(static_cast<std::size_t>(i % 7));
  }
  return std::nullopt;
}

std::string alias(const std::string& text) {
  const std::string l = lower(text);
  if (l == "@yearly" || l == "@annually") return "0 0 1 1 *";
  if (l == "@monthly") return "0 0 1 * *";
  if (l == "@weekly") return "0 0 * * 0";
  if (l == "@daily" || l == "@midnight") return "0 0 * * *";
  if (l == "@hourly") return "0 * * * *";
  return "";
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDaysIn[m - 1];
}

// 0 = Sunday.
int weekday_of(std::int64_t days_since_epoch) {
  return static_cast<int>(((days_since_epoch % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
}

bool day_matches(const Schedule& s, std::int64_t y, unsigned m, unsigned d) {
  const std::int64_t days = days_from_civil(y, m, d);
  const unsigned last = days_in_month(y, m);
  const int w = weekday_of(days);
  bool dom = s.days.test(d) || (s.last_day && s.last_day_from == 0 && d == last) ||
             (s.last_day && s.last_day_from > 0 && static_cast<int>(d) >= s.last_day_from);
  if (s.nearest_weekday > 0) {
    // The weekday nearest to day n within the month.
    unsigned n = std::min<unsigned>(static_cast<unsigned>(s.nearest_weekday), last);
    const int wn = weekday_of(days_from_civil(y, m, n));
    unsigned target = n;
    if (wn == 6) target = n == 1 ? 3 : n - 1;         // Saturday → Friday (or Monday 3rd)
    if (wn == 0) target = n == last ? n - 2 : n + 1;  // Sunday → Monday (or Friday before)
    dom = dom || d == target;
  }
  bool dow = s.weekdays.test(static_cast<std::size_t>(w)) ||
             (s.nth_weekday == w && static_cast<int>((d - 1) / 7 + 1) == s.nth) ||
             (s.last_weekday == w && d + 7 > last);
  if (s.days_restricted && s.weekdays_restricted) return dom || dow;
  if (s.days_restricted) return dom;
  if (s.weekdays_restricted) return dow;
  return true;
}

constexpr std::int64_t kDay = 86'400;

const date::time_zone* tz_of(const Zone& z) {
  return static_cast<const date::time_zone*>(z.impl());
}

}  // namespace

std::expected<Schedule, std::string> parse(std::string_view text_in) {
  std::string text(text_in);
  Schedule s;
  s.text = text;
  if (!text.empty() && text[0] == '@') {
    text = alias(text);
    if (text.empty()) return std::unexpected("unsupported alias '" + s.text + "'");
  }
  std::vector<std::string> fields;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) fields.push_back(std::move(cur)), cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) fields.push_back(cur);
  if (fields.size() < 5 || fields.size() > 7) {
    return std::unexpected("expected 5, 6 or 7 fields, got " + std::to_string(fields.size()));
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == "?" && i != 2 && i != 4)
      return std::unexpected("? is allowed only in day fields");
  }
  auto minutes = parse_plain(fields[0], kMinute);
  if (!minutes) return std::unexpected(minutes.error());
  s.minutes = to_bits<60>(*minutes);
  auto hours = parse_plain(fields[1], kHour);
  if (!hours) return std::unexpected(hours.error());
  s.hours = to_bits<24>(*hours);
  if (auto e = parse_days(fields[2], s)) return std::unexpected(*e);
  auto months = parse_plain(fields[3], kMonth);
  if (!months) return std::unexpected(months.error());
  s.months = to_bits<13>(*months);
  if (auto e = parse_weekdays(fields[4], s)) return std::unexpected(*e);
  if (fields.size() >= 6) {
    auto seconds = parse_plain(fields[5], kSecond);
    if (!seconds) return std::unexpected(seconds.error());
    s.seconds = to_bits<60>(*seconds);
  } else {
    s.seconds.set(0);
  }
  if (fields.size() == 7) {
    auto years = parse_plain(fields[6], kYear);
    if (!years) return std::unexpected(years.error());
    for (int y = kFirstYear; y <= kLastYear; ++y) {
      if ((*years)[static_cast<std::size_t>(y)])
        s.years.set(static_cast<std::size_t>(y - kFirstYear));
    }
  } else {
    s.years.set();
  }
  // A day field is unrestricted when it is * or ?, or lists every value while the other is *.
  const bool dom_star = fields[2] == "*" || fields[2] == "?";
  const bool dow_star = fields[4] == "*" || fields[4] == "?";
  std::bitset<32> all_days;
  all_days.set();
  all_days.reset(0);
  const bool dom_full = s.days == all_days && !s.last_day && s.nearest_weekday == 0;
  const bool dow_full = s.weekdays.all() && s.nth_weekday < 0 && s.last_weekday < 0;
  s.days_restricted = !(dom_star || (dom_full && dow_star));
  s.weekdays_restricted = !(dow_star || (dow_full && dom_star));
  return s;
}

std::optional<Zone> Zone::find(const std::string& name) {
  try {
    Zone z;
    z.impl_ = date::locate_zone(name);
    z.name_ = name;
    return z;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Micros> next_fire(const Schedule& s, const Zone& zone, Micros after) {
  const auto* tz = tz_of(zone);
  using namespace std::chrono;
  const std::int64_t after_s =
      after >= 0 ? after / kMicrosPerSecond : -((-after + kMicrosPerSecond - 1) / kMicrosPerSecond);
  const auto info = tz->get_info(date::sys_seconds{seconds{after_s}});
  std::int64_t local = after_s + info.offset.count() + 1;
  const std::int64_t horizon = after_s + info.offset.count() + 50 * 366 * kDay;
  while (local <= horizon) {
    const std::int64_t days = local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
    const std::int64_t tod = local - days * kDay;
    const CivilDate c = civil_from_days(days);
    if (c.year > kLastYear) return std::nullopt;
    if (c.year < kFirstYear || !s.years.test(static_cast<std::size_t>(c.year - kFirstYear))) {
      local = days_from_civil(c.year + 1, 1, 1) * kDay;
      continue;
    }
    if (!s.months.test(c.month)) {
      local = (c.month == 12 ? days_from_civil(c.year + 1, 1, 1)
                             : days_from_civil(c.year, c.month + 1, 1)) *
              kDay;
      continue;
    }
    if (!day_matches(s, c.year, c.month, c.day)) {
      local = (days + 1) * kDay;
      continue;
    }
    const int h = static_cast<int>(tod / 3600), mi = static_cast<int>(tod / 60 % 60),
              sec = static_cast<int>(tod % 60);
    if (!s.hours.test(static_cast<std::size_t>(h))) {
      local = days * kDay + (h + 1) * 3600;
      continue;
    }
    if (!s.minutes.test(static_cast<std::size_t>(mi))) {
      local = days * kDay + h * 3600 + (mi + 1) * 60;
      continue;
    }
    if (!s.seconds.test(static_cast<std::size_t>(sec))) {
      ++local;
      continue;
    }
    // A wall-clock match: map it to UTC with the DST rules of §3.5.
    const auto li = tz->get_info(date::local_seconds{seconds{local}});
    std::int64_t utc = 0;
    if (li.result == date::local_info::nonexistent) {
      utc = duration_cast<seconds>(li.second.begin.time_since_epoch()).count();  // the gap's end
    } else {
      utc = local - li.first.offset.count();  // unique, or the first of an ambiguous pair
    }
    const Micros at = utc * kMicrosPerSecond;
    if (at > after) return at;
    ++local;
  }
  return std::nullopt;
}

bool fires_closer_than(const Schedule& s, std::int64_t seconds) {
  // Cheap bounds first: the within-day gaps, and the least a cross-day gap can be.
  std::optional<int> first, last, previous;
  std::int64_t within = std::numeric_limits<std::int64_t>::max();
  for (int h = 0; h < 24; ++h) {
    if (!s.hours.test(static_cast<std::size_t>(h))) continue;
    for (int m = 0; m < 60; ++m) {
      if (!s.minutes.test(static_cast<std::size_t>(m))) continue;
      for (int sec = 0; sec < 60; ++sec) {
        if (!s.seconds.test(static_cast<std::size_t>(sec))) continue;
        const int t = h * 3600 + m * 60 + sec;
        if (previous) within = std::min<std::int64_t>(within, t - *previous);
        if (!first) first = t;
        previous = last = t;
      }
    }
  }
  if (!first) return false;
  if (within < seconds) return true;
  if (kDay - *last + *first >= seconds) return false;
  const auto gap = smallest_gap_seconds(s);
  return gap && *gap < seconds;
}

std::optional<std::int64_t> smallest_gap_seconds(const Schedule& s) {
  std::vector<int> times;
  for (int h = 0; h < 24; ++h) {
    if (!s.hours.test(static_cast<std::size_t>(h))) continue;
    for (int m = 0; m < 60; ++m) {
      if (!s.minutes.test(static_cast<std::size_t>(m))) continue;
      for (int sec = 0; sec < 60; ++sec) {
        if (s.seconds.test(static_cast<std::size_t>(sec))) times.push_back(h * 3600 + m * 60 + sec);
      }
    }
  }
  if (times.empty()) return std::nullopt;
  std::optional<std::int64_t> best;
  for (std::size_t i = 1; i < times.size(); ++i) {
    const std::int64_t g = times[i] - times[i - 1];
    if (!best || g < *best) best = g;
  }
  // Across days: the nearest pair of matching days, over a 400-year cycle or the year field.
  std::int64_t first_day = days_from_civil(2000, 1, 1), last_day = first_day + 2 * 146097;
  if (!s.years.all()) {
    int lo = kLastYear, hi = kFirstYear;
    for (int y = kFirstYear; y <= kLastYear; ++y) {
      if (s.years.test(static_cast<std::size_t>(y - kFirstYear)))
        lo = std::min(lo, y), hi = std::max(hi, y);
    }
    first_day = days_from_civil(lo, 1, 1);
    last_day = days_from_civil(hi, 12, 31);
  }
  std::optional<std::int64_t> previous, day_gap;
  bool any_day = false;
  // A cross-day gap is at least one day minus the day's span of times: when that cannot beat the
  // within-day gap, the day search is not needed.
  if (best && kDay - times.back() + times.front() >= *best) return best;
  for (std::int64_t d = first_day; d <= last_day; ++d) {
    const CivilDate c = civil_from_days(d);
    // Without a year field the calendar repeats every 400 years, beyond the field's 2099.
    const bool year_ok =
        s.years.all() || (c.year >= kFirstYear && c.year <= kLastYear &&
                          s.years.test(static_cast<std::size_t>(c.year - kFirstYear)));
    if (!year_ok || !s.months.test(c.month)) {
      // Skip to the last day of this month (the loop steps to the next month's first).
      d = (c.month == 12 ? days_from_civil(c.year + 1, 1, 1)
                         : days_from_civil(c.year, c.month + 1, 1)) -
          1;
      continue;
    }
    if (!day_matches(s, c.year, c.month, c.day)) continue;
    any_day = true;
    if (previous && (!day_gap || d - *previous < *day_gap)) day_gap = d - *previous;
    previous = d;
    if (day_gap && *day_gap == 1) break;
  }
  if (!any_day) return std::nullopt;
  if (day_gap) {
    const std::int64_t cross = *day_gap * kDay - times.back() + times.front();
    if (!best || cross < *best) best = cross;
  }
  return best;
}

}  // namespace annals::cron
