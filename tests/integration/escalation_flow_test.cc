// Escalation through the real binaries: the managers' inbox, overdue, report and watch as
// docs/CLI.md says, and a kill -9 just after a deadline taking the step exactly once.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

class EscalationThroughTheBinaries : public ::testing::Test {
 protected:
  void Start(const std::string& clock,
             const std::filesystem::path& config = ConfigPath("northshire.yaml")) {
    broker_ = std::make_unique<BrokerProcess>(config, dir_.path() / "data",
                                              std::vector<std::string>{"--simulated-clock", clock});
    ASSERT_TRUE(broker_->Start()) << broker_->log();
  }
  json Cli(const std::string& as, std::vector<std::string> args) {
    CommandResult r = broker_->Cli(as, std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.Json();
  }
  std::string SendNonMobileInjury() {
    json sent =
        Cli("gwh-ed", {"send", SamplePath("hospital-liaison-non-mobile-injury.json").string()});
    for (const auto& d : sent["deliveries"]) {
      if (d["inbox"] == "hv-north") return d["delivery_id"];
    }
    return "";
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

// CLI.md, `inbox`: an item escalated into eds appears there with `escalated_from`, and
// acknowledging it there acknowledges the original; the sender sees who did.
TEST_F(EscalationThroughTheBinaries, AtFivePmTheEmergencyDutyServiceActsForTheOriginal) {
  Start("2026-11-23T16:50:00Z");
  std::string root = SendNonMobileInjury();
  EXPECT_EQ(Cli("eddie", {"inbox", "eds"})["items"].size(), 0u) << "in office hours";
  Cli("alice", {"admin", "advance-clock", "10m"});  // 17:00: hv-north and the MASH close

  json eds = Cli("eddie", {"inbox", "eds"});
  ASSERT_EQ(eds["items"].size(), 2u) << eds.dump();
  json for_hv;
  for (const auto& item : eds["items"]) {
    if (item["escalated_from"] == "hv-north") for_hv = item;
  }
  ASSERT_TRUE(for_hv.is_object()) << eds.dump();
  EXPECT_EQ(for_hv["notification_id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");

  json ack = Cli("eddie", {"ack", for_hv["delivery_id"], "--note", "Visiting tonight with police"});
  EXPECT_EQ(ack["acknowledged_by"], "eddie");
  json shown = Cli("alice", {"show", root});
  EXPECT_EQ(shown["delivery"]["state"], "ACKNOWLEDGED");
  bool by_eddie = false;
  for (const auto& e : shown["history"])
    by_eddie = by_eddie || (e["event"] == "ACKNOWLEDGED" && e["by"] == "eddie");
  EXPECT_TRUE(by_eddie) << shown["history"].dump();
  EXPECT_EQ(Cli("alice", {"inbox", "hv-north"})["items"].size(), 0u);
  json status = Cli("gwh-ed", {"status", "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01"});
  bool seen = false;
  for (const auto& d : status["deliveries"]) {
    if (d["inbox"] != "hv-north") continue;
    seen = true;
    EXPECT_EQ(d["acknowledged_by"], "eddie");
    EXPECT_EQ(d["note"], "Visiting tonight with police");
  }
  EXPECT_TRUE(seen) << status.dump();
  // The MASH's item is its own duty: still outstanding, for the MASH and the EDS.
  EXPECT_EQ(Cli("carol", {"inbox", "mash"})["items"].size(), 1u);
  json left = Cli("eddie", {"inbox", "eds"});
  ASSERT_EQ(left["items"].size(), 1u);
  EXPECT_EQ(left["items"][0]["escalated_from"], "mash");
  Cli("carol", {"ack", Cli("carol", {"inbox", "mash"})["items"][0]["delivery_id"], "--note",
                "Strategy meeting at 9am"});
  EXPECT_EQ(Cli("eddie", {"inbox", "eds"})["items"].size(), 0u) << "acted on: gone from the EDS";
}

// CLI.md, `overdue`: "outstanding items past due in the inboxes they manage". What waits in
// the EDS from an inbox its manager does not manage is hers to see; a duty whose root she (or
// frank, who manages every inbox) sees already is listed once, as the root. A copy is due
// when its root is.
TEST_F(EscalationThroughTheBinaries, TheEdsManagerSeesWhatWaitsThereAndEachDutyIsListedOnce) {
  Start("2026-11-23T16:50:00Z");
  std::string root = SendNonMobileInjury();
  Cli("alice", {"admin", "advance-clock", "10m"});  // 17:00: handed over to the EDS
  const std::string root_due = Cli("alice", {"show", root})["delivery"]["due_at"];
  ASSERT_GT(root_due, std::string("2026-11-23T17:00:00Z")) << "due after the hand-over";
  // `escalated_from`: null but on a copy.
  auto source = [](const json& item) {
    return item["escalated_from"].is_string() ? item["escalated_from"].get<std::string>() : "";
  };
  auto from = [&](const json& listed, const std::string& inbox) {
    json found = json::array();
    for (const auto& item : listed["items"])
      if (source(item) == inbox) found.push_back(item);
    return found;
  };
  EXPECT_EQ(from(Cli("erin", {"overdue", "--inbox", "eds"}), "hv-north").size(), 0u)
      << "handed over, but not yet past its root's due time";

  Cli("alice", {"admin", "advance-clock", "30m"});  // 17:30: past it
  json eds = Cli("erin", {"overdue", "--inbox", "eds"});
  ASSERT_EQ(from(eds, "hv-north").size(), 1u) << eds.dump();
  EXPECT_EQ(from(eds, "hv-north")[0]["inbox"], "eds");
  EXPECT_EQ(from(eds, "hv-north")[0]["due_at"], root_due);
  EXPECT_EQ(from(eds, "mash").size(), 1u) << "her --inbox eds lists the EDS's copies";

  json hers = Cli("erin", {"overdue"});  // mash and eds
  EXPECT_EQ(from(hers, "hv-north").size(), 1u) << hers.dump();
  EXPECT_EQ(from(hers, "mash").size(), 0u) << "she sees the MASH's root itself: " << hers.dump();

  for (const char* manager : {"frank", "dan"}) {
    json listed = Cli(manager, {"overdue"});
    size_t roots = 0;
    for (const auto& item : listed["items"]) {
      EXPECT_EQ(source(item), "") << manager << ": " << listed.dump();
      roots += item["delivery_id"] == root;
    }
    EXPECT_EQ(roots, 1u) << manager << ": " << listed.dump();
  }
}

// A manager of two inboxes one duty has copies in (the EDS's hand-over, the leads' escalation)
// but not of the root's inbox: the duty is listed once.
TEST_F(EscalationThroughTheBinaries, ADutyWithCopiesInTwoListedInboxesIsListedOnce) {
  std::string config = ReadFile(ConfigPath("northshire.yaml"));
  const std::string erins = "manages: [mash, eds]";
  ASSERT_NE(config.find(erins), std::string::npos);
  config.replace(config.find(erins), erins.size(), "manages: [mash, eds, safeguarding-leads]");
  std::ofstream(dir_.path() / "partnership.yaml") << config;
  Start("2026-11-23T16:50:00Z", dir_.path() / "partnership.yaml");
  std::string root = SendNonMobileInjury();
  Cli("alice", {"admin", "advance-clock", "3h"});
  json leads = Cli("frank", {"inbox", "safeguarding-leads"});
  json eds = Cli("eddie", {"inbox", "eds"});
  auto copies_of_hv_north = [](const json& listed) {
    size_t n = 0;
    for (const auto& item : listed["items"])
      n += item["escalated_from"].is_string() && item["escalated_from"] == "hv-north";
    return n;
  };
  ASSERT_EQ(copies_of_hv_north(leads), 1u) << "the test needs a copy there: " << leads.dump();
  ASSERT_EQ(copies_of_hv_north(eds), 1u) << "and there: " << eds.dump();
  json hers = Cli("erin", {"overdue"});
  EXPECT_EQ(copies_of_hv_north(hers), 1u) << hers.dump();
}

TEST_F(EscalationThroughTheBinaries, TheManagersSeeTheEscalatedItemAndOneAcknowledgementEndsIt) {
  Start("2026-11-23T11:05:00Z");
  std::string root = SendNonMobileInjury();
  EXPECT_EQ(Cli("dan", {"overdue"})["items"].size(), 0u);
  Cli("alice", {"admin", "advance-clock", "20m"});

  json managers = Cli("dan", {"inbox", "hv-managers"});
  ASSERT_EQ(managers["items"].size(), 1u);
  json copy = managers["items"][0];
  EXPECT_EQ(copy["escalated_from"], "hv-north");
  EXPECT_EQ(copy["escalation_level"], 1);
  EXPECT_EQ(copy["priority"], "IMMEDIATE");

  json overdue = Cli("dan", {"overdue"});
  ASSERT_EQ(overdue["items"].size(), 1u);
  EXPECT_EQ(overdue["items"][0]["delivery_id"], root);
  EXPECT_EQ(overdue["items"][0]["overdue_seconds"], 5 * 60);
  EXPECT_EQ(overdue["items"][0]["escalation_level"], 1);
  EXPECT_EQ(broker_->Cli("alice", {"overdue"}).exit_code, 4) << "overdue is for managers";
  EXPECT_EQ(broker_->Cli("dan", {"overdue", "--inbox", "mash"}).exit_code, 4);
  EXPECT_EQ(Cli("erin", {"overdue", "--inbox", "mash"})["items"].size(), 1u);

  // Transferring the copy back would restart the ladder and hide the overdue original.
  CommandResult moved = broker_->Cli(
      "dan", {"transfer", copy["delivery_id"], "--to", "hv-north", "--reason", "hers"});
  EXPECT_EQ(moved.exit_code, 3);
  EXPECT_EQ(Cli("dan", {"overdue"})["items"].size(), 1u);

  // dan acknowledges the copy in the managers' inbox: the original is acknowledged too.
  json ack = Cli(
      "dan", {"ack", copy["delivery_id"], "--note", "Called the health visitor; visiting at 2pm"});
  EXPECT_EQ(ack["acknowledged_by"], "dan");
  json shown = Cli("alice", {"show", root});
  EXPECT_EQ(shown["delivery"]["state"], "ACKNOWLEDGED");
  bool escalated = false;
  for (const auto& e : shown["history"]) escalated = escalated || e["event"] == "ESCALATED";
  EXPECT_TRUE(escalated);
  EXPECT_EQ(Cli("alice", {"inbox", "hv-north"})["items"].size(), 0u);
  EXPECT_EQ(Cli("dan", {"inbox", "hv-managers"})["items"].size(), 0u);
  EXPECT_EQ(Cli("dan", {"overdue"})["items"].size(), 0u);
  // Alice's later acknowledgement changes nothing.
  json again = Cli("alice", {"ack", root, "--note", "me too"});
  EXPECT_EQ(again["already_acknowledged"], true);
  EXPECT_EQ(again["acknowledged_by"], "dan");
  // The sender sees who acknowledged, and that it escalated.
  json status = Cli("gwh-ed", {"status", "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01"});
  bool seen = false;
  for (const auto& d : status["deliveries"]) {
    if (d["inbox"] != "hv-north") continue;
    seen = true;
    EXPECT_EQ(d["acknowledged_by"], "dan");
    EXPECT_EQ(d["escalation_level"], 1);
  }
  EXPECT_TRUE(seen);
}

TEST_F(EscalationThroughTheBinaries, WatchIsPushedAsEventsHappen) {
  Start("2026-11-23T11:05:00Z");
  BackgroundCommand north(
      {DUTYHUB_CLI_BIN, "--broker", broker_->endpoint(), "--as", "alice", "watch", "hv-north"},
      dir_.path() / "north.jsonl");
  BackgroundCommand managers(
      {DUTYHUB_CLI_BIN, "--broker", broker_->endpoint(), "--as", "dan", "watch", "hv-managers"},
      dir_.path() / "managers.jsonl");
  // Each says so on standard error once the broker has taken its subscription.
  ASSERT_TRUE(north.WaitFor("watching hv-north")) << north.Output();
  ASSERT_TRUE(managers.WaitFor("watching hv-managers")) << managers.Output();
  std::string root = SendNonMobileInjury();
  ASSERT_TRUE(north.WaitFor("\"event\":\"NEW\"")) << north.Output();
  Cli("alice", {"show", root});
  ASSERT_TRUE(north.WaitFor("\"event\":\"OPENED\"")) << north.Output();
  Cli("alice", {"admin", "advance-clock", "15m"});
  ASSERT_TRUE(managers.WaitFor("\"event\":\"ESCALATED\"")) << managers.Output();
  std::string output = managers.Output();
  size_t first = output.find("{\"");
  json line = json::parse(output.substr(first, output.find('\n', first) - first));
  EXPECT_EQ(line["inbox"], "hv-managers");
  EXPECT_EQ(line["escalation_level"], 1);
  EXPECT_EQ(line["notification_id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_TRUE(line["by"].is_null());
  Cli("alice", {"ack", root, "--note", "Visiting now"});
  ASSERT_TRUE(north.WaitFor("\"event\":\"ACKNOWLEDGED\"")) << north.Output();
  ASSERT_TRUE(managers.WaitFor("\"event\":\"ACKNOWLEDGED\"")) << managers.Output();
  // The copy's acknowledgement names the notification and who acted, as the root's does.
  output = managers.Output();
  size_t at = output.find("\"event\":\"ACKNOWLEDGED\"");
  size_t start = output.rfind('\n', at) + 1;
  json acked = json::parse(output.substr(start, output.find('\n', at) - start));
  EXPECT_EQ(acked["notification_id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_EQ(acked["by"], "alice");
  EXPECT_EQ(acked["inbox"], "hv-managers");
  EXPECT_EQ(broker_->Cli("bob", {"watch", "hv-north"}).exit_code, 4);
}

// A paging script watching the managers' inbox must not lose the escalations a restarted
// broker takes at once, before the script's watch has found it again.
TEST_F(EscalationThroughTheBinaries, WatchGetsWhatHappenedWhileTheBrokerRestartedEachOnce) {
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  auto broker_at = [&](const char* clock) {
    auto broker =
        std::make_unique<BrokerProcess>(ConfigPath("northshire.yaml"), dir_.path() / "data",
                                        std::vector<std::string>{"--simulated-clock", clock});
    broker->ListenOn(endpoint);
    return broker;
  };
  broker_ = broker_at("2026-11-23T11:05:00Z");
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  BackgroundCommand managers({DUTYHUB_CLI_BIN, "--broker", endpoint, "--as", "dan", "--timeout",
                              "2", "watch", "hv-managers"},
                             dir_.path() / "managers.jsonl");
  ASSERT_TRUE(managers.WaitFor("watching hv-managers")) << managers.Output();
  std::string root = SendNonMobileInjury();  // due 11:20, then level 1 in hv-managers

  broker_->Kill9();
  broker_ = broker_at("2026-11-23T11:30:00Z");  // the deadline passed while it was down
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  // The broker took the step before it listened; the watch renews after 10 s of quiet.
  ASSERT_TRUE(managers.WaitFor("\"event\":\"ESCALATED\"", 20000)) << managers.Output();
  Cli("dan", {"ack", Cli("dan", {"inbox", "hv-managers"})["items"][0]["delivery_id"], "--note",
              "Rang the health visitor"});
  ASSERT_TRUE(managers.WaitFor("\"event\":\"ACKNOWLEDGED\"")) << managers.Output();
  // And after the next renewal (another 10 s of quiet) nothing comes twice.
  std::this_thread::sleep_for(std::chrono::seconds(11));
  std::string output = managers.Output();
  size_t escalated = 0, acknowledged = 0;
  std::set<int64_t> seqs;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{", 0) != 0) continue;
    json event = json::parse(line);
    EXPECT_TRUE(seqs.insert(event["seq"].get<int64_t>()).second) << "printed twice: " << line;
    escalated += event["event"] == "ESCALATED";
    acknowledged += event["event"] == "ACKNOWLEDGED";
    EXPECT_EQ(event["inbox"], "hv-managers");
    EXPECT_EQ(event["notification_id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  }
  EXPECT_EQ(escalated, 1u) << output;
  EXPECT_EQ(acknowledged, 1u) << output;
  EXPECT_EQ(output.find("missed"), std::string::npos) << output;
}

TEST_F(EscalationThroughTheBinaries, ReportForManagers) {
  Start("2026-11-23T11:05:00Z");
  std::string root = SendNonMobileInjury();
  json sent = Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()});
  Cli("alice", {"admin", "advance-clock", "10m"});
  Cli("alice", {"ack", root, "--note", "Visiting"});
  Cli("alice", {"admin", "advance-clock", "2d"});  // the school nurse's item climbs

  json report = Cli("dan", {"report", "--from", "2026-11-23", "--to", "2026-11-23"});
  std::map<std::string, json> by_inbox;
  for (const auto& r : report["inboxes"]) by_inbox[r["inbox"]] = r;
  EXPECT_EQ(by_inbox.size(), 3u) << "dan manages three inboxes";
  EXPECT_EQ(by_inbox["hv-north"]["received"], 1);
  EXPECT_EQ(by_inbox["hv-north"]["acknowledged"], 1);
  EXPECT_EQ(by_inbox["hv-north"]["median_seconds_to_acknowledge"], 600);
  EXPECT_EQ(by_inbox["hv-north"]["reached_level"]["1"], 0);
  EXPECT_EQ(by_inbox["school-nursing"]["received"], 1);
  EXPECT_EQ(by_inbox["school-nursing"]["acknowledged"], 0);
  EXPECT_EQ(by_inbox["school-nursing"]["reached_level"]["1"], 1);
  EXPECT_EQ(by_inbox["school-nursing"]["reached_level"]["2"], 1);
  EXPECT_EQ(by_inbox["school-nursing"]["outstanding"], 1);
  EXPECT_EQ(by_inbox["school-nursing"]["oldest_outstanding"]["notification_id"],
            "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a02");

  // A day with nothing in it.
  json empty =
      Cli("dan", {"report", "--from", "2026-11-24", "--to", "2026-11-24", "--inbox", "hv-north"});
  ASSERT_EQ(empty["inboxes"].size(), 1u);
  EXPECT_EQ(empty["inboxes"][0]["received"], 0);

  CommandResult csv = RunCommand({DUTYHUB_CLI_BIN, "--broker", broker_->endpoint(), "--as", "dan",
                                  "report", "--csv", "--inbox", "school-nursing"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "inbox,received,acknowledged,median_seconds,p90_seconds,p99_seconds,reached_level_1,"
            "reached_level_2,outstanding,oldest_outstanding_received_at");
  EXPECT_NE(csv.out.find("\nschool-nursing,1,0,0,0,0,1,1,1,2026-11-23T11:05:00Z\n"),
            std::string::npos)
      << csv.out;

  EXPECT_EQ(broker_->Cli("alice", {"report"}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("dan", {"report", "--inbox", "mash"}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("dan", {"report", "--from", "23/11/2026"}).exit_code, 3);
}

TEST_F(EscalationThroughTheBinaries, KillNineJustAfterADeadlineTakesTheStepExactlyOnce) {
  Start("2026-11-23T16:00:00Z");
  json sent = Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()});
  std::string root = sent["deliveries"][0]["delivery_id"];  // due Tuesday 16:00
  broker_->Kill9();
  // The broker comes back one second after the deadline passed.
  Start("2026-11-24T16:00:01Z");
  json managers = Cli("dan", {"inbox", "hv-managers"});
  ASSERT_EQ(managers["items"].size(), 1u);
  broker_->Kill9();
  Start("2026-11-24T16:00:02Z");
  EXPECT_EQ(Cli("dan", {"inbox", "hv-managers"})["items"].size(), 1u);
  int escalations = 0;
  json history = Cli("sam", {"show", root})["history"];
  for (const auto& e : history) escalations += e["event"] == "ESCALATED";
  EXPECT_EQ(escalations, 1);
  json stats = Cli("sam", {"admin", "stats"});
  EXPECT_EQ(stats["outstanding"], 1);
  // The writer has run (the show above recorded an opening) and says for how long.
  EXPECT_GT(stats["writer_cpu_seconds"].get<double>(), 0.0);
  EXPECT_GE(stats["write_transactions"].get<int64_t>(), 1);
}

}  // namespace
}  // namespace dutyhub::testing
