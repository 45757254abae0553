// Office hours as Northshire's inboxes keep them (docs/northshire.md): Europe/London,
// Monday to Friday 09:00-17:00, closed on England and Wales bank holidays; and the
// Emergency Duty Service, staffed exactly when those offices are not.
#include "broker/office_hours.h"

#include <gtest/gtest.h>

#include <string_view>
#include <utility>
#include <vector>

#include "broker/time_text.h"

namespace dutyhub {
namespace {

using Spans = std::vector<std::pair<TimeMs, TimeMs>>;

TimeMs At(std::string_view text) {
  std::optional<TimeMs> t = ParseTimestamp(text);
  EXPECT_TRUE(t.has_value()) << "bad timestamp in test: " << text;
  return t.value_or(0);
}

int64_t Day(std::string_view text) {
  std::optional<int64_t> day = ParseDate(text);
  EXPECT_TRUE(day.has_value()) << "bad date in test: " << text;
  return day.value_or(0);
}

std::vector<int64_t> NorthshireBankHolidays() {
  std::vector<int64_t> days;
  for (std::string_view text :
       {"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
        "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
        "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"}) {
    days.push_back(Day(text));
  }
  return days;
}

std::vector<std::vector<DailySpan>> Weekdays(DailySpan span) {
  return {{span}, {span}, {span}, {span}, {span}, {}, {}};
}

constexpr DailySpan kNineToFive{9 * 60, 17 * 60};

std::shared_ptr<const OfficeHours> Northshire() {
  auto hours =
      OfficeHours::Create("Europe/London", Weekdays(kNineToFive), NorthshireBankHolidays());
  EXPECT_TRUE(hours.ok()) << hours.status().ToString();
  return hours.ok() ? *hours : OfficeHours::Always();
}

std::shared_ptr<const OfficeHours> Eds() { return OfficeHours::Complement(Northshire()); }

// Asserts success and returns the due instant as text, so a failure shows both times.
std::string Due(const OfficeHours& hours, std::string_view start, TimeMs office_time) {
  Result<TimeMs> due = hours.AddOfficeTime(At(start), office_time);
  EXPECT_TRUE(due.ok()) << due.status().ToString();
  return due.ok() ? FormatTimestamp(*due) : "error";
}

// --- Weekday office, winter (GMT) --------------------------------------------------------

TEST(OfficeHoursTest, FridayAfternoonRoutineIsDueMondayAtTheSameTime) {
  auto hours = Northshire();
  // Friday 16:00 GMT: one hour on Friday, seven on Monday.
  EXPECT_EQ(Due(*hours, "2026-11-20T16:00:00Z", 8 * kHourMs), "2026-11-23T16:00:00Z");
  EXPECT_EQ(Due(*hours, "2026-11-20T16:00:00Z", 4 * kHourMs), "2026-11-23T12:00:00Z");
}

TEST(OfficeHoursTest, BankHolidayMondayPushesDueToTuesday) {
  auto hours = Northshire();
  // Friday 2027-05-28 16:00 BST; Monday 2027-05-31 is the spring bank holiday.
  EXPECT_EQ(Due(*hours, "2027-05-28T15:00:00Z", 8 * kHourMs), "2027-06-01T15:00:00Z");
}

TEST(OfficeHoursTest, ArrivalBeforeOpeningCountsFromNine) {
  auto hours = Northshire();
  // Wednesday 07:00 GMT.
  EXPECT_EQ(Due(*hours, "2026-11-18T07:00:00Z", 4 * kHourMs), "2026-11-18T13:00:00Z");
}

TEST(OfficeHoursTest, ArrivalInTheEveningCountsFromNextMorning) {
  auto hours = Northshire();
  // Tuesday 20:00 GMT -> Wednesday 09:00 + 4h.
  EXPECT_EQ(Due(*hours, "2026-11-17T20:00:00Z", 4 * kHourMs), "2026-11-18T13:00:00Z");
}

TEST(OfficeHoursTest, ArrivalAtTheWeekendCountsFromMonday) {
  auto hours = Northshire();
  EXPECT_EQ(Due(*hours, "2026-11-21T12:00:00Z", 4 * kHourMs), "2026-11-23T13:00:00Z");
}

TEST(OfficeHoursTest, ChristmasSkipsChristmasDayTheWeekendAndBoxingDaySubstitute) {
  auto hours = Northshire();
  // Thursday 24th 15:00: two hours that day; Fri 25th holiday, weekend, Mon 28th holiday;
  // six hours on Tuesday 29th.
  EXPECT_EQ(Due(*hours, "2026-12-24T15:00:00Z", 8 * kHourMs), "2026-12-29T15:00:00Z");
}

TEST(OfficeHoursTest, UsingUpTheTimeExactlyAtClosingIsDueAtClosing) {
  auto hours = Northshire();
  // Not Monday 09:00: the hour is used up at Friday 17:00.
  EXPECT_EQ(Due(*hours, "2026-11-20T16:00:00Z", kHourMs), "2026-11-20T17:00:00Z");
}

TEST(OfficeHoursTest, ZeroOfficeTimeIsTheStartEvenWhenClosed) {
  auto hours = Northshire();
  EXPECT_EQ(Due(*hours, "2026-11-21T03:00:00Z", 0), "2026-11-21T03:00:00Z");
}

TEST(OfficeHoursTest, NegativeOfficeTimeIsAnError) {
  Result<TimeMs> due = Northshire()->AddOfficeTime(At("2026-11-20T16:00:00Z"), -kHourMs);
  ASSERT_FALSE(due.ok());
  EXPECT_EQ(due.status().code(), Code::kInvalidArgument);
}

TEST(OfficeHoursTest, IsOpenIsHalfOpenAtNineAndFive) {
  auto hours = Northshire();
  EXPECT_FALSE(hours->IsOpen(At("2026-11-18T08:59:59.999Z")));
  EXPECT_TRUE(hours->IsOpen(At("2026-11-18T09:00:00Z")));
  EXPECT_TRUE(hours->IsOpen(At("2026-11-18T16:59:59.999Z")));
  EXPECT_FALSE(hours->IsOpen(At("2026-11-18T17:00:00Z")));
  EXPECT_FALSE(hours->IsOpen(At("2026-11-21T12:00:00Z")));  // Saturday
  EXPECT_FALSE(hours->IsOpen(At("2026-12-28T12:00:00Z")));  // bank holiday Monday
}

// --- Summer time and the clock changes ---------------------------------------------------

TEST(OfficeHoursTest, SummerHoursAreLocalBritishSummerTime) {
  auto hours = Northshire();
  EXPECT_EQ(hours->OpenSpansOn(Day("2026-07-01")),
            (Spans{{At("2026-07-01T08:00:00Z"), At("2026-07-01T16:00:00Z")}}));
  EXPECT_FALSE(hours->IsOpen(At("2026-07-01T07:59:59Z")));
  EXPECT_TRUE(hours->IsOpen(At("2026-07-01T08:00:00Z")));
  EXPECT_TRUE(hours->IsOpen(At("2026-07-01T08:30:00Z")));
  EXPECT_TRUE(hours->IsOpen(At("2026-07-01T15:59:00Z")));
  EXPECT_FALSE(hours->IsOpen(At("2026-07-01T16:30:00Z")));  // 17:30 BST
}

TEST(OfficeHoursTest, LocalDayFollowsLondonNotUtc) {
  auto hours = Northshire();
  EXPECT_EQ(hours->LocalDay(At("2026-07-01T23:30:00Z")), Day("2026-07-02"));  // 00:30 BST
  EXPECT_EQ(hours->LocalDay(At("2026-11-20T23:30:00Z")), Day("2026-11-20"));  // GMT
  EXPECT_EQ(hours->LocalDay(At("1969-12-31T12:00:00Z")), -1);  // floors, not truncates
}

TEST(OfficeHoursTest, SpringForwardWeekendKeepsLocalNineToFive) {
  auto hours = Northshire();
  // Friday 16:00 GMT; clocks go forward Sunday 29 March; Monday opens 09:00 BST = 08:00Z.
  EXPECT_EQ(Due(*hours, "2026-03-27T16:00:00Z", 8 * kHourMs), "2026-03-30T15:00:00Z");
}

TEST(OfficeHoursTest, FallBackWeekendKeepsLocalNineToFive) {
  auto hours = Northshire();
  // Friday 16:00 BST; clocks go back Sunday 25 October; Monday opens 09:00 GMT = 09:00Z.
  EXPECT_EQ(Due(*hours, "2026-10-23T15:00:00Z", 8 * kHourMs), "2026-10-26T16:00:00Z");
}

TEST(OfficeHoursTest, SpanStartingInTheSkippedHourStartsWhenClocksJump) {
  std::vector<std::vector<DailySpan>> weekly(7);
  weekly[6] = {{90, 180}};  // Sunday 01:30-03:00 local
  auto hours = OfficeHours::Create("Europe/London", weekly, {});
  ASSERT_TRUE(hours.ok()) << hours.status().ToString();
  // 01:30 does not exist on 2026-03-29: the span starts at 02:00 BST = 01:00Z.
  EXPECT_EQ((*hours)->OpenSpansOn(Day("2026-03-29")),
            (Spans{{At("2026-03-29T01:00:00Z"), At("2026-03-29T02:00:00Z")}}));
  // A span wholly inside the skipped hour is no office time at all.
  weekly[6] = {{60, 90}, {180, 240}};
  hours = OfficeHours::Create("Europe/London", weekly, {});
  ASSERT_TRUE(hours.ok()) << hours.status().ToString();
  EXPECT_EQ((*hours)->OpenSpansOn(Day("2026-03-29")),
            (Spans{{At("2026-03-29T02:00:00Z"), At("2026-03-29T03:00:00Z")}}));
}

TEST(OfficeHoursTest, SpanAcrossTheRepeatedHourCountsRealTime) {
  std::vector<std::vector<DailySpan>> weekly(7);
  weekly[6] = {{90, 150}};  // Sunday 01:30-02:30 local
  auto hours = OfficeHours::Create("Europe/London", weekly, {});
  ASSERT_TRUE(hours.ok()) << hours.status().ToString();
  // 01:30 happens twice on 2026-10-25: the span starts at the first (BST, 00:30Z) and ends
  // at 02:30 GMT, two real hours later.
  EXPECT_EQ((*hours)->OpenSpansOn(Day("2026-10-25")),
            (Spans{{At("2026-10-25T00:30:00Z"), At("2026-10-25T02:30:00Z")}}));
}

// --- Emergency Duty Service: the complement ----------------------------------------------

TEST(OfficeHoursTest, EdsIsStaffedExactlyWhenTheOfficeIsNot) {
  auto office = Northshire();
  auto eds = Eds();
  for (std::string_view t :
       {"2026-11-21T12:00:00Z", "2026-12-28T12:00:00Z", "2026-11-17T02:00:00Z",
        "2026-11-17T20:00:00Z", "2026-11-17T10:00:00Z", "2026-07-01T08:30:00Z",
        "2026-07-01T16:30:00Z", "2026-03-29T01:30:00Z", "2026-10-25T01:30:00Z"}) {
    EXPECT_NE(office->IsOpen(At(t)), eds->IsOpen(At(t))) << t;
  }
  EXPECT_TRUE(eds->IsOpen(At("2026-11-21T12:00:00Z")));   // Saturday
  EXPECT_TRUE(eds->IsOpen(At("2026-12-28T12:00:00Z")));   // bank holiday
  EXPECT_TRUE(eds->IsOpen(At("2026-11-17T02:00:00Z")));   // weekday night
  EXPECT_TRUE(eds->IsOpen(At("2026-11-17T20:00:00Z")));   // weekday evening
  EXPECT_FALSE(eds->IsOpen(At("2026-11-17T10:00:00Z")));  // Tuesday 10:00
}

TEST(OfficeHoursTest, EdsBoundariesAreHalfOpen) {
  auto eds = Eds();
  EXPECT_TRUE(eds->IsOpen(At("2026-11-18T08:59:59.999Z")));
  EXPECT_FALSE(eds->IsOpen(At("2026-11-18T09:00:00Z")));
  EXPECT_FALSE(eds->IsOpen(At("2026-11-18T16:59:59.999Z")));
  EXPECT_TRUE(eds->IsOpen(At("2026-11-18T17:00:00Z")));
  EXPECT_FALSE(eds->IsOpen(At("2026-07-01T15:59:59.999Z")));  // 16:59 BST
  EXPECT_TRUE(eds->IsOpen(At("2026-07-01T16:00:00Z")));       // 17:00 BST
}

TEST(OfficeHoursTest, EdsTimeRunsAcrossMidnight) {
  auto eds = Eds();
  // Monday 16:00: EDS opens at 17:00.
  EXPECT_EQ(Due(*eds, "2026-11-23T16:00:00Z", 4 * kHourMs), "2026-11-23T21:00:00Z");
  // Monday 22:00 + 4h crosses local midnight without a gap.
  EXPECT_EQ(Due(*eds, "2026-11-23T22:00:00Z", 4 * kHourMs), "2026-11-24T02:00:00Z");
  // Friday 17:00 GMT to Monday 09:00 GMT is 64 staffed hours; the 65th starts when the
  // office closes on Monday.
  EXPECT_EQ(Due(*eds, "2026-11-20T17:00:00Z", 64 * kHourMs), "2026-11-23T09:00:00Z");
  EXPECT_EQ(Due(*eds, "2026-11-20T17:00:00Z", 65 * kHourMs), "2026-11-23T18:00:00Z");
}

TEST(OfficeHoursTest, EdsCountsRealHoursAcrossSpringForward) {
  auto eds = Eds();
  // Sunday 2026-03-29 has only 23 local hours, all staffed.
  EXPECT_EQ(eds->OpenSpansOn(Day("2026-03-29")),
            (Spans{{At("2026-03-29T00:00:00Z"), At("2026-03-29T23:00:00Z")}}));
  // Saturday 20:00 GMT + 8 real hours = 04:00Z (05:00 BST on the wall clock).
  EXPECT_EQ(Due(*eds, "2026-03-28T20:00:00Z", 8 * kHourMs), "2026-03-29T04:00:00Z");
}

TEST(OfficeHoursTest, EdsCountsRealHoursAcrossFallBack) {
  auto eds = Eds();
  // Sunday 2026-10-25 has 25 local hours.
  EXPECT_EQ(eds->OpenSpansOn(Day("2026-10-25")),
            (Spans{{At("2026-10-24T23:00:00Z"), At("2026-10-26T00:00:00Z")}}));
  // Saturday 20:00 BST + 8 real hours = 03:00Z (03:00 GMT on the wall clock, not 04:00).
  EXPECT_EQ(Due(*eds, "2026-10-24T19:00:00Z", 8 * kHourMs), "2026-10-25T03:00:00Z");
}

// --- Always ------------------------------------------------------------------------------

TEST(OfficeHoursTest, AlwaysIsOpenRoundTheClockOnUtcDays) {
  auto always = OfficeHours::Always();
  EXPECT_TRUE(always->IsOpen(At("2026-12-25T03:00:00Z")));
  EXPECT_EQ(Due(*always, "2026-11-21T23:50:00Z", 15 * kMinuteMs), "2026-11-22T00:05:00Z");
  EXPECT_EQ(always->LocalDay(At("2026-07-01T23:30:00Z")), Day("2026-07-01"));
  EXPECT_EQ(always->OpenSpansOn(Day("2026-07-01")),
            (Spans{{At("2026-07-01T00:00:00Z"), At("2026-07-02T00:00:00Z")}}));
}

// --- Configuration mistakes --------------------------------------------------------------

TEST(OfficeHoursTest, UnknownTimeZoneIsInvalidArgumentNamingTheZone) {
  auto hours = OfficeHours::Create("Europe/Northshire", Weekdays(kNineToFive), {});
  ASSERT_FALSE(hours.ok());
  EXPECT_EQ(hours.status().code(), Code::kInvalidArgument);
  EXPECT_NE(hours.status().message().find("Europe/Northshire"), std::string::npos)
      << hours.status().message();
}

TEST(OfficeHoursTest, MalformedSpansAreInvalidArgument) {
  const std::vector<std::vector<DailySpan>> bad_days[] = {
      Weekdays({17 * 60, 9 * 60}),                                        // begins after it ends
      Weekdays({9 * 60, 9 * 60}),                                         // empty
      Weekdays({-1, 60}),                                                 // before midnight
      Weekdays({23 * 60, 24 * 60 + 1}),                                   // past midnight
      {{{9 * 60, 13 * 60}, {12 * 60, 17 * 60}}, {}, {}, {}, {}, {}, {}},  // overlapping
      {{{14 * 60, 17 * 60}, {9 * 60, 12 * 60}}, {}, {}, {}, {}, {}, {}},  // out of order
      {{kNineToFive}, {kNineToFive}, {kNineToFive}, {kNineToFive}, {kNineToFive}, {}},  // 6
  };
  for (const auto& weekly : bad_days) {
    auto hours = OfficeHours::Create("Europe/London", weekly, {});
    ASSERT_FALSE(hours.ok());
    EXPECT_EQ(hours.status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(hours.status().violations().empty());
  }
}

TEST(OfficeHoursTest, TouchingSpansAndWholeDaysAreAccepted) {
  std::vector<std::vector<DailySpan>> weekly = {
      {{9 * 60, 12 * 60}, {12 * 60, 17 * 60}}, {{0, 24 * 60}}, {}, {}, {}, {}, {}};
  auto hours = OfficeHours::Create("Europe/London", weekly, {});
  ASSERT_TRUE(hours.ok()) << hours.status().ToString();
  // Monday 11:00 + 2h runs straight across the touching spans.
  EXPECT_EQ(Due(**hours, "2026-11-23T11:00:00Z", 2 * kHourMs), "2026-11-23T13:00:00Z");
}

TEST(OfficeHoursTest, CalendarThatNeverOpensFailsInsteadOfLooping) {
  auto never = OfficeHours::Create("Europe/London", std::vector<std::vector<DailySpan>>(7), {});
  ASSERT_TRUE(never.ok()) << never.status().ToString();
  Result<TimeMs> due = (*never)->AddOfficeTime(At("2026-11-20T16:00:00Z"), kHourMs);
  ASSERT_FALSE(due.ok());
  EXPECT_EQ(due.status().code(), Code::kInvalidArgument);

  Result<TimeMs> complement_due = OfficeHours::Complement(OfficeHours::Always())
                                      ->AddOfficeTime(At("2026-11-20T16:00:00Z"), kHourMs);
  ASSERT_FALSE(complement_due.ok());
  EXPECT_EQ(complement_due.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace dutyhub
