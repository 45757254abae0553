// The escalation ladders of docs/northshire.md, step by step on a simulated clock: the
// store, the routing and the engine as the broker's writer drives them, never sleeping.
#include "broker/escalation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "broker/config.h"
#include "broker/routing.h"
#include "broker/time_text.h"
#include "broker/validation.h"
#include "tests/unit/samples.h"

namespace dutyhub {
namespace {

using testing::At;
using testing::Sample;

class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ =
        std::filesystem::temp_directory_path() / ("dutyhub-escalation-" + std::to_string(device()));
    std::filesystem::create_directories(dir_);
    auto config = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // As after a restart: a new connection and a new engine; only the store remembers.
  void Reopen() {
    store_.reset();
    auto store = Store::Open((dir_ / "store.sqlite").string(), true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    engine_ = std::make_unique<EscalationEngine>(config_, ids_);
  }

  // Publishes as the broker does: route, deadlines, one transaction. Returns inbox ->
  // delivery id.
  std::map<std::string, std::string> Publish(v1::Notification n, const char* at,
                                             const std::string& id = "") {
    now_ = At(at);
    if (!id.empty()) n.set_id(id);
    RoutePlan plan = Route(*config_, n, now_);
    n.set_priority(plan.priority);
    std::vector<NewDelivery> deliveries;
    std::map<std::string, std::string> out;
    for (const auto& inbox : plan.inboxes) {
      auto item = engine_->NewItem(inbox, plan.priority, n, now_);
      EXPECT_TRUE(item.ok()) << item.status().ToString();
      deliveries.push_back(*item);
      out[inbox] = item->delivery_id;
    }
    EXPECT_TRUE(store_->Begin().ok());
    EXPECT_TRUE(store_->InsertNotification("gwh-ed", n, now_, deliveries).ok());
    EXPECT_TRUE(store_->Commit().ok());
    return out;
  }

  // Moves the clock and lets the engine take every step due, as the writer does.
  void AdvanceTo(const char* at) { AdvanceTo(At(at)); }
  void AdvanceTo(TimeMs t) {
    ASSERT_GE(t, now_);
    now_ = t;
    ASSERT_TRUE(store_->Begin().ok());
    while (true) {
      Result<int> steps = engine_->RunDue(*store_, now_, 100);
      ASSERT_TRUE(steps.ok()) << steps.status().ToString();
      if (*steps == 0) break;
    }
    ASSERT_TRUE(store_->Commit().ok());
  }

  std::vector<v1::Delivery> Outstanding(const std::string& inbox) {
    auto items = store_->ListInbox(inbox, false);
    EXPECT_TRUE(items.ok());
    return items.ok() ? *items : std::vector<v1::Delivery>{};
  }

  v1::Delivery Item(const std::string& id) {
    auto d = store_->GetDelivery(id);
    EXPECT_TRUE(d.ok()) << id;
    return d.ok() ? *d : v1::Delivery();
  }

  int Events(const std::string& id, v1::EventKind kind) {
    auto history = store_->History(id);
    EXPECT_TRUE(history.ok());
    return static_cast<int>(std::count_if(history->begin(), history->end(),
                                          [&](const auto& e) { return e.event() == kind; }));
  }

  Status Ack(const std::string& id, const std::string& by) {
    EXPECT_TRUE(store_->Begin().ok());
    auto ack =
        store_->Acknowledge(id, by, "on it", now_, [](const std::string&) { return Status::Ok(); });
    EXPECT_TRUE(store_->Commit().ok());
    return ack.ok() ? Status::Ok() : ack.status();
  }

  std::string Transfer(const std::string& id, const std::string& to) {
    auto body = store_->GetNotificationBody(id);
    auto item = engine_->NewItem(to, Item(id).priority(), *body, now_);
    EXPECT_TRUE(store_->Begin().ok());
    auto moved = store_->Transfer(id, "bob", "not ours", now_, *item);
    EXPECT_TRUE(store_->Commit().ok());
    EXPECT_TRUE(moved.ok()) << moved.status().ToString();
    return moved.ok() ? moved->delivery_id() : "";
  }

  std::optional<TimeMs> NextDeadline() {
    auto next = store_->EarliestDeadline();
    EXPECT_TRUE(next.ok());
    return next.ok() ? *next : std::nullopt;
  }

  std::filesystem::path dir_;
  std::shared_ptr<const Config> config_;
  RandomIds ids_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EscalationEngine> engine_;
  TimeMs now_ = 0;
};

TEST_F(EscalationTest, ImmediateClimbsToManagersThenLeadsThenRenotifiesEveryThirtyMinutes) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T10:00:00Z");
  const std::string root = sent["hv-north"];
  AdvanceTo("2026-11-23T10:14:59Z");
  EXPECT_TRUE(Outstanding("hv-managers").empty());
  EXPECT_EQ(Item(root).escalation_level(), 0);

  AdvanceTo("2026-11-23T10:15:00Z");  // due: level 1, the inbox's managers' inbox
  auto managers = Outstanding("hv-managers");
  ASSERT_EQ(managers.size(), 1u);
  EXPECT_EQ(managers[0].escalated_from(), "hv-north");
  EXPECT_EQ(managers[0].escalation_level(), 1);
  EXPECT_EQ(managers[0].notification_id(), "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_EQ(Outstanding("mash-managers").size(), 1u) << "the MASH's copy climbs its own ladder";
  EXPECT_EQ(Item(root).escalation_level(), 1);
  EXPECT_TRUE(Outstanding("safeguarding-leads").empty());

  AdvanceTo("2026-11-23T10:29:00Z");
  EXPECT_TRUE(Outstanding("safeguarding-leads").empty());
  AdvanceTo("2026-11-23T10:30:00Z");  // 15 minutes later: level 2, the safeguarding leads
  auto leads = Outstanding("safeguarding-leads");
  ASSERT_EQ(leads.size(), 2u);
  for (const auto& copy : leads) EXPECT_EQ(copy.escalation_level(), 2);
  EXPECT_EQ(Item(root).escalation_level(), 2);

  // Then every level again every 30 minutes, for as long as nobody acknowledges.
  AdvanceTo("2026-11-23T10:59:00Z");
  EXPECT_EQ(Events(root, v1::EVENT_RENOTIFIED), 0);
  AdvanceTo("2026-11-23T11:00:00Z");
  EXPECT_EQ(Events(root, v1::EVENT_RENOTIFIED), 1);
  EXPECT_EQ(Events(managers[0].delivery_id(), v1::EVENT_RENOTIFIED), 1);
  AdvanceTo("2026-11-23T11:30:00Z");
  AdvanceTo("2026-11-23T12:00:00Z");
  EXPECT_EQ(Events(root, v1::EVENT_RENOTIFIED), 3);
  EXPECT_EQ(Item(root).escalation_level(), 2) << "no level beyond the last";
}

TEST_F(EscalationTest, AManagersAcknowledgementOfTheCopyEndsItEverywhere) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T10:00:00Z");
  AdvanceTo("2026-11-23T10:30:00Z");
  auto copy = Outstanding("hv-managers").at(0);
  ASSERT_TRUE(Ack(copy.delivery_id(), "dan").ok());
  const v1::Delivery root = Item(sent["hv-north"]);
  EXPECT_EQ(root.state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(root.acknowledged_by(), "dan");
  EXPECT_TRUE(Outstanding("hv-north").empty());
  EXPECT_TRUE(Outstanding("hv-managers").empty());
  // The leads' copy of the hv-north item is acknowledged too; the MASH's item is not.
  auto leads = Outstanding("safeguarding-leads");
  ASSERT_EQ(leads.size(), 1u);
  EXPECT_EQ(leads[0].escalated_from(), "mash");
  AdvanceTo("2026-11-23T13:00:00Z");
  EXPECT_EQ(Events(root.delivery_id(), v1::EVENT_RENOTIFIED), 0);
  EXPECT_GT(Events(sent["mash"], v1::EVENT_RENOTIFIED), 0);
  // Acknowledging the original again answers with the first acknowledgement.
  EXPECT_EQ(Item(sent["hv-north"]).acknowledged_by(), "dan");
}

TEST_F(EscalationTest, UrgentClimbsInOfficeHours) {
  // Raised to URGENT; 4 office hours from Monday 10:00 is 14:00.
  auto sent =
      Publish(Sample("scbu-discharge-mental-health-no-meeting.json"), "2026-11-23T10:00:00Z");
  AdvanceTo("2026-11-23T13:59:00Z");
  EXPECT_TRUE(Outstanding("hv-managers").empty());
  AdvanceTo("2026-11-23T14:00:00Z");
  EXPECT_EQ(Outstanding("hv-managers").size(), 1u);
  // The GP's and perinatal team's managers' inbox is the safeguarding leads'.
  EXPECT_EQ(Outstanding("safeguarding-leads").size(), 2u);
  // Level 2 four office hours later: Tuesday 10:00. Items already with the leads are raised
  // there, not copied twice.
  AdvanceTo("2026-11-24T09:59:00Z");
  EXPECT_EQ(Item(sent["hv-north"]).escalation_level(), 1);
  AdvanceTo("2026-11-24T10:00:00Z");
  auto leads = Outstanding("safeguarding-leads");
  EXPECT_EQ(leads.size(), 3u);
  for (const auto& copy : leads) EXPECT_EQ(copy.escalation_level(), 2);
  AdvanceTo("2026-11-24T14:00:00Z");  // again every 4 office hours
  EXPECT_EQ(Events(sent["hv-north"], v1::EVENT_RENOTIFIED), 1);
  AdvanceTo("2026-11-25T10:00:00Z");
  EXPECT_EQ(Events(sent["hv-north"], v1::EVENT_RENOTIFIED), 2);
}

TEST_F(EscalationTest, RoutineFromFridayAfternoonEscalatesOnMondayAfternoon) {
  auto sent = Publish(Sample("hospital-liaison-school-age.json"), "2026-11-20T16:00:00Z");
  const std::string root = sent["school-nursing"];
  EXPECT_EQ(Item(root).due_at_ms(), At("2026-11-23T16:00:00Z"));
  AdvanceTo("2026-11-23T15:59:59Z");
  EXPECT_EQ(Item(root).escalation_level(), 0);
  EXPECT_TRUE(Outstanding("hv-managers").empty());
  AdvanceTo("2026-11-23T16:00:00Z");
  EXPECT_EQ(Outstanding("hv-managers").size(), 1u);
  AdvanceTo("2026-11-24T15:59:00Z");
  EXPECT_EQ(Item(root).escalation_level(), 1);
  AdvanceTo("2026-11-24T16:00:00Z");  // one office day later
  EXPECT_EQ(Item(root).escalation_level(), 2);
  AdvanceTo("2026-11-25T16:00:00Z");
  EXPECT_EQ(Events(root, v1::EVENT_RENOTIFIED), 1);
}

TEST_F(EscalationTest, BankHolidaysDoNotCount) {
  // Friday 28 May 2027, 16:00 BST; Monday 31 May is the spring bank holiday.
  auto sent = Publish(Sample("hospital-liaison-school-age.json"), "2027-05-28T15:00:00Z");
  const std::string root = sent["school-nursing"];
  AdvanceTo("2027-05-31T23:00:00Z");
  EXPECT_EQ(Item(root).escalation_level(), 0);
  AdvanceTo("2027-06-01T15:00:00Z");  // Tuesday 16:00 BST
  EXPECT_EQ(Item(root).escalation_level(), 1);
}

TEST_F(EscalationTest, BothClockChanges) {
  // URGENT from Friday 27 March 2026 15:00 GMT: due Monday 11:00 BST (10:00Z); level 2 four
  // office hours later, 15:00 BST (14:00Z).
  auto spring = Publish(Sample("scbu-discharge-mental-health-no-meeting.json"),
                        "2026-03-27T15:00:00Z", "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4c01");
  AdvanceTo("2026-03-30T09:59:00Z");
  EXPECT_EQ(Item(spring["hv-north"]).escalation_level(), 0);
  AdvanceTo("2026-03-30T10:00:00Z");
  EXPECT_EQ(Item(spring["hv-north"]).escalation_level(), 1);
  AdvanceTo("2026-03-30T13:59:00Z");
  EXPECT_EQ(Item(spring["hv-north"]).escalation_level(), 1);
  AdvanceTo("2026-03-30T14:00:00Z");
  EXPECT_EQ(Item(spring["hv-north"]).escalation_level(), 2);

  // Friday 23 October 2026 15:00 BST (14:00Z): due Monday 11:00 GMT.
  auto autumn = Publish(Sample("scbu-discharge-mental-health-no-meeting.json"),
                        "2026-10-23T14:00:00Z", "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4c02");
  AdvanceTo("2026-10-26T10:59:00Z");
  EXPECT_EQ(Item(autumn["hv-north"]).escalation_level(), 0);
  AdvanceTo("2026-10-26T11:00:00Z");
  EXPECT_EQ(Item(autumn["hv-north"]).escalation_level(), 1);
}

TEST_F(EscalationTest, AMashRequestEscalatesAtItsRespondBy) {
  auto sent = Publish(Sample("mash-request-home-visit.json"), "2026-11-23T16:00:00Z");
  AdvanceTo("2026-11-24T09:04:00Z");
  EXPECT_EQ(Item(sent["hv-south"]).escalation_level(), 0);
  AdvanceTo("2026-11-24T09:05:00Z");  // respond_by, before the 4 office hours ran out
  EXPECT_EQ(Item(sent["hv-south"]).escalation_level(), 1);
}

TEST_F(EscalationTest, TransferStartsTheLadderAfresh) {
  auto sent = Publish(Sample("hospital-liaison-school-age.json"), "2026-11-23T10:00:00Z");
  AdvanceTo("2026-11-24T10:00:00Z");  // level 1
  ASSERT_EQ(Outstanding("hv-managers").size(), 1u);
  const std::string moved = Transfer(sent["school-nursing"], "hv-south");
  EXPECT_TRUE(Outstanding("hv-managers").empty()) << "the old ladder's copies close";
  const v1::Delivery fresh = Item(moved);
  EXPECT_EQ(fresh.escalation_level(), 0);
  EXPECT_EQ(fresh.due_at_ms(), At("2026-11-25T10:00:00Z"));
  AdvanceTo("2026-11-25T09:59:00Z");
  EXPECT_EQ(Item(moved).escalation_level(), 0);
  AdvanceTo("2026-11-25T10:00:00Z");
  auto managers = Outstanding("hv-managers");
  ASSERT_EQ(managers.size(), 1u);
  EXPECT_EQ(managers[0].escalated_from(), "hv-south");
  EXPECT_EQ(Events(sent["school-nursing"], v1::EVENT_RENOTIFIED), 0);
}

// CLI.md: an item escalated into eds appears there with `escalated_from`, and acknowledging
// it there acknowledges the original; one acknowledgement ends the escalation everywhere.
TEST_F(EscalationTest, ImmediateStillOutstandingAtFivePmReachesTheEmergencyDutyServiceAsACopy) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T16:50:00Z");
  EXPECT_EQ(sent.count("eds"), 0u) << "arrived in office hours";
  AdvanceTo("2026-11-23T16:59:00Z");
  EXPECT_TRUE(Outstanding("eds").empty());
  AdvanceTo("2026-11-23T17:00:00Z");
  std::map<std::string, v1::Delivery> in_eds;  // by the inbox each was escalated from
  for (const auto& copy : Outstanding("eds")) in_eds[copy.escalated_from()] = copy;
  ASSERT_EQ(in_eds.size(), 2u) << "one copy for each original still outstanding";
  ASSERT_EQ(in_eds.count("hv-north"), 1u);
  ASSERT_EQ(in_eds.count("mash"), 1u);
  EXPECT_EQ(in_eds["hv-north"].escalation_level(), 0) << "at the original's level";
  EXPECT_EQ(Events(sent["hv-north"], v1::EVENT_ESCALATED), 1);

  // Both still at level 0: the hand-over alone tells the store they have copies.
  ASSERT_TRUE(Ack(in_eds["hv-north"].delivery_id(), "eddie").ok());
  EXPECT_EQ(Item(sent["hv-north"]).state(), v1::ACKNOWLEDGED) << "the EDS acted for hv-north";
  EXPECT_EQ(Item(sent["hv-north"]).acknowledged_by(), "eddie");
  EXPECT_EQ(Item(sent["mash"]).state(), v1::DELIVERED) << "the MASH's own duty is its own";
  ASSERT_TRUE(Ack(sent["mash"], "carol").ok());
  EXPECT_EQ(Item(in_eds["mash"].delivery_id()).state(), v1::ACKNOWLEDGED)
      << "the MASH acted: nothing left for the EDS";
  EXPECT_TRUE(Outstanding("eds").empty());

  AdvanceTo("2026-11-23T18:00:00Z");
  EXPECT_TRUE(Outstanding("hv-managers").empty()) << "acknowledged before it was due";
  EXPECT_TRUE(Outstanding("mash-managers").empty());
  EXPECT_FALSE(NextDeadline().has_value()) << "nothing outstanding, no deadline";
}

TEST_F(EscalationTest, TheEmergencyDutyServicesCopyFollowsTheOriginalsLadder) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T16:50:00Z");
  AdvanceTo("2026-11-23T17:00:00Z");
  std::string eds_copy;
  for (const auto& copy : Outstanding("eds"))
    if (copy.escalated_from() == "hv-north") eds_copy = copy.delivery_id();
  ASSERT_FALSE(eds_copy.empty());
  AdvanceTo("2026-11-23T17:05:00Z");  // due: level 1, the original's managers
  ASSERT_EQ(Outstanding("hv-managers").size(), 1u);
  EXPECT_EQ(Item(eds_copy).escalation_level(), 0) << "a copy is not raised by another's step";
  AdvanceTo("2026-11-23T17:50:00Z");  // level 2 at 17:20, every level again at 17:50
  EXPECT_EQ(Events(eds_copy, v1::EVENT_RENOTIFIED), 1) << "notified again with the rest";
  EXPECT_EQ(Events(eds_copy, v1::EVENT_ESCALATED), 1) << "no ladder of its own";

  ASSERT_TRUE(Ack(eds_copy, "eddie").ok());
  EXPECT_EQ(Item(sent["hv-north"]).state(), v1::ACKNOWLEDGED);
  for (const char* inbox : {"hv-managers", "safeguarding-leads"}) {
    for (const auto& copy : Outstanding(inbox))
      EXPECT_NE(copy.escalated_from(), "hv-north") << inbox << ": closed everywhere";
  }
  AdvanceTo("2026-11-23T19:00:00Z");
  EXPECT_EQ(Events(eds_copy, v1::EVENT_RENOTIFIED), 1) << "its escalation ended";
}

// A handed-over item transferred at night to an inbox that is closed: the EDS's copy goes
// with the old item, and the new one is handed over at once, not left to wait for morning.
TEST_F(EscalationTest, AnImmediateItemTransferredIntoAClosedInboxIsHandedOverAtOnce) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T16:50:00Z");
  AdvanceTo("2026-11-23T19:00:00Z");
  const std::string moved = Transfer(sent["hv-north"], "hv-south");
  AdvanceTo("2026-11-23T19:00:00Z");
  std::set<std::string> from;
  for (const auto& copy : Outstanding("eds")) from.insert(copy.escalated_from());
  EXPECT_EQ(from, (std::set<std::string>{"hv-south", "mash"}))
      << "the transferred item's copy, and the MASH's own";
  EXPECT_EQ(Events(moved, v1::EVENT_ESCALATED), 1);
}

// Arriving before the office opens, rule 8 puts it in eds as an item of its own, and the
// hand-over finds it there. The EDS acknowledges theirs; nobody in hv-north does all day.
// At 17:00 hv-north closes with it outstanding: a copy goes to eds then, as for any other.
TEST_F(EscalationTest, AnItemTheEdsHadAtArrivalIsStillHandedOverWhenItsOfficeCloses) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T08:30:00Z");
  ASSERT_EQ(sent.count("eds"), 1u) << "rule 8: outside office hours";
  // In one step past both the hand-over (found in eds) and level 1 (08:45): the next
  // close's hand-over stays armed through the level step.
  AdvanceTo("2026-11-23T08:50:00Z");
  ASSERT_EQ(Outstanding("hv-managers").size(), 1u) << "level 1 was taken";
  ASSERT_TRUE(Ack(sent["eds"], "eddie").ok());
  AdvanceTo("2026-11-23T16:59:00Z");
  EXPECT_TRUE(Outstanding("eds").empty());
  AdvanceTo("2026-11-23T17:00:00Z");
  std::set<std::string> from;
  for (const auto& copy : Outstanding("eds")) from.insert(copy.escalated_from());
  EXPECT_EQ(from, (std::set<std::string>{"hv-north", "mash"}))
      << "both originals, still outstanding as their offices closed";
}

// Both the hand-over (17:00) and a level step (16:55) fell due while the broker was away:
// taken in the order they fell due, so the EDS's copy is made at level 1, as it would have
// been.
TEST_F(EscalationTest, StepsMissedInAnOutageAreTakenInTheOrderTheyFellDue) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T16:40:00Z");
  now_ = At("2026-11-23T17:30:00Z");  // down from 16:50
  Reopen();
  AdvanceTo("2026-11-23T17:30:00Z");
  std::map<std::string, v1::Delivery> in_eds;
  for (const auto& copy : Outstanding("eds")) in_eds[copy.escalated_from()] = copy;
  ASSERT_EQ(in_eds.count("hv-north"), 1u);
  EXPECT_EQ(in_eds["hv-north"].escalation_level(), 1) << "made after level 1 (16:55)";
  EXPECT_EQ(Item(sent["hv-north"]).escalation_level(), 2) << "and level 2 (17:10) after it";
}

TEST_F(EscalationTest, AcknowledgedBeforeFivePmIsNotHandedOver) {
  auto sent = Publish(Sample("hospital-liaison-non-mobile-injury.json"), "2026-11-23T16:50:00Z");
  ASSERT_TRUE(Ack(sent["hv-north"], "alice").ok());
  ASSERT_TRUE(Ack(sent["mash"], "carol").ok());
  AdvanceTo("2026-11-23T18:00:00Z");
  EXPECT_TRUE(Outstanding("eds").empty());
  EXPECT_FALSE(NextDeadline().has_value()) << "nothing outstanding, no deadline";
}

TEST_F(EscalationTest, ARestartJustAfterADeadlineTakesTheStepExactlyOnce) {
  auto sent = Publish(Sample("hospital-liaison-school-age.json"), "2026-11-23T10:00:00Z");
  now_ = At("2026-11-24T10:00:01Z");  // the deadline passed while the broker was down
  Reopen();
  AdvanceTo("2026-11-24T10:00:02Z");
  Reopen();
  AdvanceTo("2026-11-24T10:00:03Z");
  EXPECT_EQ(Outstanding("hv-managers").size(), 1u);
  EXPECT_EQ(Events(sent["school-nursing"], v1::EVENT_ESCALATED), 1);
}

// Many items, random acknowledgements, transfers, restarts and clock jumps. After every
// step: each outstanding item has exactly one future deadline, nothing else has one, and
// no item was escalated twice to the same level.
TEST_F(EscalationTest, RandomisedLadderKeepsOneDeadlinePerOutstandingItem) {
  std::mt19937 random(20261125);
  const std::vector<std::string> samples = {
      "hospital-liaison-non-mobile-injury.json", "hospital-liaison-school-age.json",
      "mash-request-home-visit.json", "scbu-discharge-mental-health-no-meeting.json",
      "scbu-discharge-unknown-area.json"};
  std::vector<std::string> roots;
  now_ = At("2026-11-23T08:00:00Z");
  int published = 0;
  for (int step = 0; step < 300; ++step) {
    int action = static_cast<int>(random() % 10);
    if (action < 4 || roots.empty()) {
      char id[40];
      std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++published);
      std::string when = FormatTimestamp(now_);
      for (const auto& [inbox, delivery] :
           Publish(Sample(samples[random() % samples.size()]), when.c_str(), id)) {
        roots.push_back(delivery);
      }
    } else if (action < 6) {
      (void)Ack(roots[random() % roots.size()], "frank");  // may be acknowledged already: fine
    } else if (action == 6) {
      const std::string& id = roots[random() % roots.size()];
      v1::Delivery d = Item(id);
      if (d.state() == v1::DELIVERED || d.state() == v1::OPENED)
        roots.push_back(Transfer(id, "triage"));
    } else if (action == 7) {
      Reopen();
    } else {
      AdvanceTo(now_ + static_cast<TimeMs>(random() % (30 * 60)) * kMinuteMs / 10);
    }
    AdvanceTo(now_);  // the writer runs the engine after every batch

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((dir_ / "store.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    auto count = [&](const std::string& sql) {
      sqlite3_stmt* stmt = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
      sqlite3_bind_int64(stmt, 1, now_);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
      int64_t n = sqlite3_column_int64(stmt, 0);
      sqlite3_finalize(stmt);
      return n;
    };
    EXPECT_EQ(
        count("SELECT COUNT(*) FROM deliveries WHERE origin <> 'ESCALATED' AND state IN (1, 2) "
              "AND (next_deadline IS NULL OR next_deadline <= ?1)"),
        0)
        << "an outstanding item without exactly one future deadline, step " << step;
    EXPECT_EQ(
        count("SELECT COUNT(*) FROM deliveries WHERE (origin = 'ESCALATED' OR state IN (3, 4)) "
              "AND next_deadline IS NOT NULL"),
        0)
        << "a deadline on an item that is not outstanding, step " << step;
    EXPECT_EQ(
        count(
            "SELECT COUNT(*) FROM deliveries WHERE next_deadline IS NOT NULL AND next_deadline <> "
            "CASE WHEN handover_at IS NULL THEN escalation_at ELSE MIN(escalation_at, handover_at) "
            "END"),
        0);
    EXPECT_EQ(
        count("SELECT COUNT(*) FROM (SELECT source_delivery, inbox FROM deliveries WHERE origin = "
              "'ESCALATED' GROUP BY 1, 2 HAVING COUNT(*) > 1)"),
        0)
        << "an item escalated twice into one inbox, step " << step;
    EXPECT_EQ(
        count("SELECT COUNT(*) FROM (SELECT delivery_id FROM events e WHERE event = 3 AND note IS "
              "NULL "
              "AND delivery_id IN (SELECT delivery_id FROM deliveries WHERE origin <> 'ESCALATED') "
              "GROUP BY 1 HAVING COUNT(*) > 2)"),
        0)
        << "an item escalated more often than its ladder has levels, step " << step;
    sqlite3_close(db);
    if (HasFailure()) return;
  }
  EXPECT_GT(published, 50);
  // The walk did exercise every kind of step.
  int escalated = 0, renotified = 0, transferred = 0, acknowledged = 0;
  for (const std::string& id : roots) {
    escalated += Events(id, v1::EVENT_ESCALATED);
    renotified += Events(id, v1::EVENT_RENOTIFIED);
    transferred += Events(id, v1::EVENT_TRANSFERRED);
    acknowledged += Events(id, v1::EVENT_ACKNOWLEDGED);
  }
  EXPECT_GT(escalated, 20);
  EXPECT_GT(renotified, 20);
  EXPECT_GT(transferred, 5);
  EXPECT_GT(acknowledged, 20);
}

}  // namespace
}  // namespace dutyhub
