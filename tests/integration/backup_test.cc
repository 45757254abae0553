// `dutyhub-broker backup DEST` against a running broker that is busy publishing, and the
// documented restore: the copy is one commit's state (every notification with all its
// deliveries and audit rows), holds everything confirmed before it began, passes SQLite's
// integrity check and the audit's chain, and a broker started on it serves it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "agents/client/hub_client.h"
#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

TEST(Backup, AConsistentCopyWhileTheBrokerPublishesAndABrokerServesTheRestoredCopy) {
  TempDir dir;
  BrokerProcess broker(ConfigPath("northshire.yaml"), dir.path() / "data",
                       {"--simulated-clock", "2026-11-23T16:00:00Z"});
  ASSERT_TRUE(broker.Start()) << broker.log();
  const std::string body = ReadFile(SamplePath("hospital-liaison-school-age.json"));
  const std::string sample_id = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a02";
  ASSERT_EQ(broker.Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()})
                .exit_code,
            0);
  json item = broker.Cli("sam", {"inbox", "school-nursing"}).Json()["items"][0];
  ASSERT_EQ(broker.Cli("sam", {"ack", item["delivery_id"], "--note", "School nurse to meet him"})
                .exit_code,
            0);

  // A publisher keeps the writer busy throughout, with fresh ids.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> confirmed;
  std::thread publisher([&] {
    HubClient client(broker.endpoint(), "gwh-ed");
    for (int n = 0; !stop.load(); ++n) {
      char id[40];
      std::snprintf(id, sizeof id, "6f1c2a7e-3b4d-4e5f-8a9b-%012d", n);
      std::string copy = body;
      copy.replace(copy.find(sample_id), 36, id);
      v1::Request request;
      request.mutable_send()->set_notification_json(copy);
      auto reply = client.Call(request, std::chrono::seconds(5));
      if (reply.ok() && reply->status().code() == v1::Status::OK) {
        std::lock_guard lock(mu);
        confirmed.push_back(id);
      }
    }
  });
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(mu);
    return confirmed.size() >= 200;
  }));
  std::vector<std::string> before;
  {
    std::lock_guard lock(mu);
    before = confirmed;
  }
  const std::filesystem::path copy = dir.path() / "backup.sqlite";
  CommandResult backup = RunCommand(
      {DUTYHUB_BROKER_BIN, "backup", copy.string(), "--data", (dir.path() / "data").string()});
  stop = true;
  publisher.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("integrity ok"), std::string::npos) << backup.out;
  EXPECT_FALSE(std::filesystem::exists(copy.string() + ".partial"));
  EXPECT_EQ(std::filesystem::status(copy).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
      << "a backup holds children's details: the broker's account only";

  // One commit's state: every notification in it has all its deliveries, and every
  // delivery its DELIVERED audit row; everything confirmed before it began is in it.
  EXPECT_EQ(SqliteQuery(copy, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(SqliteQuery(copy,
                        "SELECT COUNT(*) FROM notifications n WHERE NOT EXISTS "
                        "(SELECT 1 FROM deliveries d WHERE d.notification_seq = n.seq)"),
            "0");
  EXPECT_EQ(
      SqliteQuery(copy,
                  "SELECT COUNT(*) FROM deliveries d WHERE NOT EXISTS "
                  "(SELECT 1 FROM events e WHERE e.delivery_id = d.delivery_id AND e.event = 1)"),
      "0");
  const int64_t stored = std::stoll(SqliteQuery(copy, "SELECT COUNT(*) FROM notifications"));
  EXPECT_GE(stored, static_cast<int64_t>(before.size()) + 1);
  EXPECT_LE(stored, static_cast<int64_t>(confirmed.size()) + 1);
  EXPECT_EQ(
      SqliteQuery(copy, "SELECT COUNT(*) FROM notifications WHERE id = '" + before.back() + "'"),
      "1");

  // The backup never overwrites.
  CommandResult again = RunCommand(
      {DUTYHUB_BROKER_BIN, "backup", copy.string(), "--data", (dir.path() / "data").string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("never overwrites"), std::string::npos) << again.err;
  EXPECT_EQ(RunCommand({DUTYHUB_BROKER_BIN, "backup", (dir.path() / "x.sqlite").string(), "--data",
                        (dir.path() / "nowhere").string()})
                .exit_code,
            2);
  broker.Stop();

  // The documented restore: a new data folder holding the copy as dutyhub.sqlite.
  std::filesystem::create_directories(dir.path() / "restored");
  std::filesystem::copy_file(copy, dir.path() / "restored" / "dutyhub.sqlite");
  BrokerProcess restored(ConfigPath("northshire.yaml"), dir.path() / "restored",
                         {"--simulated-clock", "2026-11-23T16:00:00Z"});
  ASSERT_TRUE(restored.Start()) << restored.log();
  json status = restored.Cli("gwh-ed", {"status", sample_id}).Json();
  ASSERT_EQ(status["deliveries"].size(), 1u) << status;
  EXPECT_EQ(status["deliveries"][0]["acknowledged_by"], "sam")
      << "the acknowledgement came back too";
  EXPECT_EQ(restored.Cli("gwh-ed", {"status", before.front()}).exit_code, 0);
  json verify = restored.Cli("frank", {"audit", "verify"}).Json();
  EXPECT_TRUE(verify["intact"].get<bool>()) << verify;
  EXPECT_EQ(verify["entries"].get<int64_t>(),
            std::stoll(SqliteQuery(copy, "SELECT COUNT(*) FROM events")));
  // And it goes on working: a retry of a stored notification is still a duplicate.
  CommandResult retry =
      restored.Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()});
  EXPECT_TRUE(retry.Json()["duplicate"].get<bool>()) << retry.out;
}

// A backup folder others may write in: the copy is made in a folder of the backup's own, so
// a file or link placed beside DEST beforehand (at the name an older backup wrote through)
// never receives it, and what it points at is left as it was. And an account that may not
// see the store is told to run the backup as the broker's.
TEST(Backup, NeverWritesThroughAFileOrLinkPlacedBesideItAndSaysWhoMayRunIt) {
  TempDir dir;
  BrokerProcess broker(ConfigPath("northshire.yaml"), dir.path() / "data",
                       {"--simulated-clock", "2026-11-23T16:00:00Z"});
  ASSERT_TRUE(broker.Start()) << broker.log();
  ASSERT_EQ(broker.Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()})
                .exit_code,
            0);
  const std::filesystem::path elsewhere = dir.path() / "someone-elses.sqlite";
  std::ofstream(elsewhere) << "not for the copy";
  const std::filesystem::path dest = dir.path() / "backups" / "backup.sqlite";
  std::filesystem::create_directories(dest.parent_path());
  std::filesystem::create_symlink(elsewhere, dest.string() + ".partial");
  const std::string data = (dir.path() / "data").string();
  CommandResult made = RunCommand({DUTYHUB_BROKER_BIN, "backup", dest.string(), "--data", data});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(ReadFile(elsewhere), "not for the copy");
  EXPECT_TRUE(std::filesystem::is_symlink(dest.string() + ".partial")) << "left alone";
  EXPECT_FALSE(std::filesystem::is_symlink(dest));
  // Nothing of its own left beside it: the backup and the link that was there.
  std::set<std::string> beside;
  for (const auto& entry : std::filesystem::directory_iterator(dest.parent_path()))
    beside.insert(entry.path().filename().string());
  EXPECT_EQ(beside, (std::set<std::string>{"backup.sqlite", "backup.sqlite.partial"}));
  EXPECT_EQ(SqliteQuery(dest, "SELECT COUNT(*) FROM notifications"), "1");

  // A folder others may write in that is not sticky: where the backup's own folder could be
  // moved aside and another put in its place, it does not write.
  const std::filesystem::path shared = dir.path() / "shared";
  std::filesystem::create_directories(shared);
  std::filesystem::permissions(shared, std::filesystem::perms(0777));
  CommandResult open_folder =
      RunCommand({DUTYHUB_BROKER_BIN, "backup", (shared / "b.sqlite").string(), "--data", data});
  EXPECT_EQ(open_folder.exit_code, 2);
  EXPECT_NE(open_folder.err.find("is not sticky"), std::string::npos) << open_folder.err;
  EXPECT_TRUE(std::filesystem::is_empty(shared));
  std::filesystem::permissions(shared, std::filesystem::perms(01777));
  EXPECT_EQ(
      RunCommand({DUTYHUB_BROKER_BIN, "backup", (shared / "b.sqlite").string(), "--data", data})
          .exit_code,
      0);

  // As an account that may not see the data folder (0700, the broker's).
  if (::geteuid() == 0 && std::filesystem::exists("/usr/bin/setpriv")) {
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    std::filesystem::permissions(dir.path() / "data", std::filesystem::perms(0700));
    CommandResult as_nobody = RunCommand({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                          "--clear-groups", DUTYHUB_BROKER_BIN, "backup",
                                          (dir.path() / "other.sqlite").string(), "--data", data});
    EXPECT_EQ(as_nobody.exit_code, 2);
    EXPECT_NE(as_nobody.err.find("run the backup as the broker's account"), std::string::npos)
        << as_nobody.err;
  }
  broker.Stop();
}

}  // namespace
}  // namespace dutyhub::testing
