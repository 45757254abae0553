#include "broker/time_text.h"

#include <date/date.h>
#include <date/tz.h>

#include <cctype>
#include <charconv>
#include <chrono>

namespace dutyhub {
namespace {

// Reads exactly `width` digits at `pos`; false if any is not a digit.
bool ReadDigits(std::string_view text, size_t pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

std::optional<date::sys_days> ReadDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (!ReadDigits(text, 0, 4, y) || !ReadDigits(text, 5, 2, m) || !ReadDigits(text, 8, 2, d)) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return date::sys_days{ymd};
}

}  // namespace

std::optional<int64_t> ParseDate(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  auto day = ReadDate(text);
  if (!day) return std::nullopt;
  return day->time_since_epoch().count();
}

std::optional<TimeMs> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto day = ReadDate(text);
  if (!day || text.size() < 20) return std::nullopt;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (!ReadDigits(text, 11, 2, hh) || text[13] != ':' || !ReadDigits(text, 14, 2, mm) ||
      text[16] != ':' || !ReadDigits(text, 17, 2, ss)) {
    return std::nullopt;
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  if (pos >= text.size()) return std::nullopt;
  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!ReadDigits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  int64_t seconds =
      day->time_since_epoch().count() * 86400LL + hh * 3600 + mm * 60 + ss - offset_minutes * 60LL;
  return seconds * 1000 + millis;
}

std::string FormatTimestamp(TimeMs t) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds{t}};
  if (t % 1000 == 0) return date::format("%FT%TZ", floor<seconds>(tp));
  return date::format("%FT%TZ", tp);
}

std::string FormatLocalForPeople(TimeMs t) {
  using namespace std::chrono;
  sys_time<seconds> tp{seconds{t / 1000}};
  auto local = date::make_zoned("Europe/London", tp);
  return date::format("%a %d %b %H:%M %Z", local);
}

std::string FormatLocalDate(TimeMs t) {
  using namespace std::chrono;
  sys_time<seconds> tp{seconds{t / 1000}};
  return date::format("%Y-%m-%d", date::make_zoned("Europe/London", tp));
}

std::optional<TimeMs> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  TimeMs total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() + pos || value < 0) return std::nullopt;
    pos = end - text.data();
    if (pos >= text.size()) return std::nullopt;
    TimeMs unit = 0;
    switch (text[pos]) {
      case 's':
        unit = kSecondMs;
        break;
      case 'm':
        unit = kMinuteMs;
        break;
      case 'h':
        unit = kHourMs;
        break;
      case 'd':
        unit = kDayMs;
        break;
      default:
        return std::nullopt;
    }
    if (value > 100LL * 365 * kDayMs / unit) return std::nullopt;
    total += value * unit;
    ++pos;
  }
  return total;
}

}  // namespace dutyhub
