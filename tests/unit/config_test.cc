// config/northshire.yaml expresses docs/northshire.md exactly, and mistakes in a
// configuration are reported with file, line and key.
#include "broker/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "broker/coverage.h"
#include "broker/time_text.h"

namespace dutyhub {
namespace {

using Names = std::set<std::string>;

std::string NorthshireText() {
  std::ifstream in(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<const Config> Northshire() {
  auto config = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : nullptr;
}

// The configuration with `from` replaced by `to` (once), parsed as "test.yaml".
Status Broken(const std::string& from, const std::string& to) {
  std::string text = NorthshireText();
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  auto config = ParseConfig(text, "test.yaml");
  return config.ok() ? Status::Ok() : config.status();
}

int LineOf(const std::string& needle) {
  std::string text = NorthshireText();
  size_t at = text.find(needle);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

TEST(NorthshireConfig, AgenciesSendOnlyTheirTypes) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->agencies.size(), 3u);
  EXPECT_EQ(c->FindAgency("gwh-ed")->sends, (std::set{v1::Notification::HOSPITAL_LIAISON}));
  EXPECT_EQ(c->FindAgency("gwh-scbu")->sends, (std::set{v1::Notification::SCBU_DISCHARGE}));
  EXPECT_EQ(c->FindAgency("northshire-mash")->sends, (std::set{v1::Notification::MASH_REQUEST}));
}

TEST(NorthshireConfig, InboxesAndTheirManagersInboxes) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  Names inboxes;
  for (const auto& [id, inbox] : c->inboxes) inboxes.insert(id);
  EXPECT_EQ(inboxes, (Names{"hv-north", "hv-south", "school-nursing", "mash", "perinatal-mh",
                            "gp-J81012", "gp-J81034", "eds", "hv-managers", "mash-managers",
                            "safeguarding-leads", "triage"}));
  for (const char* hv : {"hv-north", "hv-south", "school-nursing"}) {
    EXPECT_EQ(c->FindInbox(hv)->managers_inbox, "hv-managers") << hv;
  }
  EXPECT_EQ(c->FindInbox("mash")->managers_inbox, "mash-managers");
  EXPECT_EQ(c->FindInbox("eds")->managers_inbox, "mash-managers");
  for (const char* other : {"perinatal-mh", "gp-J81012", "gp-J81034", "hv-managers",
                            "mash-managers", "safeguarding-leads", "triage"}) {
    EXPECT_EQ(c->FindInbox(other)->managers_inbox, "safeguarding-leads") << other;
  }
}

TEST(NorthshireConfig, OfficeHoursAndTheEmergencyDutyService) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  TimeMs monday_10 = *ParseTimestamp("2026-11-23T10:00:00Z");
  TimeMs monday_20 = *ParseTimestamp("2026-11-23T20:00:00Z");
  TimeMs boxing_day_observed = *ParseTimestamp("2026-12-28T10:00:00Z");
  for (const auto& [id, inbox] : c->inboxes) {
    bool is_eds = id == "eds";
    EXPECT_EQ(inbox.office_hours->IsOpen(monday_10), !is_eds) << id;
    EXPECT_EQ(inbox.office_hours->IsOpen(monday_20), is_eds) << id;
    EXPECT_EQ(inbox.office_hours->IsOpen(boxing_day_observed), is_eds) << id;
  }
}

TEST(NorthshireConfig, PeopleAreMembersAndManagersAsThePageSays) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->users.size(), 11u);
  EXPECT_EQ(c->FindUser("alice")->member_of, (Names{"hv-north"}));
  EXPECT_EQ(c->FindUser("gina")->member_of, (Names{"gp-J81012", "gp-J81034"}));
  EXPECT_EQ(c->FindUser("dan")->manages, (Names{"hv-north", "hv-south", "school-nursing"}));
  EXPECT_EQ(c->FindUser("erin")->manages, (Names{"mash", "eds"}));
  EXPECT_EQ(c->FindUser("frank")->manages.size(), c->inboxes.size()) << "frank manages every inbox";
  EXPECT_TRUE(c->MayActOn("alice", "hv-north"));
  EXPECT_FALSE(c->MayActOn("alice", "hv-south"));
  EXPECT_TRUE(c->MayActOn("dan", "hv-south"));
  EXPECT_FALSE(c->MayActOn("dan", "mash"));
  EXPECT_TRUE(c->MayActOn("frank", "triage"));
  EXPECT_FALSE(c->MayActOn("tess", "hv-north"));
  EXPECT_FALSE(c->MayActOn("gwh-ed", "hv-north"));
}

TEST(NorthshireConfig, DuePolicies) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->due.at(v1::Notification::IMMEDIATE).after, 15 * kMinuteMs);
  EXPECT_FALSE(c->due.at(v1::Notification::IMMEDIATE).office_time);
  EXPECT_EQ(c->due.at(v1::Notification::URGENT).after, 4 * kHourMs);
  EXPECT_TRUE(c->due.at(v1::Notification::URGENT).office_time);
  EXPECT_EQ(c->due.at(v1::Notification::ROUTINE).after, 8 * kHourMs);
  EXPECT_TRUE(c->due.at(v1::Notification::ROUTINE).office_time);
  EXPECT_EQ(c->routing.fallback_inbox, "triage");
}

TEST(NorthshireConfig, EscalationLaddersAsTheTableSays) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  const auto& immediate = c->escalation.at(v1::Notification::IMMEDIATE);
  ASSERT_EQ(immediate.levels.size(), 2u);
  EXPECT_EQ(immediate.levels[0].wait.after, 0);
  EXPECT_EQ(immediate.levels[1].wait.after, 15 * kMinuteMs);
  EXPECT_FALSE(immediate.levels[1].wait.office_time);
  EXPECT_EQ(immediate.repeat.after, 30 * kMinuteMs);
  EXPECT_EQ(immediate.when_office_closes, "eds");
  const auto& urgent = c->escalation.at(v1::Notification::URGENT);
  EXPECT_EQ(urgent.levels[1].wait.after, 4 * kHourMs);
  EXPECT_TRUE(urgent.levels[1].wait.office_time);
  EXPECT_EQ(urgent.repeat.after, 4 * kHourMs);
  const auto& routine = c->escalation.at(v1::Notification::ROUTINE);
  EXPECT_EQ(routine.levels[1].wait.after, 8 * kHourMs);
  EXPECT_EQ(routine.repeat.after, 8 * kHourMs);
  EXPECT_TRUE(routine.repeat.office_time);
  EXPECT_EQ(c->EscalationTarget(v1::Notification::ROUTINE, "school-nursing", 1), "hv-managers");
  EXPECT_EQ(c->EscalationTarget(v1::Notification::ROUTINE, "eds", 1), "mash-managers");
  EXPECT_EQ(c->EscalationTarget(v1::Notification::ROUTINE, "gp-J81012", 1), "safeguarding-leads");
  EXPECT_EQ(c->EscalationTarget(v1::Notification::URGENT, "hv-north", 2), "safeguarding-leads");
}

TEST(NorthshireConfig, EveryHourOfTheWeekHasSomeoneOnDutyForImmediateItems) {
  auto c = Northshire();
  ASSERT_TRUE(c);
  EXPECT_EQ(FindImmediateGaps(*c, *ParseTimestamp("2026-11-23T00:00:00Z")),
            std::vector<std::string>{});
}

TEST(ConfigCheck, AGapInCoverIsReported) {
  // An Emergency Duty Service that works weekends only leaves weekday nights uncovered.
  std::string text = NorthshireText();
  text.replace(text.find("    complement_of: office"),
               std::string("    complement_of: office").size(),
               "    weekly: {saturday: [\"00:00-24:00\"], sunday: [\"00:00-24:00\"]}");
  auto config = ParseConfig(text, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto gaps = FindImmediateGaps(**config, *ParseTimestamp("2026-11-23T00:00:00Z"));
  ASSERT_FALSE(gaps.empty());
  bool monday_night = false;
  for (const auto& gap : gaps) {
    monday_night = monday_night ||
                   gap ==
                       "hv-north: nobody on duty for an IMMEDIATE item from Mon 23 Nov 17:00 GMT "
                       "to Tue 24 Nov 09:00 GMT";
  }
  EXPECT_TRUE(monday_night) << gaps.front();
  // Christmas Day 2026 is a Friday: nobody at all.
  bool christmas = false;
  for (const auto& gap : gaps)
    christmas = christmas || gap.find("Fri 25 Dec 00:00") != std::string::npos;
  EXPECT_TRUE(christmas);
}

TEST(NorthshireConfig, TheWebPagesAreTheOneGateway) {
  auto c = Northshire();
  ASSERT_EQ(c->gateways.size(), 1u);
  EXPECT_NE(c->FindGateway("web"), nullptr);
  EXPECT_EQ(c->FindGateway("alice"), nullptr);
}

TEST(ConfigErrors, AGatewayMayNotShareAPersonsName) {
  Status s = Broken("  web: {name:", "  alice: {name:");
  EXPECT_NE(s.message().find("gateways.alice"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("already"), std::string::npos) << s.message();
  EXPECT_NE(Broken("  web: {name:", "  web: {nmae:").message().find("unknown key"),
            std::string::npos);
}

// Below the largest notification validation passes (and room for the request around it),
// the broker's socket would drop valid forms unanswered.
TEST(ConfigErrors, AMessageBoundTooSmallForAValidFormIsRefused) {
  Status s = Broken("max_message_bytes: 1048576", "max_message_bytes: 65536");
  EXPECT_NE(s.message().find("broker.max_message_bytes"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("between 1048576"), std::string::npos) << s.message();
  EXPECT_TRUE(Broken("max_message_bytes: 1048576", "max_message_bytes: 2097152").ok());
}

TEST(ConfigErrors, NameFileLineAndKey) {
  Status s = Broken("alice: {role: health visitor, member_of: [hv-north]}",
                    "alice: {role: health visitor, member_of: [hv-nrth]}");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("test.yaml:" + std::to_string(LineOf("alice: {role"))),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("users.alice.member_of"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hv-nrth"), std::string::npos) << s.message();
}

TEST(ConfigErrors, UnknownReferencesAndKeys) {
  EXPECT_NE(Broken("deliver: [mash]", "deliver: [mash-duty]")
                .message()
                .find("routing.rules[2].deliver[0]"),
            std::string::npos);
  EXPECT_NE(Broken("sends: [HOSPITAL_LIAISON]", "sends: [HOSPITAL_LETTER]")
                .message()
                .find("agencies.gwh-ed.sends[0]"),
            std::string::npos);
  EXPECT_NE(Broken("office_hours: office\n    managers_inbox: hv-managers",
                   "office_hours: offices\n    managers_inbox: hv-managers")
                .message()
                .find("office_hours"),
            std::string::npos);
  EXPECT_NE(Broken("fallback_inbox: triage", "fallback_inbox: nowhere")
                .message()
                .find("routing.fallback_inbox"),
            std::string::npos);
  EXPECT_NE(Broken("mash_request.requested_service: GP}", "mash_request.requested_servce: GP}")
                .message()
                .find("requested_servce"),
            std::string::npos);
  EXPECT_NE(
      Broken("mash_request.requested_service: GP}", "mash_request.requested_service: DENTIST}")
          .message()
          .find("DENTIST"),
      std::string::npos);
  EXPECT_NE(Broken("time_zone: Europe/London", "time_zone: Europe/Londres")
                .message()
                .find("Europe/Londres"),
            std::string::npos);
  EXPECT_NE(Broken("monday: [\"09:00-17:00\"]", "monday: [\"17:00-09:00\"]")
                .message()
                .find("calendars.office.weekly.monday[0]"),
            std::string::npos);
  EXPECT_NE(Broken("partnership:", "partnershp:").message().find("unknown key"), std::string::npos);
  EXPECT_NE(Broken("URGENT: {after: 4h", "URGENT: {after: soon").message().find("due.URGENT.after"),
            std::string::npos);
  EXPECT_NE(Broken("{to: safeguarding-leads, after: 15m", "{to: leads, after: 15m")
                .message()
                .find("escalation.IMMEDIATE.levels[1].to"),
            std::string::npos);
  EXPECT_NE(Broken("repeat: {every: 30m", "repeat: {every: 0m")
                .message()
                .find("escalation.IMMEDIATE.repeat"),
            std::string::npos);
  EXPECT_FALSE(ParseConfig("inboxes: [", "bad.yaml").ok());
  EXPECT_NE(ParseConfig("inboxes: [", "bad.yaml").status().message().find("bad.yaml:"),
            std::string::npos);
  EXPECT_FALSE(LoadConfig("/nonexistent/northshire.yaml").ok());
}

}  // namespace
}  // namespace dutyhub
