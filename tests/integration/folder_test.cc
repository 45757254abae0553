// The folder adapter through real processes: samples in, sent/ and failed/ out, receipts
// written back, and store-and-forward: nothing lost or doubled while the broker is away
// or the adapter is killed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string WithId(const std::string& sample, int n) {
  char id[64];
  std::snprintf(id, sizeof id, "\"id\": \"f0000000-0000-4000-8000-%012d\"", n);
  return std::regex_replace(ReadFile(SamplePath(sample)), std::regex("\"id\": \"[0-9a-f-]+\""), id,
                            std::regex_constants::format_first_only);
}

class FolderAdapter : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(FreePort());
    broker_ = std::make_unique<BrokerProcess>(
        ConfigPath("northshire.yaml"), dir_.path() / "data",
        std::vector<std::string>{"--simulated-clock", "2026-11-23T16:00:00Z"});
    broker_->ListenOn(endpoint_);
  }

  // One adapter per agency, each with its own folder and outbox, as in real life.
  std::unique_ptr<BackgroundCommand> StartAdapter(const std::string& agency) {
    fs::path home = dir_.path() / agency;
    fs::create_directories(home / "drop");
    std::ofstream(home / "adapter.yaml")
        << "agency: " << agency << "\nbroker: " << endpoint_ << "\ninsecure_as: " << agency
        << "\noutbox: " << (home / "outbox.sqlite").string()
        << "\nfolder: " << (home / "drop").string() << "\n";
    // Its log goes where the suite's final check reads every log for a child's details.
    static int count = 0;
    auto adapter = std::make_unique<BackgroundCommand>(
        std::vector<std::string>{DUTYHUB_FOLDER_BIN, "--config", (home / "adapter.yaml").string()},
        LogFolder() /
            ("folder-" + std::to_string(getpid()) + "-" + std::to_string(++count) + ".log"));
    EXPECT_TRUE(adapter->WaitFor("watching")) << adapter->Output();
    return adapter;
  }

  // Writes a file as an exporter should: under another name, then renamed into place.
  void Drop(const std::string& agency, const std::string& name, const std::string& text) {
    fs::path drop = dir_.path() / agency / "drop";
    std::ofstream(drop / (name + ".tmp")) << text;
    fs::rename(drop / (name + ".tmp"), drop / name);
  }

  size_t Count(const fs::path& folder, const std::string& extension = ".json") {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(folder))
      n += entry.path().extension() == extension;
    return n;
  }

  size_t Items(const std::string& as, const std::string& inbox) {
    json listed = broker_->Cli(as, {"inbox", inbox, "--all"}).Json();
    return listed.contains("items") ? listed["items"].size() : 0;
  }

  TempDir dir_;
  std::string endpoint_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(FolderAdapter, SamplesGoThroughAndInvalidOnesFailWithTheBrokersViolations) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  auto mash = StartAdapter("northshire-mash");
  for (const char* sample : {"mash-request-home-visit.json", "mash-request-gp-information.json",
                             "mash-request-unborn-midwifery.json",
                             "invalid-father-recorded-but-absent.json", "invalid-not-json.txt"}) {
    Drop("northshire-mash",
         std::string(sample) + (std::string(sample).ends_with(".txt") ? ".json" : ""),
         ReadFile(SamplePath(sample)));
  }
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  ASSERT_TRUE(Eventually([&] { return Count(drop) == 0; })) << mash->Output();
  EXPECT_EQ(Count(drop / "sent"), 3u);
  EXPECT_EQ(Count(drop / "failed", ".json"), 4u) << "two refused files, each with its .error.json";
  ASSERT_TRUE(Eventually([&] {
    return Items("bob", "hv-south") == 1 && Items("gina", "gp-J81034") == 1 &&
           Items("tess", "triage") == 1;
  }));
  // The reasons beside the refused file are the broker's own.
  json reasons =
      json::parse(ReadFile(drop / "failed" / "invalid-father-recorded-but-absent.json.error.json"));
  json broker_says =
      broker_
          ->Cli("northshire-mash",
                {"send", SamplePath("invalid-father-recorded-but-absent.json").string()})
          .Json();
  EXPECT_EQ(reasons["error"]["violations"], broker_says["error"]["violations"]);
  EXPECT_TRUE(fs::exists(drop / "failed" / "invalid-not-json.txt.json.error.json"));
  EXPECT_TRUE(fs::exists(drop / "failed" / "invalid-not-json.txt.json"))
      << "a refused file is kept, never deleted";

  // Receipts: bob acknowledges, and the receipt file says so.
  json items = broker_->Cli("bob", {"inbox", "hv-south"}).Json();
  ASSERT_EQ(
      broker_->Cli("bob", {"ack", items["items"][0]["delivery_id"], "--note", "Visiting at 3pm"})
          .exit_code,
      0);
  fs::path receipt = drop / "receipts" / "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a03.json";
  ASSERT_TRUE(Eventually([&] {
    return fs::exists(receipt) && ReadFile(receipt).find("Visiting at 3pm") != std::string::npos;
  })) << (fs::exists(receipt) ? ReadFile(receipt) : "no receipt");
  json written = json::parse(ReadFile(receipt));
  EXPECT_EQ(written["state"], "SENT");
  EXPECT_EQ(written["deliveries"][0]["acknowledged_by"], "bob");
}

// Case-management exports often name a file after the child. The log says ids only.
TEST_F(FolderAdapter, AFileNamedAfterTheChildIsNeverNamedInTheLog) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  auto mash = StartAdapter("northshire-mash");
  Drop("northshire-mash", "Ellis_Noah_2026-08-30.json",
       ReadFile(SamplePath("mash-request-home-visit.json")));
  Drop("northshire-mash", "Ellis_Noah_2026-08-30_father.json",
       ReadFile(SamplePath("invalid-father-recorded-but-absent.json")));
  Drop("northshire-mash", "Ellis_Noah_notes.json", "Noah Ellis, seen at home");
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  ASSERT_TRUE(Eventually([&] { return Count(drop) == 0; })) << mash->Output();
  EXPECT_TRUE(fs::exists(drop / "sent" / "Ellis_Noah_2026-08-30.json"));
  EXPECT_TRUE(fs::exists(drop / "failed" / "Ellis_Noah_notes.json.error.json"));
  const std::string log = WithoutTimestamps(mash->Output());
  EXPECT_NE(log.find("notification 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a03 in the outbox"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("a file that is not a readable notification: refused"), std::string::npos)
      << log;
  for (const std::string detail : {"Ellis", "Noah", "2026-08-30"}) {
    EXPECT_EQ(log.find(detail), std::string::npos) << "the log names the file: " << detail;
  }
}

TEST_F(FolderAdapter, EverySampleThroughItsAgencysFolderAndAlicesAcknowledgementInTheReceipt) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  const std::vector<std::pair<std::string, std::string>> samples = {
      {"gwh-ed", "hospital-liaison-non-mobile-injury.json"},
      {"gwh-ed", "hospital-liaison-school-age.json"},
      {"northshire-mash", "mash-request-home-visit.json"},
      {"northshire-mash", "mash-request-gp-information.json"},
      {"gwh-scbu", "scbu-discharge-mental-health-no-meeting.json"},
      {"gwh-scbu", "scbu-discharge-unknown-area.json"},
      {"northshire-mash", "mash-request-unborn-midwifery.json"}};
  std::map<std::string, std::unique_ptr<BackgroundCommand>> adapters;
  for (const char* agency : {"gwh-ed", "gwh-scbu", "northshire-mash"})
    adapters[agency] = StartAdapter(agency);
  for (const auto& [agency, file] : samples) Drop(agency, file, ReadFile(SamplePath(file)));
  // samples/README.md: where each goes.
  const std::map<std::pair<std::string, std::string>, size_t> expected = {
      {{"alice", "hv-north"}, 2},     {{"carol", "mash"}, 1},     {{"sam", "school-nursing"}, 1},
      {{"bob", "hv-south"}, 1},       {{"gina", "gp-J81034"}, 1}, {{"gina", "gp-J81012"}, 1},
      {{"priya", "perinatal-mh"}, 1}, {{"tess", "triage"}, 2},    {{"eddie", "eds"}, 0}};
  ASSERT_TRUE(Eventually([&] {
    for (const auto& [who_inbox, n] : expected) {
      if (Items(who_inbox.first, who_inbox.second) != n) return false;
    }
    return true;
  }));
  json north = broker_->Cli("alice", {"inbox", "hv-north"}).Json();
  std::string item;
  for (const auto& i : north["items"]) {
    if (i["notification_id"] == "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01") item = i["delivery_id"];
  }
  ASSERT_FALSE(item.empty());
  ASSERT_EQ(broker_->Cli("alice", {"ack", item, "--note", "Home visit booked for 10:00"}).exit_code,
            0);
  fs::path receipt =
      dir_.path() / "gwh-ed" / "drop" / "receipts" / "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01.json";
  ASSERT_TRUE(Eventually([&] {
    return fs::exists(receipt) && ReadFile(receipt).find("Home visit booked") != std::string::npos;
  }));
  json written = json::parse(ReadFile(receipt));
  bool acknowledged = false;
  for (const auto& d : written["deliveries"]) {
    if (d["inbox"] == "hv-north") acknowledged = d["acknowledged_by"] == "alice";
  }
  EXPECT_TRUE(acknowledged) << written.dump();
}

TEST_F(FolderAdapter, WhatTheBrokerRefusesIsReportedInTheReceipt) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  auto mash = StartAdapter("northshire-mash");
  // A valid form, but of a type the MASH may not send: only the broker can say so.
  Drop("northshire-mash", "liaison.json", ReadFile(SamplePath("hospital-liaison-school-age.json")));
  fs::path receipt = dir_.path() / "northshire-mash" / "drop" / "receipts" /
                     "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a02.json";
  ASSERT_TRUE(Eventually([&] { return fs::exists(receipt); })) << mash->Output();
  json written = json::parse(ReadFile(receipt));
  EXPECT_EQ(written["state"], "REFUSED");
  EXPECT_NE(written["refusal"].get<std::string>().find("PERMISSION_DENIED"), std::string::npos);
  EXPECT_EQ(Items("sam", "school-nursing"), 0u);

  // The exporter drops the same file again (it never read the receipt): it goes to failed/
  // with the hub's refusal, not to sent/ as "already there" for a form no inbox has.
  Drop("northshire-mash", "liaison-again.json",
       ReadFile(SamplePath("hospital-liaison-school-age.json")));
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  fs::path error = drop / "failed" / "liaison-again.json.error.json";
  ASSERT_TRUE(Eventually([&] { return fs::exists(error); })) << mash->Output();
  json refusal = json::parse(ReadFile(error));
  EXPECT_EQ(refusal["error"]["code"], "PERMISSION_DENIED") << refusal.dump();
  EXPECT_NE(refusal.dump().find("the hub refused notification"), std::string::npos)
      << refusal.dump();
  EXPECT_FALSE(fs::exists(drop / "sent" / "liaison-again.json"));
}

// The exporter often runs under an account of its own, sharing the folder through a group:
// what the adapter writes back follows the folder's group permissions, never others'.
TEST_F(FolderAdapter, WhatItWritesBackIsReadableByTheFoldersGroupAndNoOneElse) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  for (const auto& [agency, mode] : std::vector<std::pair<std::string, fs::perms>>{
           {"northshire-mash", fs::perms(03770)}, {"gwh-scbu", fs::perms(0700)}}) {
    SCOPED_TRACE(agency);
    fs::path drop = dir_.path() / agency / "drop";
    fs::create_directories(drop);
    fs::permissions(drop, mode);
    // The exporter's group, not the adapter's (the suite runs as root, who may give it).
    const gid_t exporters = 4321;
    const bool root = ::geteuid() == 0;
    if (root) {
      ASSERT_EQ(::chown(drop.c_str(), static_cast<uid_t>(-1), exporters), 0);
    }
    auto adapter = StartAdapter(agency);
    Drop(agency, "one.json",
         ReadFile(SamplePath(agency == "northshire-mash"
                                 ? "mash-request-home-visit.json"
                                 : "scbu-discharge-mental-health-no-meeting.json")));
    Drop(agency, "bad.json", ReadFile(SamplePath("invalid-not-json.txt")));
    ASSERT_TRUE(Eventually([&] {
      return Count(drop / "receipts") == 1 && fs::exists(drop / "failed" / "bad.json.error.json");
    })) << adapter->Output();
    const bool shared = agency == "northshire-mash";
    auto mode_of = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; };
    auto group_of = [](const fs::path& p) {
      struct stat st {};
      ::stat(p.c_str(), &st);
      return st.st_gid;
    };
    // The group reads and searches, never writes: it could otherwise put a link where the
    // adapter writes.
    for (const char* sub : {"sent", "failed", "receipts"}) {
      EXPECT_EQ(mode_of(drop / sub), shared ? fs::perms(02750) : fs::perms(0700)) << sub;
      if (root) {
        EXPECT_EQ(group_of(drop / sub), exporters) << sub;
      }
    }
    EXPECT_EQ(mode_of(drop / "failed" / "bad.json.error.json"),
              shared ? fs::perms(0640) : fs::perms(0600));
    if (root) {
      EXPECT_EQ(group_of(drop / "failed" / "bad.json.error.json"), exporters);
    }
    for (const auto& entry : fs::directory_iterator(drop / "receipts")) {
      EXPECT_EQ(mode_of(entry.path()), shared ? fs::perms(0640) : fs::perms(0600));
      if (root) {
        EXPECT_EQ(group_of(entry.path()), exporters);
      }
    }
  }
}

// Links in the folder are never followed: not a dropped file that is a link (to a form the
// adapter's account may read, which it would send as its agency), nor a link put where the
// adapter writes a receipt or an error.
TEST_F(FolderAdapter, ItNeverFollowsALinkItFindsOrOnePutWhereItWrites) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  for (const char* sub : {"receipts", "failed"}) fs::create_directories(drop / sub);
  const fs::path target = dir_.path() / "outbox-of-someone-else.sqlite";
  std::ofstream(target) << "precious";
  const std::string id = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a03";
  fs::create_symlink(target, drop / "receipts" / (id + ".json.tmp"));
  fs::create_symlink(target, drop / "failed" / "bad.json.error.json.tmp");
  const fs::path elsewhere = dir_.path() / "a-form-elsewhere.json";
  std::ofstream(elsewhere) << ReadFile(SamplePath("mash-request-gp-information.json"));
  fs::create_symlink(elsewhere, drop / "linked.json");
  auto mash = StartAdapter("northshire-mash");
  Drop("northshire-mash", "home-visit.json", ReadFile(SamplePath("mash-request-home-visit.json")));
  Drop("northshire-mash", "bad.json", ReadFile(SamplePath("invalid-not-json.txt")));
  ASSERT_TRUE(Eventually([&] {
    return fs::exists(drop / "receipts" / (id + ".json")) &&
           fs::exists(drop / "failed" / "bad.json.error.json") &&
           fs::exists(drop / "failed" / "linked.json.error.json");
  })) << mash->Output();
  EXPECT_EQ(ReadFile(target), "precious");
  EXPECT_FALSE(fs::is_symlink(drop / "receipts" / (id + ".json")));
  EXPECT_NE(ReadFile(drop / "failed" / "linked.json.error.json").find("is a link"),
            std::string::npos);
  EXPECT_TRUE(fs::is_symlink(drop / "failed" / "linked.json")) << "moved, never deleted";
  EXPECT_EQ(Items("gina", "gp-J81034"), 0u) << "the form it pointed at was not sent";
  EXPECT_EQ(Items("bob", "hv-south"), 1u);
}

// A folder another account may write in, not sticky: that account could swap sent/, failed/
// or receipts/ for a link. The adapter will not start on it, nor on a subfolder that is a link.
TEST_F(FolderAdapter, ItRefusesAFolderOthersCouldSwapItsSubfoldersIn) {
  fs::path home = dir_.path() / "northshire-mash";
  fs::path drop = home / "drop";
  fs::create_directories(drop);
  std::ofstream(home / "adapter.yaml")
      << "agency: northshire-mash\nbroker: " << endpoint_ << "\ninsecure_as: northshire-mash"
      << "\noutbox: " << (home / "outbox.sqlite").string() << "\nfolder: " << drop.string() << "\n";
  auto start = [&] {
    return RunCommand({DUTYHUB_FOLDER_BIN, "--config", (home / "adapter.yaml").string()});
  };
  fs::permissions(drop, fs::perms(02770));
  CommandResult group_writable = start();
  EXPECT_EQ(group_writable.exit_code, 2);
  EXPECT_NE(group_writable.err.find("must be sticky and the adapter's own"), std::string::npos)
      << group_writable.err;
  EXPECT_FALSE(fs::exists(drop / "receipts")) << "refused before making anything";

  fs::permissions(drop, fs::perms(0700));
  const fs::path elsewhere = dir_.path() / "elsewhere";
  fs::create_directories(elsewhere);
  fs::create_directory_symlink(elsewhere, drop / "receipts");
  CommandResult linked = start();
  EXPECT_EQ(linked.exit_code, 2);
  EXPECT_NE(linked.err.find("receipts is not a folder of the adapter's own"), std::string::npos)
      << linked.err;
  EXPECT_TRUE(fs::is_empty(elsewhere));
}

TEST_F(FolderAdapter, AThousandAcceptedWhileTheBrokerIsDownAllArriveExactlyOnce) {
  auto mash = StartAdapter("northshire-mash");  // the broker is not running
  for (int i = 1; i <= 1000; ++i) {
    Drop("northshire-mash", "n" + std::to_string(10000 + i) + ".json",
         WithId("mash-request-home-visit.json", i));
  }
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  ASSERT_TRUE(Eventually([&] { return Count(drop / "sent") == 1000; }, 120000))
      << Count(drop / "sent");
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  ASSERT_TRUE(Eventually([&] { return Items("bob", "hv-south") >= 1000; }, 120000))
      << Items("bob", "hv-south");
  json all = broker_->Cli("bob", {"inbox", "hv-south", "--all"}).Json();
  std::set<std::string> ids;
  for (const auto& item : all["items"]) ids.insert(item["notification_id"]);
  EXPECT_EQ(all["items"].size(), 1000u) << "each exactly once";
  EXPECT_EQ(ids.size(), 1000u);
}

TEST_F(FolderAdapter, AnAdapterKilledMidStreamLosesAndDoublesNothing) {
  ASSERT_TRUE(broker_->Start()) << broker_->log();
  auto mash = StartAdapter("northshire-mash");
  fs::path drop = dir_.path() / "northshire-mash" / "drop";
  for (int i = 1; i <= 300; ++i) {
    Drop("northshire-mash", "n" + std::to_string(10000 + i) + ".json",
         WithId("mash-request-home-visit.json", i));
  }
  // Killed while it is taking them in and sending them on.
  ASSERT_TRUE(Eventually([&] { return Count(drop / "sent") >= 50; }, 60000));
  mash->Kill9();
  mash = StartAdapter("northshire-mash");
  ASSERT_TRUE(Eventually([&] { return Count(drop) == 0 && Count(drop / "sent") == 300; }, 120000))
      << Count(drop) << " waiting, " << Count(drop / "sent") << " sent";
  ASSERT_TRUE(Eventually([&] { return Items("bob", "hv-south") >= 300; }, 120000));
  json all = broker_->Cli("bob", {"inbox", "hv-south", "--all"}).Json();
  std::set<std::string> ids;
  for (const auto& item : all["items"]) ids.insert(item["notification_id"]);
  EXPECT_EQ(all["items"].size(), 300u);
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_EQ(Count(drop / "failed"), 0u);
}

}  // namespace
}  // namespace dutyhub::testing
