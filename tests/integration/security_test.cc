// Authentication, authorisation and the audit through the real binaries with CURVE on:
// keys made by `dutyhub keygen`, the broker started without --insecure-dev.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

class SecureHub : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = dir_.path() / "keys";
    MakeKeys(keys_, NorthshirePrincipals());
    broker_ = std::make_unique<BrokerProcess>(
        ConfigPath("northshire.yaml"), dir_.path() / "data",
        std::vector<std::string>{"--simulated-clock", "2026-11-23T16:00:00Z"});
    broker_->UseKeys(keys_);
    ASSERT_TRUE(broker_->Start()) << broker_->log();
  }

  CommandResult Raw(std::vector<std::string> args) {
    std::vector<std::string> argv = {DUTYHUB_CLI_BIN, "--broker",  broker_->endpoint(),
                                     "--json",        "--timeout", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::string Sample(const std::string& name) { return SamplePath(name).string(); }

  TempDir dir_;
  std::filesystem::path keys_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(SecureHub, KeygenWritesASecretOnlyItsOwnerCanRead) {
  auto status = std::filesystem::status(keys_ / "alice.key");
  EXPECT_EQ(status.permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string pub = ReadFile(keys_ / "alice.pub");
  EXPECT_EQ(pub.size(), 41u) << "a Z85 public key and a newline";
  EXPECT_NE(ReadFile(keys_ / "alice.key").find("secret-key = "), std::string::npos);
  EXPECT_NE(
      RunCommand({DUTYHUB_CLI_BIN, "keygen", "--out", (keys_ / "alice.key").string()}).exit_code, 0)
      << "an existing key file is never overwritten";
}

TEST_F(SecureHub, NoKeyIsRefused) {
  const auto started = std::chrono::steady_clock::now();
  CommandResult r = Raw({"--as", "gwh-ed", "send", Sample("hospital-liaison-school-age.json")});
  EXPECT_EQ(r.exit_code, 5);
  // Said at once, from the handshake, not as "no broker" after the whole --timeout.
  EXPECT_NE(r.err.find("it may want a key, and none was given: --key FILE"), std::string::npos)
      << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  EXPECT_EQ(broker_->Cli("alice", {"inbox", "school-nursing"}).exit_code, 4);
  EXPECT_EQ(broker_->Cli("sam", {"inbox", "school-nursing"}).Json()["items"].size(), 0u)
      << "nothing was stored";
}

TEST_F(SecureHub, AnUnknownKeyIsRefusedAtTheHandshakeAndLoggedByFingerprint) {
  MakeKeys(dir_.path() / "strangers", {"mallory"});
  CommandResult r =
      Raw({"--key", (dir_.path() / "strangers" / "mallory.key").string(), "--broker-key",
           (keys_ / "broker.pub").string(), "send", Sample("hospital-liaison-school-age.json")});
  // Refused by the broker at the handshake: said so at once, exit 4, and what to do.
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.Json()["error"]["code"], "PERMISSION_DENIED") << r.out;
  EXPECT_NE(r.err.find("the broker refused this key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ask the hub's administrator to add its public key"), std::string::npos);
  std::string fingerprint = ReadFile(dir_.path() / "strangers" / "mallory.pub").substr(0, 12);
  EXPECT_NE(broker_->log().find("unknown key " + fingerprint), std::string::npos) << broker_->log();
  // A client that trusts the wrong broker key does not get through either.
  CommandResult wrong_broker = Raw({"--key", (keys_ / "gwh-ed.key").string(), "--broker-key",
                                    (dir_.path() / "strangers" / "broker.pub").string(), "ping"});
  EXPECT_EQ(wrong_broker.exit_code, 5);
  EXPECT_NE(wrong_broker.err.find("check --broker-key"), std::string::npos) << wrong_broker.err;
}

// An adapter whose key the broker does not know says so in its log, once, and keeps what it
// accepted in its outbox; it is the key, not the network, the engineer must look at.
TEST_F(SecureHub, AnAdapterWithAKeyTheBrokerRefusesSaysSoOnceAndKeepsItsOutbox) {
  MakeKeys(dir_.path() / "strangers", {"mallory"});
  const std::filesystem::path home = dir_.path() / "adapter";
  std::filesystem::create_directories(home / "drop");
  std::ofstream(home / "adapter.yaml")
      << "agency: northshire-mash\nbroker: " << broker_->endpoint()
      << "\nkey: " << (dir_.path() / "strangers" / "mallory.key").string()
      << "\nbroker_key: " << (keys_ / "broker.pub").string()
      << "\noutbox: " << (home / "outbox.sqlite").string()
      << "\nfolder: " << (home / "drop").string() << "\n";
  BackgroundCommand adapter({DUTYHUB_FOLDER_BIN, "--config", (home / "adapter.yaml").string()},
                            LogFolder() / ("refused-adapter-" + std::to_string(getpid()) + ".log"));
  ASSERT_TRUE(adapter.WaitFor("watching")) << adapter.Output();
  std::ofstream(home / "drop" / "one.json.tmp")
      << ReadFile(SamplePath("mash-request-home-visit.json"));
  std::filesystem::rename(home / "drop" / "one.json.tmp", home / "drop" / "one.json");
  ASSERT_TRUE(adapter.WaitFor("the broker refused this key")) << adapter.Output();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // retries meanwhile, said nothing more
  const std::string log = adapter.Output();
  size_t said = 0;
  for (size_t at = log.find("the broker refused this key"); at != std::string::npos;
       at = log.find("the broker refused this key", at + 1))
    ++said;
  EXPECT_EQ(said, 1u) << log;
  EXPECT_NE(log.find("waits in the outbox"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(home / "drop" / "sent" / "one.json"));
  EXPECT_EQ(
      SqliteQuery(home / "outbox.sqlite", "SELECT COUNT(*) FROM outbox WHERE state = 'PENDING'"),
      "1");
  EXPECT_EQ(broker_->Cli("bob", {"inbox", "hv-south"}).Json()["items"].size(), 0u);
}

TEST_F(SecureHub, APersonsKeyCannotSendAsAnAgency) {
  CommandResult r = Raw({"--key", (keys_ / "alice.key").string(), "--as", "gwh-ed", "send",
                         Sample("hospital-liaison-school-age.json")});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("alice"), std::string::npos)
      << "the broker judged alice, whatever --as said";
  // And an agency's key does send.
  EXPECT_EQ(broker_->Cli("gwh-ed", {"send", Sample("hospital-liaison-school-age.json")}).exit_code,
            0);
}

// Every principal, every operation, through the binaries; expected from northshire.md.
TEST_F(SecureHub, TheWholeMatrix) {
  std::map<std::string, std::string> sent_by_inbox;                // inbox -> a delivery id there
  std::vector<std::pair<std::string, std::string>> notifications;  // (sender, id)
  for (const auto& [file, sender] : std::vector<std::pair<std::string, std::string>>{
           {"hospital-liaison-non-mobile-injury.json", "gwh-ed"},
           {"hospital-liaison-school-age.json", "gwh-ed"},
           {"mash-request-home-visit.json", "northshire-mash"},
           {"mash-request-gp-information.json", "northshire-mash"},
           {"scbu-discharge-mental-health-no-meeting.json", "gwh-scbu"},
           {"scbu-discharge-unknown-area.json", "gwh-scbu"}}) {
    json sent = broker_->Cli(sender, {"send", Sample(file)}).Json();
    notifications.emplace_back(sender, sent["id"]);
    for (const auto& d : sent["deliveries"]) sent_by_inbox[d["inbox"]] = d["delivery_id"];
  }
  const std::map<std::string, std::set<std::string>> acts_on = {
      {"alice", {"hv-north"}},
      {"bob", {"hv-south"}},
      {"carol", {"mash"}},
      {"sam", {"school-nursing"}},
      {"priya", {"perinatal-mh"}},
      {"gina", {"gp-J81012", "gp-J81034"}},
      {"eddie", {"eds"}},
      {"dan", {"hv-managers", "hv-north", "hv-south", "school-nursing"}},
      {"erin", {"mash-managers", "mash", "eds"}},
      {"tess", {"triage"}}};
  const std::set<std::string> all_inboxes = {
      "hv-north",  "hv-south", "school-nursing", "mash",          "perinatal-mh",       "gp-J81012",
      "gp-J81034", "eds",      "hv-managers",    "mash-managers", "safeguarding-leads", "triage"};
  const std::map<std::string, std::set<std::string>> manages = {
      {"dan", {"hv-north", "hv-south", "school-nursing"}},
      {"erin", {"mash", "eds"}},
      {"frank", all_inboxes}};
  const std::map<std::string, std::string> sends = {
      {"gwh-ed", "hospital-liaison-school-age.json"},
      {"gwh-scbu", "scbu-discharge-unknown-area.json"},
      {"northshire-mash", "mash-request-gp-information.json"}};
  auto allowed = [](const CommandResult& r) { return r.exit_code == 0; };
  int checked = 0;
  for (const std::string& who : NorthshirePrincipals()) {
    SCOPED_TRACE(who);
    auto may_act = [&](const std::string& inbox) {
      if (who == "frank") return true;
      auto it = acts_on.find(who);
      return it != acts_on.end() && it->second.count(inbox) > 0;
    };
    for (const auto& [agency, file] : sends) {
      // A retry of an already stored notification: allowed answers duplicate, refused 4.
      CommandResult r = broker_->Cli(who, {"send", Sample(file)});
      EXPECT_EQ(allowed(r), who == agency) << "send " << file;
      if (who != agency) {
        EXPECT_EQ(r.exit_code, 4);
      }
      ++checked;
    }
    for (const std::string& inbox : all_inboxes) {
      EXPECT_EQ(allowed(broker_->Cli(who, {"inbox", inbox})), may_act(inbox)) << "inbox " << inbox;
      ++checked;
      auto item = sent_by_inbox.find(inbox);
      if (item == sent_by_inbox.end()) continue;
      EXPECT_EQ(allowed(broker_->Cli(who, {"show", item->second})), may_act(inbox))
          << "show in " << inbox;
      // Refused acknowledgements and transfers must leave the item outstanding; allowed
      // ones are tried on a fresh copy of the matrix elsewhere, so ask with an empty note
      // (INVALID_ARGUMENT, 3) to tell "allowed" (3) from "refused" (4) without acting.
      EXPECT_EQ(broker_->Cli(who, {"ack", item->second, "--note", " "}).exit_code,
                may_act(inbox) ? 3 : 4)
          << "ack in " << inbox;
      EXPECT_EQ(broker_->Cli(who, {"transfer", item->second, "--to", "triage", "--reason", " "})
                    .exit_code,
                may_act(inbox) ? 3 : 4)
          << "transfer in " << inbox;
      checked += 3;
    }
    const auto managed = manages.find(who);
    for (const auto& [sender, id] : notifications) {
      bool expected = who == sender;
      if (managed != manages.end()) {
        json status = broker_->Cli("frank", {"status", id}).Json();
        for (const auto& d : status["deliveries"])
          expected = expected || managed->second.count(d["inbox"]) > 0;
      }
      EXPECT_EQ(allowed(broker_->Cli(who, {"status", id})), expected) << "status of " << id;
      ++checked;
    }
    bool manager = managed != manages.end();
    EXPECT_EQ(allowed(broker_->Cli(who, {"overdue"})), manager) << "overdue";
    EXPECT_EQ(allowed(broker_->Cli(who, {"report"})), manager) << "report";
    EXPECT_EQ(allowed(broker_->Cli(who, {"audit", "access", "--nhs-number", "9993395633"})),
              manager)
        << "audit access";
    EXPECT_EQ(allowed(broker_->Cli(who, {"admin", "time"})), who == "frank") << "admin";
    EXPECT_EQ(allowed(broker_->Cli(who, {"audit", "verify"})), who == "frank") << "audit verify";
    checked += 5;
  }
  EXPECT_GT(checked, 600);
  // Nothing refused left a trace of having happened: every item is still outstanding.
  for (const auto& [inbox, id] : sent_by_inbox) {
    json shown = broker_->Cli("frank", {"show", id}).Json();
    EXPECT_EQ(shown["delivery"]["state"], "OPENED") << inbox;
  }
}

TEST_F(SecureHub, TheAuditVerifiesAndNamesTheFirstEditedOrDeletedEntry) {
  json sent =
      broker_->Cli("gwh-ed", {"send", Sample("hospital-liaison-non-mobile-injury.json")}).Json();
  std::string item = sent["deliveries"][0]["delivery_id"];
  ASSERT_EQ(broker_->Cli("alice", {"show", item}).exit_code, 0);
  ASSERT_EQ(broker_->Cli("alice", {"ack", item, "--note", "Visited; baby well"}).exit_code, 0);
  CommandResult ok = broker_->Cli("frank", {"audit", "verify"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.Json()["intact"], true);
  EXPECT_EQ(ok.Json()["entries"], 4);  // delivered twice, opened, acknowledged

  const std::string store = (dir_.path() / "data" / "dutyhub.sqlite").string();
  // Someone softens the acknowledgement's note behind the hub's back.
  CommandResult edit = RunCommand(
      {"/usr/bin/sqlite3", store, "UPDATE events SET note = 'Not needed' WHERE seq = 4"});
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  CommandResult edited = broker_->Cli("frank", {"audit", "verify"});
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_EQ(edited.Json()["intact"], false);
  EXPECT_EQ(edited.Json()["first_bad_entry"], 4);
  RunCommand(
      {"/usr/bin/sqlite3", store, "UPDATE events SET note = 'Visited; baby well' WHERE seq = 4"});
  EXPECT_EQ(broker_->Cli("frank", {"audit", "verify"}).exit_code, 0)
      << "restored, the chain holds again";

  // Someone swaps two entries, so that the acknowledgement seems to come before the opening.
  ASSERT_EQ(
      RunCommand(
          {"/usr/bin/sqlite3", store,
           "UPDATE events SET seq = -1 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 4; "
           "UPDATE events SET seq = 4 WHERE seq = -1"})
          .exit_code,
      0);
  CommandResult reordered = broker_->Cli("frank", {"audit", "verify"});
  EXPECT_EQ(reordered.exit_code, 1);
  EXPECT_EQ(reordered.Json()["first_bad_entry"], 3);
  RunCommand({"/usr/bin/sqlite3", store,
              "UPDATE events SET seq = -1 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 4; "
              "UPDATE events SET seq = 4 WHERE seq = -1"});
  EXPECT_EQ(broker_->Cli("frank", {"audit", "verify"}).exit_code, 0)
      << "put back, the chain holds again";

  // Someone removes the record that alice opened it.
  ASSERT_EQ(RunCommand({"/usr/bin/sqlite3", store, "DELETE FROM events WHERE seq = 3"}).exit_code,
            0);
  CommandResult deleted = broker_->Cli("frank", {"audit", "verify"});
  EXPECT_EQ(deleted.exit_code, 1);
  EXPECT_EQ(deleted.Json()["first_bad_entry"], 3);
  EXPECT_NE(deleted.Json()["problem"].get<std::string>().find("deleted"), std::string::npos);
}

TEST_F(SecureHub, TheAccessLogListsWhoOpenedWhatAboutAChild) {
  json sent =
      broker_->Cli("gwh-ed", {"send", Sample("hospital-liaison-non-mobile-injury.json")}).Json();
  std::string item = sent["deliveries"][0]["delivery_id"];
  broker_->Cli("alice", {"show", item});
  json log = broker_->Cli("dan", {"audit", "access", "--nhs-number", "999 339 5633"}).Json();
  ASSERT_EQ(log["accesses"].size(), 1u);
  EXPECT_EQ(log["accesses"][0]["by"], "alice");
  EXPECT_EQ(log["accesses"][0]["inbox"], "hv-north");
  EXPECT_EQ(log["accesses"][0]["notification_id"], "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_EQ(log["accesses"][0]["at"], "2026-11-23T16:00:00Z");
  // erin manages the MASH, where nobody opened it yet.
  EXPECT_EQ(broker_->Cli("erin", {"audit", "access", "--nhs-number", "9993395633"})
                .Json()["accesses"]
                .size(),
            0u);
  EXPECT_EQ(broker_->Cli("dan", {"audit", "access", "--nhs-number", "9990001112"}).exit_code, 3)
      << "not a valid NHS number";
}

}  // namespace
}  // namespace dutyhub::testing
