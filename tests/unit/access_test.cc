// Authorisation as a matrix: every principal of config/northshire.yaml against every
// operation, compared with what docs/northshire.md says, written out here by hand.
#include "broker/access.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "broker/config.h"

namespace dutyhub {
namespace {

using Names = std::set<std::string>;

const Names kInboxes = {"hv-north",     "hv-south",      "school-nursing",     "mash",
                        "perinatal-mh", "gp-J81012",     "gp-J81034",          "eds",
                        "hv-managers",  "mash-managers", "safeguarding-leads", "triage"};

// northshire.md, "People": member of, and manages.
const std::map<std::string, std::pair<Names, Names>> kPeople = {
    {"alice", {{"hv-north"}, {}}},
    {"bob", {{"hv-south"}, {}}},
    {"carol", {{"mash"}, {}}},
    {"sam", {{"school-nursing"}, {}}},
    {"priya", {{"perinatal-mh"}, {}}},
    {"gina", {{"gp-J81012", "gp-J81034"}, {}}},
    {"eddie", {{"eds"}, {}}},
    {"dan", {{"hv-managers"}, {"hv-north", "hv-south", "school-nursing"}}},
    {"erin", {{"mash-managers"}, {"mash", "eds"}}},
    {"frank", {{"safeguarding-leads"}, kInboxes}},
    {"tess", {{"triage"}, {}}},
};

// northshire.md, "Agencies".
const std::map<std::string, v1::Notification::Type> kAgencies = {
    {"gwh-ed", v1::Notification::HOSPITAL_LIAISON},
    {"gwh-scbu", v1::Notification::SCBU_DISCHARGE},
    {"northshire-mash", v1::Notification::MASH_REQUEST},
};

// samples/README.md: who sent each valid sample and where it went.
const std::vector<std::pair<std::string, Names>> kNotifications = {
    {"gwh-ed", {"hv-north", "mash"}},
    {"gwh-ed", {"school-nursing"}},
    {"northshire-mash", {"hv-south"}},
    {"northshire-mash", {"gp-J81034"}},
    {"gwh-scbu", {"hv-north", "gp-J81012", "perinatal-mh"}},
    {"gwh-scbu", {"triage"}},
    {"northshire-mash", {"triage"}},
};

class AccessMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
    ASSERT_TRUE(config.ok());
    config_ = *config;
  }
  std::vector<std::string> Principals() const {
    std::vector<std::string> out = {"mallory"};  // in no configuration
    for (const auto& [name, _] : kPeople) out.push_back(name);
    for (const auto& [name, _] : kAgencies) out.push_back(name);
    return out;
  }
  std::shared_ptr<const Config> config_;
};

TEST_F(AccessMatrix, EveryPrincipalAgainstEveryOperation) {
  AccessPolicy policy(*config_, /*insecure_dev=*/false);
  int decisions = 0;
  for (const std::string& who : Principals()) {
    SCOPED_TRACE(who);
    const bool person = kPeople.count(who) > 0;
    const Names member = person ? kPeople.at(who).first : Names{};
    const Names manages = person ? kPeople.at(who).second : Names{};
    for (auto type : {v1::Notification::HOSPITAL_LIAISON, v1::Notification::MASH_REQUEST,
                      v1::Notification::SCBU_DISCHARGE}) {
      bool expected = kAgencies.count(who) && kAgencies.at(who) == type;
      EXPECT_EQ(policy.Decide(who, Operation::kSend, {.type = type}).ok(), expected)
          << "send " << v1::Notification::Type_Name(type);
      ++decisions;
    }
    for (const std::string& inbox : kInboxes) {
      bool expected = member.count(inbox) || manages.count(inbox);
      for (Operation op : {Operation::kListInbox, Operation::kOpen, Operation::kAcknowledge,
                           Operation::kTransfer, Operation::kWatch}) {
        Status s = policy.Decide(who, op, {.inbox = inbox});
        EXPECT_EQ(s.ok(), expected) << inbox << " operation " << static_cast<int>(op);
        if (!expected) {
          EXPECT_EQ(s.code(), Code::kPermissionDenied);
        }
        ++decisions;
      }
      for (Operation op : {Operation::kOverdue, Operation::kReport, Operation::kAuditAccess}) {
        EXPECT_EQ(policy.Decide(who, op, {.inbox = inbox}).ok(), manages.count(inbox) > 0) << inbox;
        ++decisions;
      }
    }
    for (const auto& [sender, inboxes] : kNotifications) {
      bool expected = who == sender;
      for (const std::string& inbox : inboxes) expected = expected || manages.count(inbox);
      Target target{.sender = sender, .delivered_to = {inboxes.begin(), inboxes.end()}};
      EXPECT_EQ(policy.Decide(who, Operation::kStatus, target).ok(), expected)
          << "status of " << sender;
      ++decisions;
    }
    for (Operation op : {Operation::kOverdue, Operation::kReport, Operation::kAuditAccess}) {
      EXPECT_EQ(policy.Decide(who, op, {}).ok(), !manages.empty());
    }
    EXPECT_EQ(policy.Decide(who, Operation::kAdmin, {}).ok(), who == "frank") << "admin";
    decisions += 4;
  }
  EXPECT_EQ(decisions, 15 * (3 + 12 * 8 + 7 + 4));
}

TEST_F(AccessMatrix, DevelopmentModeLetsAnyoneKnownRunAdminCommandsAndNothingElseChanges) {
  AccessPolicy dev(*config_, /*insecure_dev=*/true);
  AccessPolicy real(*config_, /*insecure_dev=*/false);
  for (const std::string& who : Principals()) {
    EXPECT_EQ(dev.Decide(who, Operation::kAdmin, {}).ok(), who != "mallory") << who;
    for (const std::string& inbox : kInboxes) {
      EXPECT_EQ(dev.Decide(who, Operation::kOpen, {.inbox = inbox}).ok(),
                real.Decide(who, Operation::kOpen, {.inbox = inbox}).ok());
    }
  }
}

// A gateway (dutyhub-web) acts for people who signed in to it; nobody else may claim to.
TEST_F(AccessMatrix, OnlyAConfiguredGatewayActsOnBehalfOfSomeone) {
  AccessPolicy policy(*config_, /*insecure_dev=*/false);
  ASSERT_TRUE(policy.Known("web").ok());
  auto acting = policy.Acting("web", "alice");
  ASSERT_TRUE(acting.ok());
  EXPECT_EQ(*acting, "alice");
  EXPECT_EQ(*policy.Acting("alice", ""), "alice");  // nobody named: itself
  for (const std::string& who : Principals()) {
    // A person or agency claiming to act for someone else is refused, whoever it names.
    auto claimed = policy.Acting(who, "frank");
    EXPECT_FALSE(claimed.ok()) << who;
    EXPECT_EQ(claimed.status().code(), Code::kPermissionDenied);
  }
  EXPECT_FALSE(policy.Acting("web", "web").ok()) << "a gateway for a gateway";
  EXPECT_FALSE(policy.Acting("web", "mallory").ok()) << "a stranger";
}

TEST_F(AccessMatrix, ThroughAGatewayPeopleDoAllButAdministrationAndAgenciesOnlyReadStatus) {
  AccessPolicy policy(*config_, /*insecure_dev=*/false);
  const std::vector<Operation> all = {
      Operation::kSend,     Operation::kListInbox,   Operation::kOpen,   Operation::kAcknowledge,
      Operation::kTransfer, Operation::kWatch,       Operation::kStatus, Operation::kOverdue,
      Operation::kReport,   Operation::kAuditAccess, Operation::kAdmin,  Operation::kMetrics};
  for (Operation op : all) {
    const bool admin = op == Operation::kAdmin || op == Operation::kMetrics;
    EXPECT_EQ(policy.ThroughGateway("frank", op).ok(), !admin) << static_cast<int>(op);
    EXPECT_EQ(policy.ThroughGateway("alice", op).ok(), !admin) << static_cast<int>(op);
    EXPECT_EQ(policy.ThroughGateway("gwh-ed", op).ok(), op == Operation::kStatus)
        << static_cast<int>(op);
  }
  // The gateway itself: the counters and the events' ids, never an item, never a publish.
  EXPECT_TRUE(policy.Decide("web", Operation::kMetrics, {}).ok());
  EXPECT_TRUE(policy.Decide("frank", Operation::kMetrics, {}).ok());
  EXPECT_FALSE(policy.Decide("alice", Operation::kMetrics, {}).ok());
  EXPECT_FALSE(
      policy.Decide("web", Operation::kSend, {.type = v1::Notification::HOSPITAL_LIAISON}).ok());
  EXPECT_FALSE(policy.Decide("web", Operation::kAdmin, {}).ok());
  for (const std::string& inbox : kInboxes) {
    for (Operation op :
         {Operation::kListInbox, Operation::kOpen, Operation::kAcknowledge, Operation::kTransfer}) {
      EXPECT_FALSE(policy.Decide("web", op, {.inbox = inbox}).ok()) << inbox;
    }
    // Its own watch on every inbox feeds the live pages (events are ids only).
    EXPECT_TRUE(policy.Decide("web", Operation::kWatch, {.inbox = inbox}).ok()) << inbox;
  }
}

}  // namespace
}  // namespace dutyhub
