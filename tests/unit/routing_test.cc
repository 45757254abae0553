// Northshire's routing rules 1-8 and the due times of northshire.md, against the
// configuration in config/northshire.yaml.
#include "broker/routing.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "broker/config.h"
#include "broker/time_text.h"
#include "broker/validation.h"
#include "tests/unit/samples.h"

namespace dutyhub {
namespace {

using Inboxes = std::vector<std::string>;

using testing::At;
using testing::Sample;

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    config_ = *loaded;
  }

  // Monday 23 November 2026, 11:00 GMT: office hours.
  RoutePlan RouteInHours(const v1::Notification& n) {
    return Route(*config_, n, At("2026-11-23T11:00:00Z"));
  }

  std::shared_ptr<const Config> config_;
};

TEST_F(RoutingTest, Rule1HospitalLiaisonUnderFiveGoesToTheAreasHealthVisitors) {
  v1::Notification n = Sample("hospital-liaison-non-mobile-injury.json");
  n.clear_concerns();
  n.mutable_hospital_liaison()->set_child_independently_mobile(true);
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north"}));
  n.set_area("south");
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-south"}));
  // Four years and 364 days old is still under five.
  n.mutable_child()->set_date_of_birth("2021-11-24");
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-south"}));
  n.mutable_child()->set_date_of_birth("2021-11-23");  // fifth birthday on created_at's date
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"school-nursing"}));
}

TEST_F(RoutingTest, Rule1AgeIsCountedOnTheSendersCalendar) {
  v1::Notification n = Sample("hospital-liaison-school-age.json");
  n.mutable_child()->set_date_of_birth("2021-11-23");
  // 00:30 on the fifth birthday where the sender is (UTC+1); still the 22nd in UTC.
  n.set_created_at("2026-11-23T00:30:00+01:00");
  EXPECT_EQ(ChildAgeYears(n), 5);
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"school-nursing"}));
  n.set_created_at("2026-11-22T23:30:00Z");
  EXPECT_EQ(ChildAgeYears(n), 4);
}

TEST_F(RoutingTest, Rule1UnbornGoesToTheAreasHealthVisitors) {
  v1::Notification n = Sample("hospital-liaison-school-age.json");
  n.mutable_child()->clear_date_of_birth();
  n.mutable_child()->set_expected_delivery_date("2027-01-10");
  n.set_area("north");
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north"}));
}

TEST_F(RoutingTest, Rule1SchoolAgeGoesToSchoolNursingAndAdultsToTriage) {
  v1::Notification n = Sample("hospital-liaison-school-age.json");
  RoutePlan plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"school-nursing"}));
  EXPECT_EQ(plan.priority, v1::Notification::ROUTINE);
  n.mutable_child()->set_date_of_birth("2008-11-23");  // 18 on the day: no longer a child
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"triage"}));
}

TEST_F(RoutingTest, Rule2NonMobileInjuryOrBrueAlsoGoesToTheMashAtLeastImmediate) {
  v1::Notification n = Sample("hospital-liaison-non-mobile-injury.json");
  RoutePlan plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "mash"}));
  EXPECT_EQ(plan.priority, v1::Notification::IMMEDIATE);

  // BRUE as a concern, no injury.
  n.clear_concerns();
  n.add_concerns(v1::Notification::BRUE);
  n.mutable_hospital_liaison()->set_injury_present(false);
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north", "mash"}));

  // The form's BRUE box ticked without the concern: the MASH all the same.
  n.clear_concerns();
  n.mutable_hospital_liaison()->set_injury_present(false);
  n.mutable_hospital_liaison()->set_brue(true);
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north", "mash"}));
  n.mutable_hospital_liaison()->set_brue(false);

  // An injury to a child who is not independently mobile, no concern ticked.
  n.clear_concerns();
  n.mutable_hospital_liaison()->set_injury_present(true);
  n.mutable_hospital_liaison()->set_child_independently_mobile(false);
  plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "mash"}));
  EXPECT_EQ(plan.priority, v1::Notification::IMMEDIATE);

  // The same injury in a child who cruises: no MASH, priority as sent.
  n.mutable_hospital_liaison()->set_child_independently_mobile(true);
  plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north"}));
  EXPECT_EQ(plan.priority, v1::Notification::URGENT);
}

TEST_F(RoutingTest, Rule3MashRequestsGoByRequestedService) {
  v1::Notification n = Sample("mash-request-home-visit.json");
  auto route_service = [&](v1::MashRequest::Service service) {
    n.mutable_mash_request()->set_requested_service(service);
    return RouteInHours(n).inboxes;
  };
  EXPECT_EQ(route_service(v1::MashRequest::HEALTH_VISITING), (Inboxes{"hv-south"}));
  EXPECT_EQ(route_service(v1::MashRequest::SCHOOL_NURSING), (Inboxes{"school-nursing"}));
  EXPECT_EQ(route_service(v1::MashRequest::GP), (Inboxes{"gp-J81034"}));
  EXPECT_EQ(route_service(v1::MashRequest::ADULT_MENTAL_HEALTH), (Inboxes{"perinatal-mh"}));
  // Rule 7: no rule places midwifery, police or education.
  EXPECT_EQ(route_service(v1::MashRequest::MIDWIFERY), (Inboxes{"triage"}));
  EXPECT_EQ(route_service(v1::MashRequest::POLICE), (Inboxes{"triage"}));
  // A GP request for a child with no practice code: nothing placed it, so triage.
  n.mutable_child()->clear_gp_practice_code();
  EXPECT_EQ(route_service(v1::MashRequest::GP), (Inboxes{"triage"}));
  EXPECT_EQ(RouteInHours(Sample("mash-request-gp-information.json")).inboxes,
            (Inboxes{"gp-J81034"}));
}

TEST_F(RoutingTest, Rule4ScbuDischargeGoesToHealthVisitorsAndTheGpWhenThereIsOne) {
  v1::Notification n = Sample("scbu-discharge-mental-health-no-meeting.json");
  n.mutable_scbu_discharge()->set_maternal_mental_health_concern(false);
  RoutePlan plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "gp-J81012"}));
  EXPECT_EQ(plan.priority, v1::Notification::ROUTINE);
  n.mutable_child()->clear_gp_practice_code();
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north"}));
}

TEST_F(RoutingTest, Rule5MentalHealthConcernAddsPerinatalAndNoMeetingRaisesToUrgent) {
  v1::Notification n = Sample("scbu-discharge-mental-health-no-meeting.json");
  RoutePlan plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "gp-J81012", "perinatal-mh"}));
  EXPECT_EQ(plan.priority, v1::Notification::URGENT);

  n.mutable_scbu_discharge()->set_discharge_planning_meeting_held(true);
  plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "gp-J81012", "perinatal-mh"}));
  EXPECT_EQ(plan.priority, v1::Notification::ROUTINE);

  n.mutable_scbu_discharge()->set_discharge_planning_meeting_held(false);
  n.mutable_scbu_discharge()->set_maternal_mental_health_concern(false);
  n.mutable_scbu_discharge()->set_paternal_mental_health_concern(true);
  plan = RouteInHours(n);
  EXPECT_EQ(plan.inboxes, (Inboxes{"hv-north", "gp-J81012", "perinatal-mh"}));
  EXPECT_EQ(plan.priority, v1::Notification::URGENT);

  // Raised, never lowered.
  n.set_priority(v1::Notification::IMMEDIATE);
  EXPECT_EQ(RouteInHours(n).priority, v1::Notification::IMMEDIATE);
}

TEST_F(RoutingTest, Rule6AnInboxThatDoesNotExistSendsThatCopyToTriage) {
  RoutePlan plan = RouteInHours(Sample("scbu-discharge-unknown-area.json"));
  EXPECT_EQ(plan.inboxes, (Inboxes{"triage"}));
  EXPECT_EQ(plan.unknown_inboxes, (Inboxes{"hv-west"}));
  // An unknown practice beside a known area: that copy only goes to triage.
  v1::Notification n = Sample("scbu-discharge-mental-health-no-meeting.json");
  n.mutable_child()->set_gp_practice_code("J99999");
  EXPECT_EQ(RouteInHours(n).inboxes, (Inboxes{"hv-north", "triage", "perinatal-mh"}));
}

TEST_F(RoutingTest, Rule7NothingPlacedGoesToTriage) {
  EXPECT_EQ(RouteInHours(Sample("mash-request-unborn-midwifery.json")).inboxes,
            (Inboxes{"triage"}));
}

TEST_F(RoutingTest, Rule8ImmediateOutOfHoursAlsoGoesToTheEmergencyDutyService) {
  v1::Notification n = Sample("hospital-liaison-non-mobile-injury.json");
  EXPECT_EQ(Route(*config_, n, At("2026-11-23T16:59:00Z")).inboxes, (Inboxes{"hv-north", "mash"}));
  EXPECT_EQ(Route(*config_, n, At("2026-11-23T17:00:00Z")).inboxes,
            (Inboxes{"hv-north", "mash", "eds"}));
  EXPECT_EQ(Route(*config_, n, At("2026-11-24T08:59:00Z")).inboxes,
            (Inboxes{"hv-north", "mash", "eds"}));
  EXPECT_EQ(Route(*config_, n, At("2026-11-28T11:00:00Z")).inboxes,  // Saturday
            (Inboxes{"hv-north", "mash", "eds"}));
  EXPECT_EQ(Route(*config_, n, At("2026-12-25T11:00:00Z")).inboxes,  // Christmas Day
            (Inboxes{"hv-north", "mash", "eds"}));
  // In summer the office closes at 17:00 BST, which is 16:00 UTC.
  EXPECT_EQ(Route(*config_, n, At("2026-07-01T16:30:00Z")).inboxes,
            (Inboxes{"hv-north", "mash", "eds"}));
  EXPECT_EQ(Route(*config_, n, At("2026-07-01T15:30:00Z")).inboxes, (Inboxes{"hv-north", "mash"}));
  // Only IMMEDIATE: an urgent discharge note out of hours waits for the office.
  v1::Notification urgent = Sample("scbu-discharge-mental-health-no-meeting.json");
  EXPECT_EQ(Route(*config_, urgent, At("2026-11-23T20:00:00Z")).inboxes,
            (Inboxes{"hv-north", "gp-J81012", "perinatal-mh"}));
}

class DueTest : public RoutingTest {
 protected:
  std::string Due(const std::string& inbox, v1::Notification::Priority p, const char* arrival,
                  const v1::Notification& n = v1::Notification()) {
    Result<TimeMs> due = DueAt(*config_, inbox, p, n, At(arrival));
    EXPECT_TRUE(due.ok()) << due.status().ToString();
    return due.ok() ? FormatTimestamp(*due) : "";
  }
};

TEST_F(DueTest, ImmediateIsFifteenMinutesRoundTheClock) {
  EXPECT_EQ(Due("hv-north", v1::Notification::IMMEDIATE, "2026-11-29T03:00:00Z"),
            "2026-11-29T03:15:00Z");
  EXPECT_EQ(Due("eds", v1::Notification::IMMEDIATE, "2026-11-23T10:00:00Z"),
            "2026-11-23T10:15:00Z");
}

TEST_F(DueTest, RoutineIsOneOfficeDayAcrossTheWeekendAndBankHolidays) {
  // Friday 16:00 -> Monday 16:00.
  EXPECT_EQ(Due("hv-north", v1::Notification::ROUTINE, "2026-11-20T16:00:00Z"),
            "2026-11-23T16:00:00Z");
  // Friday 16:00 BST before the spring bank holiday Monday -> Tuesday 16:00 BST.
  EXPECT_EQ(Due("hv-north", v1::Notification::ROUTINE, "2027-05-28T15:00:00Z"),
            "2027-06-01T15:00:00Z");
  // Christmas Eve 15:00: Friday 25th and Monday 28th are bank holidays.
  EXPECT_EQ(Due("triage", v1::Notification::ROUTINE, "2026-12-24T15:00:00Z"),
            "2026-12-29T15:00:00Z");
  // Arriving in the evening: the office day starts next morning.
  EXPECT_EQ(Due("hv-south", v1::Notification::ROUTINE, "2026-11-24T20:00:00Z"),
            "2026-11-25T17:00:00Z");
}

TEST_F(DueTest, UrgentIsFourOfficeHoursAcrossBothClockChanges) {
  EXPECT_EQ(Due("mash", v1::Notification::URGENT, "2026-11-23T15:00:00Z"), "2026-11-24T11:00:00Z");
  // Spring forward (Sunday 29 March 2026): Friday 15:00 GMT + 4h -> Monday 11:00 BST = 10:00Z.
  EXPECT_EQ(Due("mash", v1::Notification::URGENT, "2026-03-27T15:00:00Z"), "2026-03-30T10:00:00Z");
  // Fall back (Sunday 25 October 2026): Friday 15:00 BST (14:00Z) + 4h -> Monday 11:00 GMT.
  EXPECT_EQ(Due("mash", v1::Notification::URGENT, "2026-10-23T14:00:00Z"), "2026-10-26T11:00:00Z");
}

TEST_F(DueTest, AMashRequestIsDueNoLaterThanItsRespondBy) {
  v1::Notification n = Sample("mash-request-home-visit.json");  // respond_by Tue 09:05Z
  EXPECT_EQ(Due("hv-south", v1::Notification::URGENT, "2026-11-23T16:00:00Z", n),
            "2026-11-24T09:05:00Z");
  // An earlier due time is kept.
  EXPECT_EQ(Due("hv-south", v1::Notification::IMMEDIATE, "2026-11-23T16:00:00Z", n),
            "2026-11-23T16:15:00Z");
}

TEST_F(DueTest, EdsCountsItsOwnOutOfHoursTime) {
  // Friday 17:00 GMT: EDS staffed all weekend, so 4 EDS hours later is 21:00 Friday.
  EXPECT_EQ(Due("eds", v1::Notification::URGENT, "2026-11-20T17:00:00Z"), "2026-11-20T21:00:00Z");
  // Monday 10:00 in office hours: EDS time starts at 17:00.
  EXPECT_EQ(Due("eds", v1::Notification::URGENT, "2026-11-23T10:00:00Z"), "2026-11-23T21:00:00Z");
}

}  // namespace
}  // namespace dutyhub
