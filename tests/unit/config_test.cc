// config/northshire.yaml expresses docs/northshire.md exactly, and mistakes in a
// configuration are reported with file, line and key.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "broker/config.h"
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
  for (const char* other : {"perinatal-mh", "gp-J81012", "gp-J81034", "hv-managers", "mash-managers",
                            "safeguarding-leads", "triage"}) {
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

TEST(ConfigErrors, NameFileLineAndKey) {
  Status s = Broken("alice: {role: health visitor, member_of: [hv-north]}",
                    "alice: {role: health visitor, member_of: [hv-nrth]}");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("test.yaml:" + std::to_string(LineOf("alice: {role"))), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("users.alice.member_of"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hv-nrth"), std::string::npos) << s.message();
}

TEST(ConfigErrors, UnknownReferencesAndKeys) {
  EXPECT_NE(Broken("deliver: [mash]", "deliver: [mash-duty]").message().find("routing.rules[2].deliver[0]"),
            std::string::npos);
  EXPECT_NE(Broken("sends: [HOSPITAL_LIAISON]", "sends: [HOSPITAL_LETTER]").message().find("agencies.gwh-ed.sends[0]"),
            std::string::npos);
  EXPECT_NE(Broken("office_hours: office\n    managers_inbox: hv-managers",
                   "office_hours: offices\n    managers_inbox: hv-managers").message().find("office_hours"),
            std::string::npos);
  EXPECT_NE(Broken("fallback_inbox: triage", "fallback_inbox: nowhere").message().find("routing.fallback_inbox"),
            std::string::npos);
  EXPECT_NE(Broken("mash_request.requested_service: GP}", "mash_request.requested_servce: GP}").message().find("requested_servce"),
            std::string::npos);
  EXPECT_NE(Broken("mash_request.requested_service: GP}", "mash_request.requested_service: DENTIST}").message().find("DENTIST"),
            std::string::npos);
  EXPECT_NE(Broken("time_zone: Europe/London", "time_zone: Europe/Londres").message().find("Europe/Londres"),
            std::string::npos);
  EXPECT_NE(Broken("monday: [\"09:00-17:00\"]", "monday: [\"17:00-09:00\"]").message().find("calendars.office.weekly.monday[0]"),
            std::string::npos);
  EXPECT_NE(Broken("partnership:", "partnershp:").message().find("unknown key"), std::string::npos);
  EXPECT_NE(Broken("URGENT: {after: 4h", "URGENT: {after: soon").message().find("due.URGENT.after"),
            std::string::npos);
  EXPECT_FALSE(ParseConfig("inboxes: [", "bad.yaml").ok());
  EXPECT_NE(ParseConfig("inboxes: [", "bad.yaml").status().message().find("bad.yaml:"), std::string::npos);
  EXPECT_FALSE(LoadConfig("/nonexistent/northshire.yaml").ok());
}

}  // namespace
}  // namespace dutyhub
