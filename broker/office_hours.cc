#include "broker/office_hours.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>
#include <utility>

namespace dutyhub {
namespace {

using Span = std::pair<TimeMs, TimeMs>;
using Milliseconds = std::chrono::milliseconds;

constexpr int kMinutesPerDay = 24 * 60;

// A calendar with no office time in this many consecutive local days is a configuration
// mistake (the header promises "never opens within two years"); without this bound
// AddOfficeTime would walk forever.
constexpr int64_t kMaxClosedDays = 800;

// However the calendar is made, AddOfficeTime stops after this many days (a century) so a
// huge `office_time` cannot keep a broker thread busy for ever.
constexpr int64_t kMaxWalkDays = 36525;

// The UTC instant of local wall time `minute` minutes after local midnight of `day`.
// An ambiguous wall time (the repeated hour when clocks go back) is its earlier instant;
// a nonexistent one (the skipped hour when clocks go forward) is the instant the clocks
// jump, which is the first valid instant after it: a span starting at 01:30 on the London
// spring-forward day starts at 02:00 BST = 01:00Z. The mapping is monotonic in `minute`,
// so converted spans stay ordered and non-overlapping (a span lying wholly inside the
// skipped hour collapses to empty and is dropped by the caller).
TimeMs WallToUtc(const date::time_zone& zone, int64_t day, int minute) {
  const date::local_time<Milliseconds> local =
      date::local_days{date::days{day}} + std::chrono::minutes{minute};
  return zone.to_sys(local, date::choose::earliest).time_since_epoch().count();
}

// The whole local day `day` in UTC. With no zone (Always) local days are UTC days.
Span WholeDay(const date::time_zone* zone, int64_t day) {
  if (zone == nullptr) return {day * kDayMs, (day + 1) * kDayMs};
  return {WallToUtc(*zone, day, 0), WallToUtc(*zone, day + 1, 0)};
}

Violation SpanViolation(size_t weekday, size_t index, std::string description) {
  return Violation{"weekly[" + std::to_string(weekday) + "][" + std::to_string(index) + "]",
                   std::move(description)};
}

}  // namespace

Result<std::shared_ptr<const OfficeHours>> OfficeHours::Create(
    const std::string& time_zone, std::vector<std::vector<DailySpan>> weekly,
    std::vector<int64_t> closed_days) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(time_zone);
    // With USE_OS_TZDB the zone's transitions are read from /usr/share/zoneinfo on first
    // use, which can throw; force that here so no later const method can throw.
    (void)zone->get_info(date::sys_days{date::days{0}});
  } catch (const std::exception& e) {
    return Status::InvalidArgument("unknown time zone \"" + time_zone + "\": " + e.what(),
                                   {{"time_zone", "not a zone in the tz database"}});
  }

  std::vector<Violation> violations;
  if (weekly.size() != 7) {
    violations.push_back(
        {"weekly", "needs 7 days (Monday to Sunday), has " + std::to_string(weekly.size())});
  }
  for (size_t d = 0; d < weekly.size(); ++d) {
    for (size_t i = 0; i < weekly[d].size(); ++i) {
      const DailySpan& span = weekly[d][i];
      if (span.begin_minute < 0 || span.end_minute > kMinutesPerDay ||
          span.begin_minute >= span.end_minute) {
        violations.push_back(SpanViolation(
            d, i,
            "span must satisfy 0 <= begin < end <= 1440 minutes, got " +
                std::to_string(span.begin_minute) + "-" + std::to_string(span.end_minute)));
      } else if (i > 0 && span.begin_minute < weekly[d][i - 1].end_minute) {
        violations.push_back(SpanViolation(d, i, "spans must be in order and must not overlap"));
      }
    }
  }
  if (!violations.empty()) {
    return Status::InvalidArgument("malformed office hours", std::move(violations));
  }

  std::sort(closed_days.begin(), closed_days.end());
  closed_days.erase(std::unique(closed_days.begin(), closed_days.end()), closed_days.end());

  std::shared_ptr<OfficeHours> hours(new OfficeHours());
  hours->zone_ = zone;
  hours->weekly_ = std::move(weekly);
  hours->closed_days_ = std::move(closed_days);
  return std::shared_ptr<const OfficeHours>(std::move(hours));
}

std::shared_ptr<const OfficeHours> OfficeHours::Complement(
    std::shared_ptr<const OfficeHours> base) {
  assert(base != nullptr);
  std::shared_ptr<OfficeHours> hours(new OfficeHours());
  // Same zone, so "local day" means the same thing for both calendars and the complement's
  // day is exactly partitioned between them.
  hours->zone_ = base->zone_;
  hours->complement_of_ = std::move(base);
  return hours;
}

std::shared_ptr<const OfficeHours> OfficeHours::Always() {
  std::shared_ptr<OfficeHours> hours(new OfficeHours());
  hours->always_ = true;
  return hours;
}

int64_t OfficeHours::LocalDay(TimeMs t) const {
  const date::sys_time<Milliseconds> instant{Milliseconds{t}};
  if (zone_ == nullptr) {
    return date::floor<date::days>(instant).time_since_epoch().count();
  }
  return date::floor<date::days>(zone_->to_local(instant)).time_since_epoch().count();
}

TimeMs OfficeHours::LocalMidnight(int64_t day) const { return WholeDay(zone_, day).first; }

std::vector<Span> OfficeHours::OpenSpansOn(int64_t day) const {
  // Always has no zone: its "local" day is the UTC day, and the whole of it is open.
  if (always_) return {WholeDay(nullptr, day)};

  if (complement_of_ != nullptr) {
    // The day minus the base's spans. The base's spans on `day` lie inside the same local
    // day (same zone), so each gap between them is staffed; consecutive days' whole-day
    // spans touch at local midnight, which AddOfficeTime simply walks across.
    std::vector<Span> open;
    auto [cursor, day_end] = WholeDay(zone_, day);
    for (const Span& closed : complement_of_->OpenSpansOn(day)) {
      if (closed.first > cursor) open.emplace_back(cursor, closed.first);
      cursor = std::max(cursor, closed.second);
    }
    if (cursor < day_end) open.emplace_back(cursor, day_end);
    return open;
  }

  // A complement of Always has neither zone nor spans: never open.
  if (zone_ == nullptr || weekly_.size() != 7) return {};
  if (std::binary_search(closed_days_.begin(), closed_days_.end(), day)) return {};

  // Monday = 0 ... Sunday = 6, as `weekly_` is indexed.
  const unsigned iso = date::weekday{date::sys_days{date::days{day}}}.iso_encoding();
  std::vector<Span> open;
  for (const DailySpan& span : weekly_[iso - 1]) {
    const TimeMs begin = WallToUtc(*zone_, day, span.begin_minute);
    const TimeMs end = WallToUtc(*zone_, day, span.end_minute);
    // Empty when the whole span lies in the hour skipped by a spring-forward change.
    if (begin < end) open.emplace_back(begin, end);
  }
  return open;
}

bool OfficeHours::IsOpen(TimeMs t) const {
  for (const Span& span : OpenSpansOn(LocalDay(t))) {
    if (span.first <= t && t < span.second) return true;  // half-open: [begin, end)
  }
  return false;
}

Result<TimeMs> OfficeHours::AddOfficeTime(TimeMs start, TimeMs office_time) const {
  if (office_time < 0) {
    return Status::InvalidArgument("office time to add must not be negative, got " +
                                   std::to_string(office_time) + " ms");
  }
  if (office_time == 0) return start;

  // Consume spans in time order from `start`. When the remainder is used up exactly at a
  // span's end, that end is the answer (Friday 16:00 + 1 office hour is Friday 17:00, not
  // Monday 09:00). Spans are real UTC instants, so an hour gained or lost to a clock
  // change inside a span counts as the real time it is.
  TimeMs remaining = office_time;
  int64_t days_without_office_time = 0;
  const int64_t first_day = LocalDay(start);
  for (int64_t day = first_day; day < first_day + kMaxWalkDays; ++day) {
    bool opened = false;
    for (const Span& span : OpenSpansOn(day)) {
      const TimeMs begin = std::max(span.first, start);
      if (begin >= span.second) continue;
      opened = true;
      const TimeMs available = span.second - begin;
      if (remaining <= available) return begin + remaining;
      remaining -= available;
    }
    days_without_office_time = opened ? 0 : days_without_office_time + 1;
    if (days_without_office_time > kMaxClosedDays) {
      return Status::InvalidArgument(
          "the office hours never open in " + std::to_string(kMaxClosedDays) +
          " consecutive days: check the inbox's weekly spans and closed days");
    }
  }
  return Status::InvalidArgument("office time to add is too large: it runs past " +
                                 std::to_string(kMaxWalkDays) + " days");
}

}  // namespace dutyhub
