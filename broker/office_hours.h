// When an inbox is staffed, and how much staffed time lies between two instants.
// Office hours are local wall-clock hours in a time zone (Europe/London for Northshire:
// GMT in winter, BST in summer) on given weekdays, closed on listed bank holidays. The
// Emergency Duty Service is the other way round: staffed exactly when the office is not;
// `Complement` expresses that.
//
// Thread-safe once built: every method is const.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "broker/clock.h"
#include "broker/status.h"

namespace date {
class time_zone;
}

namespace dutyhub {

// One opening span in a day, local wall-clock minutes from midnight; end > begin,
// end <= 24*60.
struct DailySpan {
  int begin_minute = 0;
  int end_minute = 0;
};

class OfficeHours {
 public:
  // `weekly[0]` is Monday ... `weekly[6]` Sunday. `closed_days` are local dates as days
  // since 1970-01-01 (bank holidays), on which the office does not open at all.
  // Fails with INVALID_ARGUMENT when the time zone is unknown or a span is malformed.
  static Result<std::shared_ptr<const OfficeHours>> Create(
      const std::string& time_zone, std::vector<std::vector<DailySpan>> weekly,
      std::vector<int64_t> closed_days);

  // Staffed exactly when `base` is not (same time zone).
  static std::shared_ptr<const OfficeHours> Complement(std::shared_ptr<const OfficeHours> base);

  // Round the clock: every instant is office time.
  static std::shared_ptr<const OfficeHours> Always();

  bool IsOpen(TimeMs t) const;

  // The instant at which `office_time` of staffed time has passed since `start`. Time
  // outside office hours does not count: 4 office hours from Friday 16:00 is Monday 12:00
  // (Tuesday 12:00 when Monday is a bank holiday). A clock change inside a span counts
  // the real elapsed time. Returns INVALID_ARGUMENT if the calendar never opens within
  // two years (a configuration mistake).
  // REQUIRES: office_time >= 0.
  Result<TimeMs> AddOfficeTime(TimeMs start, TimeMs office_time) const;

  // The UTC instants [begin, end) of office time that fall on the local date `day` (days
  // since 1970-01-01), in order, not overlapping.
  std::vector<std::pair<TimeMs, TimeMs>> OpenSpansOn(int64_t day) const;

  // The local date (days since 1970-01-01) in this calendar's time zone at `t`.
  int64_t LocalDay(TimeMs t) const;

  // The UTC instant at which the local date `day` begins.
  TimeMs LocalMidnight(int64_t day) const;

  // The days it does not open at all (bank holidays); those of the base for a complement.
  const std::vector<int64_t>& closed_days() const {
    return complement_of_ ? complement_of_->closed_days() : closed_days_;
  }

 private:
  OfficeHours() = default;

  const date::time_zone* zone_ = nullptr;
  std::vector<std::vector<DailySpan>> weekly_;
  std::vector<int64_t> closed_days_;  // sorted
  std::shared_ptr<const OfficeHours> complement_of_;
  bool always_ = false;
};

}  // namespace dutyhub
