// The hub end to end through the real dutyhub-broker and dutyhub binaries on loopback,
// with a real SQLite store in a temporary folder and the Northshire configuration.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "agents/client/hub_client.h"
#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

// Monday 23 November 2026, 16:00 GMT: inside office hours, after every sample's
// created_at, before the MASH requests' respond_by.
constexpr const char* kMondayAfternoon = "2026-11-23T16:00:00Z";
// The same Monday at 18:00: the office has closed, the Emergency Duty Service is on.
constexpr const char* kMondayEvening = "2026-11-23T18:00:00Z";

struct Expected {
  std::string file;
  std::string sender;
  std::string priority;
  std::map<std::string, std::string> due_by_inbox;  // every inbox it must reach, exactly
};

// samples/README.md, with due times worked out by hand from northshire.md.
const std::vector<Expected> kValidSamples = {
    {"hospital-liaison-non-mobile-injury.json",
     "gwh-ed",
     "IMMEDIATE",
     {{"hv-north", "2026-11-23T16:15:00Z"}, {"mash", "2026-11-23T16:15:00Z"}}},
    {"hospital-liaison-school-age.json",
     "gwh-ed",
     "ROUTINE",
     {{"school-nursing", "2026-11-24T16:00:00Z"}}},
    // URGENT: 4 office hours would be Tuesday 12:00; respond_by caps it at 09:05.
    {"mash-request-home-visit.json",
     "northshire-mash",
     "URGENT",
     {{"hv-south", "2026-11-24T09:05:00Z"}}},
    {"mash-request-gp-information.json",
     "northshire-mash",
     "ROUTINE",
     {{"gp-J81034", "2026-11-24T16:00:00Z"}}},
    {"scbu-discharge-mental-health-no-meeting.json",
     "gwh-scbu",
     "URGENT",
     {{"hv-north", "2026-11-24T12:00:00Z"},
      {"gp-J81012", "2026-11-24T12:00:00Z"},
      {"perinatal-mh", "2026-11-24T12:00:00Z"}}},
    {"scbu-discharge-unknown-area.json",
     "gwh-scbu",
     "ROUTINE",
     {{"triage", "2026-11-24T16:00:00Z"}}},
    {"mash-request-unborn-midwifery.json",
     "northshire-mash",
     "URGENT",
     {{"triage", "2026-11-24T12:00:00Z"}}},
};

class HubTest : public ::testing::Test {
 protected:
  void StartBroker(const std::string& clock = kMondayAfternoon,
                   const std::filesystem::path& config = ConfigPath("northshire.yaml")) {
    broker_ = std::make_unique<BrokerProcess>(config, dir_.path() / "data",
                                              std::vector<std::string>{"--simulated-clock", clock});
    ASSERT_TRUE(broker_->Start()) << broker_->log();
  }

  json Send(const std::string& as, const std::string& sample) {
    CommandResult r = broker_->Cli(as, {"send", SamplePath(sample).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.Json();
  }

  // The delivery id of `notification`'s copy in `inbox`.
  static std::string DeliveryIn(const json& sent, const std::string& inbox) {
    for (const auto& d : sent["deliveries"]) {
      if (d["inbox"] == inbox) return d["delivery_id"];
    }
    ADD_FAILURE() << "no delivery to " << inbox << " in " << sent.dump();
    return "";
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(HubTest, EverySampleIsRoutedAsTheSamplesReadmeSays) {
  StartBroker();
  for (const Expected& e : kValidSamples) {
    SCOPED_TRACE(e.file);
    json sent = Send(e.sender, e.file);
    EXPECT_EQ(sent["duplicate"], false);
    EXPECT_EQ(sent["priority"], e.priority);
    std::map<std::string, std::string> got;
    for (const auto& d : sent["deliveries"]) got[d["inbox"]] = d["due_at"];
    EXPECT_EQ(got, e.due_by_inbox);
  }
  // Each inbox lists exactly what was routed to it, earliest due first.
  json hv_north = broker_->Cli("alice", {"inbox", "hv-north"}).Json();
  ASSERT_EQ(hv_north["items"].size(), 2u) << hv_north.dump();
  EXPECT_EQ(hv_north["items"][0]["priority"], "IMMEDIATE");
  EXPECT_EQ(hv_north["items"][0]["from"], "gwh-ed");
  EXPECT_EQ(hv_north["items"][0]["state"], "DELIVERED");
  EXPECT_EQ(hv_north["items"][0]["escalation_level"], 0);
  EXPECT_TRUE(hv_north["items"][0]["escalated_from"].is_null());
  EXPECT_EQ(hv_north["items"][1]["type"], "SCBU_DISCHARGE");
  json triage = broker_->Cli("tess", {"inbox", "triage"}).Json();
  EXPECT_EQ(triage["items"].size(), 2u);
  json eds = broker_->Cli("eddie", {"inbox", "eds"}).Json();
  EXPECT_EQ(eds["items"].size(), 0u) << "in office hours nothing goes to the EDS";
}

TEST_F(HubTest, ImmediateOutOfHoursAlsoGoesToTheEmergencyDutyService) {
  StartBroker(kMondayEvening);
  json sent = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  std::set<std::string> inboxes;
  for (const auto& d : sent["deliveries"]) inboxes.insert(d["inbox"]);
  EXPECT_EQ(inboxes, (std::set<std::string>{"hv-north", "mash", "eds"}));
  json eds = broker_->Cli("eddie", {"inbox", "eds"}).Json();
  ASSERT_EQ(eds["items"].size(), 1u);
  EXPECT_EQ(eds["items"][0]["due_at"], "2026-11-23T18:15:00Z");
}

TEST_F(HubTest, InvalidSamplesAreRejectedWithEveryViolationAndStoredNowhere) {
  StartBroker();
  struct Case {
    std::string file, sender;
    std::set<std::string> fields;
  };
  for (const Case& c : std::vector<Case>{
           {"invalid-nhs-number.json", "gwh-ed", {"child.nhs_number"}},
           {"invalid-father-recorded-but-absent.json", "northshire-mash", {"father_status"}},
           {"invalid-many-errors.json",
            "gwh-scbu",
            {"summary", "type", "scbu_discharge.gestation_weeks",
             "scbu_discharge.mental_health_details"}},
       }) {
    SCOPED_TRACE(c.file);
    CommandResult r = broker_->Cli(c.sender, {"send", SamplePath(c.file).string()});
    EXPECT_EQ(r.exit_code, 3);
    json error = r.Json()["error"];
    EXPECT_EQ(error["code"], "INVALID_ARGUMENT");
    std::set<std::string> fields;
    for (const auto& v : error["violations"]) {
      fields.insert(v["field"]);
      EXPECT_FALSE(v["description"].get<std::string>().empty());
    }
    EXPECT_EQ(fields, c.fields);
    EXPECT_FALSE(r.err.empty()) << "a sentence for a person on standard error";
  }
  CommandResult garbage =
      broker_->Cli("gwh-ed", {"send", SamplePath("invalid-not-json.txt").string()});
  EXPECT_EQ(garbage.exit_code, 3);
  EXPECT_EQ(garbage.Json()["error"]["code"], "INVALID_ARGUMENT");
  // Readable JSON with a value the form has no name for: that field is named, with every
  // other rule the form breaks, not the parser's first complaint alone.
  std::string misspelt = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"URGENT\"", "\"HIGH\""}, {"999 339 5633", "999 339 5634"}}) {
    misspelt.replace(misspelt.find(from), from.size(), to);
  }
  std::ofstream(dir_.path() / "misspelt.json") << misspelt;
  CommandResult shaped = broker_->Cli("gwh-ed", {"send", (dir_.path() / "misspelt.json").string()});
  EXPECT_EQ(shaped.exit_code, 3);
  json shaped_error = shaped.Json()["error"];
  EXPECT_EQ(shaped_error["code"], "INVALID_ARGUMENT");
  ASSERT_EQ(shaped_error["violations"].size(), 2u) << shaped_error.dump();
  EXPECT_EQ(shaped_error["violations"][0]["field"], "priority");
  EXPECT_EQ(shaped_error["violations"][0]["description"],
            "Must be one of ROUTINE, URGENT or IMMEDIATE, in quotes, written exactly so.");
  EXPECT_EQ(shaped_error["violations"][1]["field"], "child.nhs_number");
  EXPECT_EQ(shaped.out.find("HIGH"), std::string::npos);
  EXPECT_EQ(shaped.err.find("HIGH"), std::string::npos);
  // Nothing was stored anywhere, and the hub keeps serving.
  for (const auto& [user, inbox] : std::map<std::string, std::string>{{"alice", "hv-north"},
                                                                      {"bob", "hv-south"},
                                                                      {"carol", "mash"},
                                                                      {"tess", "triage"},
                                                                      {"priya", "perinatal-mh"},
                                                                      {"gina", "gp-J81012"}}) {
    json listed = broker_->Cli(user, {"inbox", inbox}).Json();
    EXPECT_EQ(listed["items"].size(), 0u) << inbox;
  }
  EXPECT_EQ(broker_->Cli("gwh-ed", {"ping"}).exit_code, 0);
}

TEST_F(HubTest, AnAgencyMaySendOnlyItsOwnTypes) {
  StartBroker();
  for (const Expected& e : kValidSamples) {
    for (const std::string wrong : {"gwh-ed", "gwh-scbu", "northshire-mash"}) {
      if (wrong == e.sender) continue;
      CommandResult r = broker_->Cli(wrong, {"send", SamplePath(e.file).string()});
      EXPECT_EQ(r.exit_code, 4) << e.file << " from " << wrong;
      EXPECT_EQ(r.Json()["error"]["code"], "PERMISSION_DENIED");
    }
  }
  // A person is not an agency; an unknown name is nobody.
  EXPECT_EQ(broker_->Cli("alice", {"send", SamplePath(kValidSamples[0].file).string()}).exit_code,
            4);
  EXPECT_EQ(broker_->Cli("mallory", {"send", SamplePath(kValidSamples[0].file).string()}).exit_code,
            4);
  EXPECT_EQ(broker_->Cli("alice", {"inbox", "hv-north"}).Json()["items"].size(), 0u);
}

TEST_F(HubTest, ARetryIsStoredOnceAndAnsweredTheSame) {
  StartBroker();
  json first = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  json again = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  EXPECT_EQ(first["duplicate"], false);
  EXPECT_EQ(again["duplicate"], true);
  EXPECT_EQ(again["deliveries"], first["deliveries"]);
  EXPECT_EQ(again["priority"], first["priority"]);
  EXPECT_EQ(broker_->Cli("alice", {"inbox", "hv-north"}).Json()["items"].size(), 1u);
}

TEST_F(HubTest, TheSameIdWithOtherContentsIsRefusedNamingTheIdAndTheFirstStands) {
  StartBroker();
  const char* sample = "hospital-liaison-non-mobile-injury.json";
  json first = Send("gwh-ed", sample);
  const auto send = [&](const json& form, const std::string& name,
                        const std::string& as = "gwh-ed") {
    const std::filesystem::path path = dir_.path() / name;
    std::ofstream(path) << form.dump();
    return broker_->Cli(as, {"send", path.string()});
  };
  // The same notification, written differently (the NHS number without its spaces): a
  // retry, stored once, since both are stored normalised.
  json respelt = json::parse(ReadFile(SamplePath(sample)));
  respelt["child"]["nhs_number"] = "9993395633";
  CommandResult retry = send(respelt, "respelt.json");
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_EQ(retry.Json()["duplicate"], true);
  EXPECT_EQ(retry.Json()["deliveries"], first["deliveries"]);
  // Its id reused for other contents: refused, so the sender knows it reached no one.
  json corrected = json::parse(ReadFile(SamplePath(sample)));
  corrected["summary"] = "Corrected: the bruise is on the right side of the neck.";
  CommandResult refused = send(corrected, "corrected.json");
  EXPECT_EQ(refused.exit_code, 3) << refused.out;
  const json error = refused.Json()["error"];
  EXPECT_EQ(error["code"], "INVALID_ARGUMENT");
  ASSERT_EQ(error["violations"].size(), 1u) << refused.out;
  EXPECT_EQ(error["violations"][0]["field"], "id");
  EXPECT_NE(error["message"].get<std::string>().find("needs an id of its own"), std::string::npos)
      << error["message"];
  EXPECT_EQ(error["message"].get<std::string>().find("bruise"), std::string::npos)
      << "the error names ids, not what either form says";
  // The first stands, alone.
  json items = broker_->Cli("alice", {"inbox", "hv-north"}).Json()["items"];
  ASSERT_EQ(items.size(), 1u);
  json shown = broker_->Cli("alice", {"show", first["deliveries"][0]["delivery_id"]}).Json();
  EXPECT_EQ(shown["notification"]["summary"], json::parse(ReadFile(SamplePath(sample)))["summary"]);
  // Its priority: routing raised this one to IMMEDIATE, so a retry sent IMMEDIATE asks for
  // nothing it has not got; a form first sent ROUTINE and stored so, sent again URGENT, is a
  // change the duty worker would never see.
  json urgent = respelt;
  urgent["priority"] = "IMMEDIATE";
  urgent["created_at"] = "2026-11-23T10:16:00Z";  // an HL7 engine may rebuild MSH-7
  CommandResult raised_already = send(urgent, "urgent.json");
  ASSERT_EQ(raised_already.exit_code, 0) << raised_already.err;
  EXPECT_EQ(raised_already.Json()["duplicate"], true);
  const char* routine = "mash-request-gp-information.json";
  ASSERT_EQ(Send("northshire-mash", routine)["priority"], "ROUTINE");
  json raised = json::parse(ReadFile(SamplePath(routine)));
  raised["priority"] = "URGENT";
  CommandResult higher = send(raised, "raised.json", "northshire-mash");
  EXPECT_EQ(higher.exit_code, 3) << higher.out;
  EXPECT_EQ(higher.Json()["error"]["violations"][0]["field"], "id") << higher.out;
  // With an id of its own it is a new notification.
  corrected["id"] = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a99";
  CommandResult fresh = send(corrected, "fresh.json");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(fresh.Json()["duplicate"], false);
  EXPECT_EQ(broker_->Cli("alice", {"inbox", "hv-north"}).Json()["items"].size(), 2u);
  EXPECT_NE(broker_->log().find("refused notification 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01 from "
                                "gwh-ed: its id was used before for other contents"),
            std::string::npos)
      << "operators are told, as of every other refusal";
}

TEST_F(HubTest, OpenedIsNotAcknowledged) {
  StartBroker();
  json sent = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  std::string item = DeliveryIn(sent, "hv-north");
  CommandResult shown = broker_->Cli("alice", {"show", item});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  json show = shown.Json();
  EXPECT_EQ(show["delivery"]["state"], "OPENED");
  EXPECT_EQ(show["notification"]["id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_EQ(show["notification"]["child"]["nhs_number"], "9993395633") << "stored normalised";
  ASSERT_EQ(show["history"].size(), 2u);
  EXPECT_EQ(show["history"][0]["event"], "DELIVERED");
  EXPECT_EQ(show["history"][1]["event"], "OPENED");
  EXPECT_EQ(show["history"][1]["by"], "alice");
  // Still outstanding: listed in the inbox, and the sender sees it opened, not acknowledged.
  json inbox = broker_->Cli("alice", {"inbox", "hv-north"}).Json();
  ASSERT_EQ(inbox["items"].size(), 1u);
  EXPECT_EQ(inbox["items"][0]["state"], "OPENED");
  json status = broker_->Cli("gwh-ed", {"status", sent["id"]}).Json();
  for (const auto& d : status["deliveries"]) {
    if (d["inbox"] != "hv-north") continue;
    EXPECT_EQ(d["opened_by"], json::array({"alice"}));
    EXPECT_TRUE(d["acknowledged_by"].is_null());
  }
}

TEST_F(HubTest, AcknowledgementNeedsANoteIsIdempotentAndTheSenderSeesIt) {
  StartBroker();
  json sent = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  std::string item = DeliveryIn(sent, "hv-north");
  CommandResult no_note = broker_->Cli("alice", {"ack", item, "--note", " "});
  EXPECT_EQ(no_note.exit_code, 3);
  EXPECT_EQ(no_note.Json()["error"]["violations"][0]["field"], "note");
  EXPECT_EQ(broker_->Cli("alice", {"ack", item}).exit_code, 2) << "--note is required";
  // A note typed without quotes: refused, and its words are not repeated back.
  CommandResult unquoted =
      broker_->Cli("alice", {"ack", item, "--note", "Visited", "Ava", "Moss", "at", "home"});
  EXPECT_EQ(unquoted.exit_code, 2);
  EXPECT_NE(unquoted.err.find("in quotes"), std::string::npos) << unquoted.err;
  for (const char* word : {"Ava", "Moss", "home"}) {
    EXPECT_EQ(unquoted.err.find(word), std::string::npos) << unquoted.err;
    EXPECT_EQ(unquoted.out.find(word), std::string::npos) << unquoted.out;
  }

  broker_->Cli("alice", {"admin", "advance-clock", "5m"});
  CommandResult acked = broker_->Cli("alice", {"ack", item, "--note", "Visiting today at 2pm"});
  ASSERT_EQ(acked.exit_code, 0) << acked.err;
  json ack = acked.Json();
  EXPECT_EQ(ack["acknowledged_by"], "alice");
  EXPECT_EQ(ack["acknowledged_at"], "2026-11-23T16:05:00Z");
  EXPECT_EQ(ack["note"], "Visiting today at 2pm");
  EXPECT_EQ(ack["already_acknowledged"], false);

  broker_->Cli("alice", {"admin", "advance-clock", "1h"});
  json again = broker_->Cli("dan", {"ack", item, "--note", "Also me"}).Json();
  EXPECT_EQ(again["already_acknowledged"], true);
  EXPECT_EQ(again["acknowledged_by"], "alice");
  EXPECT_EQ(again["acknowledged_at"], "2026-11-23T16:05:00Z");
  EXPECT_EQ(again["note"], "Visiting today at 2pm");

  EXPECT_EQ(broker_->Cli("alice", {"inbox", "hv-north"}).Json()["items"].size(), 0u);
  json all = broker_->Cli("alice", {"inbox", "hv-north", "--all"}).Json();
  ASSERT_EQ(all["items"].size(), 1u);
  EXPECT_EQ(all["items"][0]["state"], "ACKNOWLEDGED");

  json status = broker_->Cli("gwh-ed", {"status", sent["id"]}).Json();
  bool seen = false;
  for (const auto& d : status["deliveries"]) {
    if (d["inbox"] != "hv-north") continue;
    seen = true;
    EXPECT_EQ(d["state"], "ACKNOWLEDGED");
    EXPECT_EQ(d["acknowledged_by"], "alice");
    EXPECT_EQ(d["acknowledged_at"], "2026-11-23T16:05:00Z");
    EXPECT_EQ(d["note"], "Visiting today at 2pm");
  }
  EXPECT_TRUE(seen);
}

TEST_F(HubTest, TransferMakesANewItemWithAFreshClock) {
  StartBroker();
  json sent = Send("northshire-mash", "mash-request-home-visit.json");
  std::string item = DeliveryIn(sent, "hv-south");
  broker_->Cli("bob", {"admin", "advance-clock", "30m"});
  CommandResult moved = broker_->Cli("bob", {"transfer", item, "--to", "hv-north", "--reason",
                                             "Family moved to Northbridge last week"});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  json transfer = moved.Json();
  EXPECT_EQ(transfer["inbox"], "hv-north");
  EXPECT_NE(transfer["delivery_id"], item);
  // Fresh clock from 16:30 Monday: 4 office hours is Tuesday 11:30, capped by respond_by.
  EXPECT_EQ(transfer["due_at"], "2026-11-24T09:05:00Z");

  EXPECT_EQ(transfer["already_transferred"], false);
  // Its answer lost (a timeout, a reconnect), bob's client sends it again: that transfer's
  // answer, nothing new. Another transfer of the moved item is refused.
  CommandResult again = broker_->Cli("bob", {"transfer", item, "--to", "hv-north", "--reason",
                                             "Family moved to Northbridge last week"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.Json()["delivery_id"], transfer["delivery_id"]);
  EXPECT_EQ(again.Json()["due_at"], transfer["due_at"]);
  EXPECT_EQ(again.Json()["already_transferred"], true);
  EXPECT_EQ(broker_
                ->Cli("bob", {"transfer", item, "--to", "school-nursing", "--reason",
                              "Family moved to Northbridge last week"})
                .exit_code,
            3);
  EXPECT_EQ(
      broker_->Cli("bob", {"transfer", item, "--to", "hv-north", "--reason", "Other"}).exit_code,
      3);

  EXPECT_EQ(broker_->Cli("bob", {"inbox", "hv-south"}).Json()["items"].size(), 0u);
  json north = broker_->Cli("alice", {"inbox", "hv-north"}).Json();
  ASSERT_EQ(north["items"].size(), 1u);
  EXPECT_EQ(north["items"][0]["delivery_id"], transfer["delivery_id"]);
  // The original cannot be acknowledged or transferred again; the new one can.
  EXPECT_EQ(broker_->Cli("bob", {"ack", item, "--note", "x"}).exit_code, 3);
  EXPECT_EQ(broker_->Cli("bob", {"show", transfer["delivery_id"]}).exit_code, 4);
  EXPECT_EQ(
      broker_->Cli("alice", {"ack", transfer["delivery_id"], "--note", "Will visit"}).exit_code, 0);

  json status = broker_->Cli("northshire-mash", {"status", sent["id"]}).Json();
  std::map<std::string, std::string> states;
  for (const auto& d : status["deliveries"]) states[d["inbox"]] = d["state"];
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"hv-south", "TRANSFERRED"},
                                                        {"hv-north", "ACKNOWLEDGED"}}));
  json history = broker_->Cli("dan", {"show", item}).Json()["history"];
  bool recorded = false;
  for (const auto& e : history) {
    if (e["event"] == "TRANSFERRED") {
      recorded = true;
      EXPECT_EQ(e["by"], "bob");
      EXPECT_EQ(e["note"], "Family moved to Northbridge last week");
    }
  }
  EXPECT_TRUE(recorded);
  EXPECT_EQ(
      broker_
          ->Cli("alice", {"transfer", transfer["delivery_id"], "--to", "nowhere", "--reason", "x"})
          .exit_code,
      6);
}

// A retried transfer is answered as the transfer it repeats only while that still stands:
// moved on since (here back again), the same words are a new transfer, and refused.
TEST_F(HubTest, ARetriedTransferIsNotAnsweredForAnItemMovedOnSince) {
  StartBroker();
  json sent = Send("northshire-mash", "mash-request-home-visit.json");
  const std::string item = DeliveryIn(sent, "hv-south");
  const std::vector<std::string> to_north = {"transfer", item,       "--to",
                                             "hv-north", "--reason", "Family moved to Northbridge"};
  CommandResult moved = broker_->Cli("bob", to_north);
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_EQ(broker_
                ->Cli("dan", {"transfer", item, "--to", "hv-north", "--reason",
                              "Family moved to Northbridge"})
                .exit_code,
            3)
      << "someone else's words are no retry of bob's";
  CommandResult back = broker_->Cli("alice", {"transfer", moved.Json()["delivery_id"], "--to",
                                              "hv-south", "--reason", "Not yet"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(broker_->Cli("bob", to_north).exit_code, 3) << "moved on since: not that transfer's";
}

TEST_F(HubTest, NobodyElseSeesAThing) {
  StartBroker();
  json sent = Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");
  std::string item = DeliveryIn(sent, "hv-north");
  EXPECT_EQ(broker_->Cli("bob", {"inbox", "hv-north"}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("bob", {"show", item}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("bob", {"ack", item, "--note", "x"}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("bob", {"transfer", item, "--to", "hv-south", "--reason", "x"}).exit_code,
            4);
  EXPECT_EQ(broker_->Cli("gwh-ed", {"inbox", "hv-north"}).exit_code, 4)
      << "an agency reads no inbox";
  EXPECT_EQ(broker_->Cli("alice", {"status", sent["id"]}).exit_code, 4)
      << "a member is not a manager";
  EXPECT_EQ(broker_->Cli("erin", {"inbox", "hv-north"}).exit_code, 4);
  // Managers may: dan manages hv-north, frank every inbox, erin the MASH's.
  EXPECT_EQ(broker_->Cli("dan", {"inbox", "hv-north"}).exit_code, 0);
  EXPECT_EQ(broker_->Cli("frank", {"show", item}).exit_code, 0);
  EXPECT_EQ(broker_->Cli("dan", {"status", sent["id"]}).exit_code, 0);
  EXPECT_EQ(broker_->Cli("erin", {"status", sent["id"]}).exit_code, 0);
  // Each manager reads the copies in the inboxes they manage, not the other team's (who
  // opened it there, who acknowledged it and their note); the sender and frank, all.
  auto inboxes_seen_by = [&](const std::string& who) {
    std::set<std::string> inboxes;
    CommandResult status = broker_->Cli(who, {"status", sent["id"]});
    const json answer = status.Json();
    EXPECT_TRUE(answer.contains("deliveries")) << who << ": " << status.out << status.err;
    if (answer.contains("deliveries"))
      for (const auto& d : answer["deliveries"]) inboxes.insert(d["inbox"].get<std::string>());
    return inboxes;
  };
  EXPECT_EQ(
      broker_
          ->Cli("carol", {"ack", DeliveryIn(sent, "mash"), "--note", "Strategy discussion today"})
          .exit_code,
      0);
  EXPECT_EQ(inboxes_seen_by("dan"), std::set<std::string>{"hv-north"});
  EXPECT_EQ(inboxes_seen_by("erin"), std::set<std::string>{"mash"});
  EXPECT_EQ(inboxes_seen_by("frank"), (std::set<std::string>{"hv-north", "mash"}));
  EXPECT_EQ(inboxes_seen_by("gwh-ed"), (std::set<std::string>{"hv-north", "mash"}));
  EXPECT_EQ(broker_->Cli("dan", {"status", sent["id"]}).out.find("Strategy discussion"),
            std::string::npos);
  // Escalated to his team's inbox, of which he is a member: that copy he reads too.
  ASSERT_EQ(broker_->Cli("frank", {"admin", "advance-clock", "20m"}).exit_code, 0);
  EXPECT_EQ(inboxes_seen_by("dan"), (std::set<std::string>{"hv-north", "hv-managers"}));
  EXPECT_EQ(inboxes_seen_by("erin"), std::set<std::string>{"mash"});
  // Another agency is told nothing, not even that the notification exists.
  EXPECT_EQ(broker_->Cli("gwh-scbu", {"status", sent["id"]}).exit_code, 6);
  // Opening by someone refused left no trace.
  json history = broker_->Cli("alice", {"show", item}).Json()["history"];
  for (const auto& e : history) EXPECT_NE(e["by"], "bob");
}

TEST_F(HubTest, UnknownIdsAreNotFound) {
  StartBroker();
  const std::string nobody = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(broker_->Cli("alice", {"show", nobody}).exit_code, 6);
  EXPECT_EQ(broker_->Cli("alice", {"ack", nobody, "--note", "x"}).exit_code, 6);
  EXPECT_EQ(broker_->Cli("gwh-ed", {"status", nobody}).exit_code, 6);
  CommandResult no_inbox = broker_->Cli("alice", {"inbox", "hv-west"});
  EXPECT_EQ(no_inbox.exit_code, 6);
  EXPECT_EQ(no_inbox.Json()["error"]["code"], "NOT_FOUND");
}

TEST_F(HubTest, SimulatedClockMovesOnlyWhenTold) {
  StartBroker();
  EXPECT_EQ(broker_->Cli("alice", {"admin", "time"}).Json()["now"], kMondayAfternoon);
  EXPECT_EQ(broker_->Cli("alice", {"admin", "advance-clock", "2d"}).Json()["now"],
            "2026-11-25T16:00:00Z");
  EXPECT_EQ(broker_->Cli("alice", {"admin", "advance-clock", "soon"}).exit_code, 2);
  EXPECT_EQ(broker_->Cli("alice", {"admin", "time"}).Json()["now"], "2026-11-25T16:00:00Z");
}

TEST_F(HubTest, TheBrokerLogNamesIdsNeverAChildsDetails) {
  StartBroker();
  ASSERT_GT(PersonalDetailsInSamples().size(), 40u);
  for (const Expected& e : kValidSamples) {
    json sent = Send(e.sender, e.file);
    std::string item = sent["deliveries"][0]["delivery_id"];
    broker_->Cli("frank", {"show", item});
    broker_->Cli("frank", {"ack", item, "--note", "Checked"});
  }
  for (const char* invalid : {"invalid-nhs-number.json", "invalid-father-recorded-but-absent.json",
                              "invalid-many-errors.json"}) {
    broker_->Cli("gwh-ed", {"send", SamplePath(invalid).string()});
    broker_->Cli("gwh-scbu", {"send", SamplePath(invalid).string()});
  }
  broker_->Cli("gwh-ed", {"send", SamplePath("invalid-not-json.txt").string()});
  // `area` is any text, and a rule makes an inbox's name of it: someone's address written
  // there names no inbox, and the log says which rule's template missed, not the name.
  json odd = json::parse(ReadFile(SamplePath("scbu-discharge-unknown-area.json")));
  odd["id"] = "6f1c3a52-8d7e-4b7a-9c1e-2a4d5e6f7a8b";
  odd["area"] = "12 Acacia Avenue, NS1 4AB";
  const std::filesystem::path odd_path = dir_.path() / "odd-area.json";
  std::ofstream(odd_path) << odd.dump();
  EXPECT_EQ(broker_->Cli("gwh-scbu", {"send", odd_path.string()}).exit_code, 0);
  ASSERT_EQ(broker_->Stop(), 0);
  std::string log = WithoutTimestamps(broker_->log());
  ASSERT_NE(log.find("accepted notification"), std::string::npos)
      << "the log does say what happened";
  ExpectNoPersonalDetails(log, "the broker log");
  EXPECT_EQ(log.find("Ellis"), std::string::npos);
  EXPECT_EQ(log.find("Acacia"), std::string::npos) << "the payload's area is in the log";
  EXPECT_NE(log.find("no inbox for hv-{area}: fallback used"), std::string::npos)
      << "the log says why a copy went to triage";
}

TEST_F(HubTest, EveryConfirmationIsInTheBrokerLogAsSoonAsConfirmedAndSurvivesAKill) {
  // The broker gathers its log lines when its output is a file (broker/log_sink.h); the
  // line for a confirmed request is written out by the time its confirmation arrives.
  StartBroker();
  for (const Expected& e : kValidSamples) {
    json sent = Send(e.sender, e.file);
    const std::string id = sent["id"];
    const std::string item = sent["deliveries"][0]["delivery_id"];
    EXPECT_NE(broker_->log().find("accepted notification " + id + " from " + e.sender),
              std::string::npos)
        << e.file << ": confirmed, but the broker's log does not say so yet";
    ASSERT_EQ(broker_->Cli("frank", {"ack", item, "--note", "Checked"}).exit_code, 0);
    EXPECT_NE(broker_->log().find("delivery " + item + " acknowledged by frank"), std::string::npos)
        << e.file << ": acknowledged, but the broker's log does not say so yet";
  }
  broker_->Kill9();
  const std::string log = broker_->log();
  size_t accepted = 0;
  for (size_t at = log.find("accepted notification "); at != std::string::npos;
       at = log.find("accepted notification ", at + 1)) {
    ++accepted;
  }
  EXPECT_EQ(accepted, kValidSamples.size()) << "every confirmation's line survives a kill -9";
}

// A watch started on a connection of its own: the events sent before its answer, and the
// answer.
struct StartedWatch {
  std::vector<v1::WatchEvent> events;
  v1::Reply answer;
};
StartedWatch StartWatch(const std::string& endpoint, const std::string& as,
                        const std::string& inbox, bool resume, int64_t after_seq) {
  HubClient client(endpoint, as);
  v1::Request request;
  request.mutable_watch()->set_inbox(inbox);
  request.mutable_watch()->set_resume(resume);
  request.mutable_watch()->set_after_seq(after_seq);
  StartedWatch started;
  auto id = client.Post(request, std::chrono::seconds(5));
  EXPECT_TRUE(id.ok());
  while (auto reply = client.Next(std::chrono::seconds(5))) {
    if (reply->has_event()) {
      started.events.push_back(reply->event());
      continue;
    }
    started.answer = *reply;
    break;
  }
  return started;
}

// A watch that picks up again is sent the events of its own inbox after the seq it names,
// before the answer that says up to where; far behind (or ahead of) the audit, it is told
// it may have missed some, and nothing is sent again.
TEST_F(HubTest, AResumedWatchSendsItsInboxsEventsAfterTheSeqThenSaysUpToWhere) {
  StartBroker();
  auto watch = [&](bool resume, int64_t after_seq) {
    return StartWatch(broker_->endpoint(), "alice", "hv-north", resume, after_seq);
  };
  StartedWatch first = watch(false, 0);
  ASSERT_EQ(first.answer.status().code(), v1::Status::OK);
  const int64_t before = first.answer.watch().seq();
  Send("gwh-ed", "hospital-liaison-non-mobile-injury.json");  // hv-north and the MASH
  Send("gwh-ed", "hospital-liaison-school-age.json");         // school nursing only

  StartedWatch again = watch(true, before);
  ASSERT_EQ(again.answer.status().code(), v1::Status::OK);
  ASSERT_EQ(again.events.size(), 1u) << "hv-north's one event, not the other inboxes'";
  EXPECT_EQ(again.events[0].event(), v1::EVENT_DELIVERED);
  EXPECT_EQ(again.events[0].inbox(), "hv-north");
  EXPECT_GT(again.events[0].seq(), before);
  EXPECT_EQ(again.answer.watch().replayed(), 1);
  EXPECT_FALSE(again.answer.watch().missed());
  EXPECT_EQ(again.answer.watch().seq(), before + 3) << "three deliveries, three audit entries";

  EXPECT_TRUE(watch(false, before).events.empty()) << "without resume: from now";
  StartedWatch ahead = watch(true, 1'000'000);  // a store restored from an older backup
  EXPECT_TRUE(ahead.answer.watch().missed());
  EXPECT_TRUE(ahead.events.empty());
  StartedWatch negative = watch(true, -1);
  EXPECT_EQ(negative.answer.status().code(), v1::Status::INVALID_ARGUMENT);
  ASSERT_EQ(negative.answer.status().violations_size(), 1);
  EXPECT_EQ(negative.answer.status().violations(0).field(), "after_seq");
}

// More of an inbox's events than one connection's queue of replies safely holds are not
// sent again (ZeroMQ would drop the excess without a word): the watcher is told it missed
// some, and where the watch goes on from.
TEST_F(HubTest, AResumedWatchWithTooManyEventsToResendIsToldItMissedThem) {
  StartBroker();
  const int64_t before =
      StartWatch(broker_->endpoint(), "sam", "school-nursing", false, 0).answer.watch().seq();
  Notifications notifications;
  HubClient agency(broker_->endpoint(), "gwh-ed");
  for (int n = 0; n < 501; ++n) {
    v1::Request request;
    request.mutable_send()->set_notification_json(notifications.With(Notifications::Id(0, n)));
    auto reply = agency.Call(request, std::chrono::seconds(5));
    ASSERT_TRUE(reply.ok());
    ASSERT_EQ(reply->status().code(), v1::Status::OK) << reply->status().message();
  }
  StartedWatch resumed = StartWatch(broker_->endpoint(), "sam", "school-nursing", true, before);
  ASSERT_EQ(resumed.answer.status().code(), v1::Status::OK);
  EXPECT_TRUE(resumed.answer.watch().missed());
  EXPECT_TRUE(resumed.events.empty());
  EXPECT_EQ(resumed.answer.watch().seq(), before + 501);
  StartedWatch fewer = StartWatch(broker_->endpoint(), "sam", "school-nursing", true, before + 1);
  EXPECT_FALSE(fewer.answer.watch().missed());
  EXPECT_EQ(fewer.events.size(), 500u);
}

// CLI.md: on any error, with --json, standard output holds the error document.
TEST_F(HubTest, AnEndpointZeroMqCannotUseIsAUsageErrorWithTheErrorDocument) {
  for (const char* endpoint : {"foo", "tcp://", "tcp://127.0.0.1:notaport"}) {
    CommandResult r = RunCommand(
        {DUTYHUB_CLI_BIN, "--broker", endpoint, "--as", "alice", "--json", "inbox", "hv-north"});
    EXPECT_EQ(r.exit_code, 2) << endpoint << ": " << r.err;
    EXPECT_EQ(r.Json()["error"]["code"], "USAGE") << endpoint << ": " << r.out;
    EXPECT_NE(r.err.find("--broker"), std::string::npos) << r.err;
  }
}

TEST_F(HubTest, ACommandLineThatIsNotUtf8StillGetsAnErrorDocument) {
  CommandResult r = RunCommand({DUTYHUB_CLI_BIN, "--as", "alice", "--json", "inbox", "hv-north",
                                "extra\xff\xfe", "--bogus\xc3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  json error = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << r.out;
  EXPECT_EQ(error["error"]["code"], "USAGE");
}

TEST_F(HubTest, NoBrokerIsUnavailable) {
  CommandResult r = RunCommand({DUTYHUB_CLI_BIN, "--broker", "tcp://127.0.0.1:1", "--timeout",
                                "0.5", "--as", "alice", "--json", "inbox", "hv-north"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.Json()["error"]["code"], "UNAVAILABLE");
}

}  // namespace
}  // namespace dutyhub::testing
