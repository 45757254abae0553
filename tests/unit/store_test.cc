// The store: idempotent per (agency, id), many requests in one transaction, everything
// still there after reopening, and the schema versioned.
#include "broker/store.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "broker/checkpointer.h"
#include "tests/unit/audit_hash_cases.h"

namespace dutyhub {
namespace {

const MayAct kAnyone = [](const std::string&) { return Status::Ok(); };

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ = std::filesystem::temp_directory_path() / ("dutyhub-store-" + std::to_string(device()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Open(bool writer = true) {
    auto store = Store::Open(path_, writer);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // A store at this schema holding one notification "old" with one item, d-old in
  // hv-north: the start of each migration test, which then winds the store back.
  void StoreAnOldNotification() {
    auto store = Open();
    ASSERT_TRUE(store->Begin().ok());
    ASSERT_TRUE(
        store->InsertNotification("gwh-ed", Notification("old"), 1, {{"d-old", "hv-north", 5}})
            .ok());
    ASSERT_TRUE(store->Commit().ok());
  }

  static v1::Notification Notification(const std::string& id) {
    v1::Notification n;
    n.set_id(id);
    n.set_type(v1::Notification::HOSPITAL_LIAISON);
    n.set_priority(v1::Notification::URGENT);
    n.set_summary("summary " + id);
    return n;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(StoreTest, APublishIsStoredOncePerAgencyAndId) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  auto before = store->FindPublished("gwh-ed", "n1");
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  ASSERT_TRUE(store
                  ->InsertNotification("gwh-ed", Notification("n1"), 1000,
                                       {{"d1", "hv-north", 5000}, {"d2", "mash", 6000}})
                  .ok());
  // The same id from the same agency again is refused by the schema itself.
  EXPECT_FALSE(
      store->InsertNotification("gwh-ed", Notification("n1"), 2000, {{"d3", "hv-north", 5000}})
          .ok());
  // Another agency may use the same id: it is their own notification.
  EXPECT_TRUE(
      store->InsertNotification("gwh-scbu", Notification("n1"), 2000, {{"d4", "hv-south", 5000}})
          .ok());
  ASSERT_TRUE(store->Commit().ok());
  auto found = store->FindPublished("gwh-ed", "n1");
  ASSERT_TRUE(found.ok() && found->has_value());
  const v1::SendReply& first = **found;
  EXPECT_EQ(first.priority(), v1::Notification::URGENT);
  ASSERT_EQ(first.deliveries_size(), 2);
  EXPECT_EQ(first.deliveries(0).delivery_id(), "d1");
  EXPECT_EQ(first.deliveries(1).due_at_ms(), 6000);
  auto both = store->FindNotifications("n1");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);
}

TEST_F(StoreTest, PublishingOnceStoresTheFirstAndAnswersARetryWithItWritingNothing) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  v1::Notification n = Notification("n1");
  const std::string body = n.SerializeAsString();
  auto first =
      store->PublishOnce("gwh-ed", n, body, 1000, {{"d1", "hv-north", 5000}, {"d2", "mash", 6000}});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->has_value()) << "new: stored, no earlier answer";
  const int64_t changes = store->Changes();
  // The retry, in the same transaction (one batch) and after the commit: the first
  // answer, and not a row written.
  for (int attempt = 0; attempt < 2; ++attempt) {
    n.set_priority(v1::Notification::ROUTINE);
    auto again =
        store->PublishOnce("gwh-ed", n, n.SerializeAsString(), 2000, {{"d3", "hv-south", 9000}});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ASSERT_TRUE(again->has_value()) << "attempt " << attempt;
    EXPECT_EQ((*again)->priority(), v1::Notification::URGENT);
    ASSERT_EQ((*again)->deliveries_size(), 2);
    EXPECT_EQ((*again)->deliveries(0).delivery_id(), "d1");
    EXPECT_EQ((*again)->deliveries(1).inbox(), "mash");
    EXPECT_EQ(store->Changes(), changes) << "attempt " << attempt << " wrote rows";
    if (attempt == 0) {
      ASSERT_TRUE(store->Commit().ok() && store->Begin().ok());
    }
  }
  // Another agency's n1 is its own.
  auto other = store->PublishOnce("gwh-scbu", n, body, 3000, {{"d4", "hv-south", 5000}});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  ASSERT_TRUE(store->Commit().ok());
  auto both = store->FindNotifications("n1");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);
}

TEST_F(StoreTest, ManyRequestsCommitInOneTransactionAndSurviveReopening) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Begin().ok());
    for (int i = 0; i < 100; ++i) {
      std::string id = "n" + std::to_string(i);
      ASSERT_TRUE(store
                      ->InsertNotification("gwh-ed", Notification(id), i,
                                           {{"d" + std::to_string(i), "hv-north", 10000 - i}})
                      .ok());
    }
    // A reader sees nothing until the one commit.
    auto reader = Open(false);
    auto seen = reader->ListInbox("hv-north", false);
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->size(), 0u);
    ASSERT_TRUE(store->Commit().ok());
    seen = reader->ListInbox("hv-north", false);
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->size(), 100u);
    ASSERT_TRUE(store->Begin().ok());
    auto ack = store->Acknowledge("d5", "alice", "Will visit", 777, kAnyone);
    ASSERT_TRUE(ack.ok());
    ASSERT_TRUE(store->Commit().ok());
  }
  auto store = Open();
  auto items = store->ListInbox("hv-north", false);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 99u);
  EXPECT_EQ(items->front().delivery_id(), "d99") << "earliest due first";
  auto acked = store->GetDelivery("d5");
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(acked->state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(acked->acknowledged_by(), "alice");
  EXPECT_EQ(acked->note(), "Will visit");
  auto history = store->History("d5");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].event(), v1::EVENT_ACKNOWLEDGED);
  EXPECT_EQ((*history)[1].at_ms(), 777);
}

TEST_F(StoreTest, AnAcknowledgementRefusedOnTheItemsInboxChangesNothing) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(
      store->InsertNotification("gwh-ed", Notification("n"), 1, {{"a", "hv-north", 5}}).ok());
  std::vector<std::string> asked;
  auto refused = store->Acknowledge("a", "bob", "not mine", 10, [&](const std::string& inbox) {
    asked.push_back(inbox);
    return Status::PermissionDenied("bob is not a member of " + inbox);
  });
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(asked, std::vector<std::string>{"hv-north"});
  EXPECT_EQ(store->Acknowledge("missing", "bob", "x", 10, kAnyone).status().code(),
            Code::kNotFound);
  ASSERT_TRUE(store->Commit().ok());
  auto item = store->GetDelivery("a");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->state(), v1::DELIVERED);
  auto history = store->History("a");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u) << "no acknowledgement in the audit";
}

TEST_F(StoreTest, ARolledBackSavepointUndoesOnlyItsOwnRequest) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store->Savepoint().ok());
  ASSERT_TRUE(
      store->InsertNotification("gwh-ed", Notification("kept"), 1, {{"k", "hv-north", 5}}).ok());
  ASSERT_TRUE(store->ReleaseSavepoint().ok());
  ASSERT_TRUE(store->Savepoint().ok());
  ASSERT_TRUE(
      store->InsertNotification("gwh-ed", Notification("undone"), 1, {{"u", "hv-north", 5}}).ok());
  store->RollbackToSavepoint();
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_TRUE(store->GetDelivery("k").ok());
  EXPECT_EQ(store->GetDelivery("u").status().code(), Code::kNotFound);
}

TEST_F(StoreTest, AcknowledgingTwiceKeepsTheFirstAndTransferredItemsCannotBeAcknowledged) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store
                  ->InsertNotification("gwh-ed", Notification("n"), 1,
                                       {{"a", "hv-north", 5}, {"b", "mash", 5}})
                  .ok());
  ASSERT_TRUE(store->Acknowledge("a", "alice", "first", 10, kAnyone).ok());
  auto second = store->Acknowledge("a", "dan", "second", 20, kAnyone);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->already_acknowledged());
  EXPECT_EQ(second->acknowledged_by(), "alice");
  EXPECT_EQ(second->note(), "first");
  auto moved = store->Transfer("b", "carol", "for the EDS", 30, {"c", "eds", 99});
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(store->Acknowledge("b", "carol", "x", 40, kAnyone).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store->Transfer("b", "carol", "again", 40, {"d", "eds", 99}).status().code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(store->Commit().ok());
  auto c = store->GetDelivery("c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->inbox(), "eds");
  EXPECT_EQ(c->due_at_ms(), 99);
  EXPECT_EQ(c->state(), v1::DELIVERED);
  // A retry's answer lists only the deliveries made at publish, not later transfers.
  auto first = store->FindPublished("gwh-ed", "n");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->deliveries_size(), 2);
}

// What a manager's summary shows for each inbox: everything outstanding in it now, however
// it came there, counted by level and past due; what is acknowledged or moved on is not.
TEST_F(StoreTest, TheReportCountsWhatWaitsInAnInboxByLevelAndPastDue) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(
      store
          ->InsertNotification(
              "gwh-ed", Notification("n1"), 1,
              {{"a", "hv-north", 100, 150}, {"b", "hv-north", 500, 600}, {"x", "hv-north", 10, 20}})
          .ok());
  ASSERT_TRUE(
      store->InsertNotification("gwh-ed", Notification("n2"), 2, {{"d", "mash", 100, 150}}).ok());
  ASSERT_TRUE(store->Acknowledge("x", "alice", "seen", 30, kAnyone).ok());
  ASSERT_TRUE(
      store->Transfer("d", "carol", "for the health visitors", 40, {"e", "hv-north", 50, 60}).ok());
  auto due = store->DueBy(150, 10);
  ASSERT_TRUE(due.ok());
  auto a = std::find_if(due->begin(), due->end(),
                        [](const DueItem& item) { return item.delivery_id == "a"; });
  ASSERT_NE(a, due->end());
  ASSERT_TRUE(store->Escalate(*a, 1, "hv-managers", "a1", 150, 170).ok());
  a->level = 1;
  ASSERT_TRUE(store->Escalate(*a, 2, "hv-managers", "a2", 170, 190).ok());
  ASSERT_TRUE(store->Commit().ok());

  auto north = store->Report("hv-north", 0, 1000, 3, /*now=*/200);
  ASSERT_TRUE(north.ok()) << north.status().ToString();
  EXPECT_EQ(north->waiting(), 3) << "a, b and the transferred e; x is acknowledged";
  EXPECT_EQ(north->waiting_overdue(), 2) << "a (due 100) and e (due 50); b is due at 500";
  ASSERT_EQ(north->waiting_at_level_size(), 3);
  EXPECT_EQ(north->waiting_at_level(0), 2);
  EXPECT_EQ(north->waiting_at_level(1), 0);
  EXPECT_EQ(north->waiting_at_level(2), 1);
  // The escalated copy waits in the managers' inbox, the moved item nowhere in the MASH's.
  auto managers = store->Report("hv-managers", 0, 1000, 3, 200);
  ASSERT_TRUE(managers.ok());
  EXPECT_EQ(managers->waiting(), 1);
  EXPECT_EQ(managers->outstanding(), 0) << "the period's figures count no escalated copies";
  auto mash = store->Report("mash", 0, 1000, 3, 200);
  ASSERT_TRUE(mash.ok());
  EXPECT_EQ(mash->waiting(), 0);
  EXPECT_EQ(mash->waiting_at_level_size(), 0);
  // Before anything is due, nothing is past due.
  auto earlier = store->Report("hv-north", 0, 1000, 3, 45);
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(earlier->waiting_overdue(), 0);
}

TEST_F(StoreTest, ANotificationIsFoundByItsIdAloneWhicheverAgenciesSentIt) {
  auto store = Open();
  ASSERT_TRUE(store->Begin().ok());
  // Found through the (agency, id) index one agency at a time: agencies on either side of
  // the ones that used the id, and other ids between, must not confuse it.
  int day = 0;
  for (const char* agency : {"a-first", "gwh-ed", "gwh-scbu", "mash", "z-last"}) {
    for (const char* id : {"m", "x", "y"}) {
      if (std::string(id) == "x" && std::string(agency) == "mash") continue;
      std::string key = std::string(agency) + "-" + id;
      ASSERT_TRUE(
          store->InsertNotification(agency, Notification(id), ++day, {{key, "hv-north", 5000}})
              .ok());
    }
  }
  ASSERT_TRUE(store->Commit().ok());
  auto found = store->FindNotifications("x");
  ASSERT_TRUE(found.ok());
  std::vector<std::string> agencies;
  for (const auto& record : *found) {
    EXPECT_EQ(record.id, "x");
    agencies.push_back(record.agency);
  }
  EXPECT_EQ(agencies, (std::vector<std::string>{"a-first", "gwh-ed", "gwh-scbu", "z-last"}))
      << "oldest first";
  auto none = store->FindNotifications("never-sent");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, VersionFourDropsTheIndexOfIdsAlone) {
  StoreAnOldNotification();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  // As a version 3 store left it.
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE INDEX notifications_by_id ON notifications (id); ALTER TABLE "
                         "deliveries DROP COLUMN handed_over_at; PRAGMA user_version=3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open();
  auto found = store->FindNotifications("old");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1u);
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'notifications_by_id'",
                     -1, &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

namespace {

std::string Text(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

constexpr const char* kInsertADelivery =
    "INSERT INTO deliveries (delivery_id, notification_seq, inbox, origin, state, received_at, "
    "due_at) "
    "VALUES (?1, 1, 'mash', ?2, 1, 0, 0)";

// Stores delivery `id` with `origin` on `db`: "" when stored, else SQLite's error, which for
// a check quotes the check's text as the connection parsed it.
std::string StoreADelivery(sqlite3* db, const char* id, const char* origin) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kInsertADelivery, -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db);
  sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, origin, -1, SQLITE_STATIC);
  const int rc = sqlite3_step(stmt);
  std::string out = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  return out;
}

// The error of storing a delivery with an origin no check allows.
std::string RefusalOfAWrongOrigin(sqlite3* db) {
  const std::string error = StoreADelivery(db, "d-bad", "FORWARDED");
  return error.empty() ? "not refused" : error;
}

}  // namespace

TEST_F(StoreTest, VersionFiveChecksADeliverysOriginWithoutATemporaryTree) {
  {
    auto store = Open();
    auto trees = store->TemporaryTreesIn(kInsertADelivery);
    ASSERT_TRUE(trees.ok()) << trees.status().ToString();
    EXPECT_EQ(*trees, 0) << "a new store's check builds a temporary b-tree per delivery";
  }
  StoreAnOldNotification();
  // As a version 4 store left it: the check written as a list.
  const std::string comparisons =
      "CHECK (origin = 'ROUTED' OR origin = 'TRANSFERRED' OR origin = 'ESCALATED' OR origin = "
      "'HANDED_OVER')";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE deliveries DROP COLUMN handed_over_at", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  std::string before = Text(db, "SELECT sql FROM sqlite_schema WHERE name = 'deliveries'");
  ASSERT_NE(before.find(comparisons), std::string::npos) << before;
  before.replace(before.find(comparisons), comparisons.size(),
                 "CHECK (origin IN ('ROUTED', 'TRANSFERRED', 'ESCALATED', 'HANDED_OVER'))");
  const int schema = std::stoi(Text(db, "PRAGMA schema_version"));
  char* quoted = sqlite3_mprintf(
      "BEGIN; PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql = %Q WHERE name = "
      "'deliveries'; "
      "PRAGMA schema_version=%d; PRAGMA writable_schema=OFF; PRAGMA user_version=4; COMMIT;",
      before.c_str(), schema + 1);
  ASSERT_EQ(sqlite3_exec(db, quoted, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_free(quoted);
  sqlite3_close(db);
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(RefusalOfAWrongOrigin(db).find("origin IN ("), std::string::npos)
      << "not the old store";

  // The broker migrates it on the connection it then writes with, while `db` holds the old
  // schema: both go by the new text, the stored item is still there, and a wrong origin is
  // still refused.
  auto store = Open();
  auto trees = store->TemporaryTreesIn(kInsertADelivery);
  ASSERT_TRUE(trees.ok()) << trees.status().ToString();
  EXPECT_EQ(*trees, 0) << "the writer's own connection still has the old check";
  EXPECT_NE(RefusalOfAWrongOrigin(db).find("CHECK constraint failed: origin = 'ROUTED'"),
            std::string::npos)
      << "another connection kept the old check";
  auto old = store->GetDelivery("d-old");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->inbox(), "hv-north");
  EXPECT_EQ(Text(db, "PRAGMA user_version"), std::to_string(Store::SchemaVersion()));
  EXPECT_EQ(Store::SchemaVersion(), 6);
  EXPECT_EQ(Text(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(StoreADelivery(db, "d-ok", "HANDED_OVER"), "");
  sqlite3_close(db);
}

// Before schema 6 a hand-over made an item of its own in the EDS, with a ladder of its own.
// The migration adds the column that marks a root with a copy there, and changes no row: an
// older broker's items stay what they were, and acknowledging one does not reach the other.
TEST_F(StoreTest, VersionSixLeavesAnOlderBrokersHandOversAsItemsOfTheirOwn) {
  StoreAnOldNotification();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "ALTER TABLE deliveries DROP COLUMN handed_over_at; INSERT INTO deliveries "
                   "(delivery_id, notification_seq, inbox, origin, source_delivery, state, "
                   "received_at, due_at, escalation_level, escalation_at, next_deadline) "
                   "VALUES ('d-eds', 1, 'eds', 'HANDED_OVER', 'd-old', 1, 2, 3, 0, 10, 10); "
                   "PRAGMA user_version=5",
                   nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto store = Open();
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(Text(db, "PRAGMA user_version"), "6");
  EXPECT_EQ(Text(db, "SELECT count(*) FROM deliveries WHERE handed_over_at IS NULL"), "2");
  sqlite3_close(db);
  auto anyone = [](const std::string&) { return Status::Ok(); };
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store->Acknowledge("d-old", "alice", "seen", 20, anyone).ok());
  ASSERT_TRUE(store->Commit().ok());
  auto eds = store->GetDelivery("d-eds");
  ASSERT_TRUE(eds.ok()) << eds.status().ToString();
  EXPECT_EQ(eds->state(), v1::DELIVERED) << "still the EDS's own item";
  EXPECT_TRUE(eds->escalated_from().empty());
}

namespace {

std::string LibsodiumSha256(const std::string& text) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string Hex(const std::string& bytes) {
  std::string out;
  char two[3];
  for (unsigned char byte : bytes) {
    std::snprintf(two, sizeof two, "%02x", byte);
    out += two;
  }
  return out;
}

// What audit_hash_probe prints, run with `environment` before it.
std::string RunAuditHashProbe(const std::string& environment) {
  const std::string command = environment + " " + DUTYHUB_AUDIT_HASH_PROBE + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "cannot run " + command;
  std::string out;
  char chunk[256];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, got);
  const int status = pclose(pipe);
  if (status != 0) out += "exit status " + std::to_string(status) + "\n";
  return out;
}

}  // namespace

// The audit's hash is over a fixed text, each field "<length>:<value>;": stores written by
// every earlier broker verify against it, so it may never change.
TEST(AuditHashTest, IsSha256OverEachFieldLengthPrefixedInOrder) {
  for (const AuditHashCase& c : AuditHashCases()) {
    EXPECT_EQ(
        AuditHash(c.previous, c.seq, c.delivery_id, c.at, c.event, c.by, c.inbox, c.note, c.via),
        LibsodiumSha256(c.text))
        << c.text;
  }
}

// The hash is libcrypto's (the CPU's SHA instructions) with libsodium's as the fallback,
// should libcrypto refuse. The fallback must give the same digests, or a broker on a
// machine whose OpenSSL has no SHA-256 would write an audit that no longer verifies: run
// in a process whose OpenSSL loads only its null provider, which has no algorithms at all.
TEST(AuditHashTest, LibsodiumGivesTheSameDigestsWhenLibcryptoCannot) {
  const std::filesystem::path config = std::filesystem::temp_directory_path() /
                                       ("dutyhub-no-sha256-" + std::to_string(getpid()) + ".cnf");
  {
    std::ofstream out(config);
    out << "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
           "[provider_sect]\nnull = null_sect\n[null_sect]\nactivate = 1\n";
  }
  std::string expected;
  for (const AuditHashCase& c : AuditHashCases()) expected += Hex(LibsodiumSha256(c.text)) + "\n";
  EXPECT_EQ(RunAuditHashProbe("OPENSSL_CONF=/dev/null"), "libcrypto hashes\n" + expected);
  EXPECT_EQ(RunAuditHashProbe("OPENSSL_CONF=" + config.string()), "libcrypto cannot\n" + expected);
  std::filesystem::remove(config);
}

// docs/CLI.md: `inbox --all` lists at most 5,000 items and says when it left some out.
TEST_F(StoreTest, AListOfEverythingSaysWhenItLeftItemsOut) {
  auto store = Open(true);
  auto fill = [&](int from, int to) {
    ASSERT_TRUE(store->Begin().ok());
    for (int i = from; i < to; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_TRUE(store
                      ->InsertNotification("gwh-ed", Notification("n-" + n), i,
                                           {{"d-" + n, "hv-north", 1000 + i}})
                      .ok());
    }
    ASSERT_TRUE(store->Commit().ok());
  };
  fill(0, 5000);
  bool truncated = true;
  auto all = store->ListInbox("hv-north", true, &truncated);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5000u);
  EXPECT_FALSE(truncated) << "exactly the most it lists: nothing left out";
  fill(5000, 5001);
  all = store->ListInbox("hv-north", true, &truncated);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5000u);
  EXPECT_TRUE(truncated);
  auto outstanding = store->ListInbox("hv-north", false, &truncated);
  ASSERT_TRUE(outstanding.ok());
  EXPECT_EQ(outstanding->size(), 5001u) << "every outstanding item, however many";
  EXPECT_FALSE(truncated);
}

// A watcher's replay runs on the reactor's thread: it must walk the audit's range of seqs
// (bounded by the caller), never every item the inbox has ever had.
TEST_F(StoreTest, AWatchersReplayReadsTheAuditsRangeNotTheInboxsHistory) {
  auto store = Open();
  auto plan = store->PlanOf(Store::kInboxEventsBetween);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::string first = plan->substr(0, plan->find('\n'));
  EXPECT_NE(first.find("SEARCH e USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
            std::string::npos)
      << *plan;
  EXPECT_EQ(plan->find("SCAN"), std::string::npos) << *plan;
  EXPECT_EQ(plan->find("TEMP B-TREE"), std::string::npos) << *plan;
}

TEST_F(StoreTest, TheWriterCommitsWithSynchronousFull) {
  auto writer = Open(true);
  auto mode = writer->SynchronousMode();
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, 2) << "promise 1: confirmed means on disk";
}

TEST_F(StoreTest, TheSchemaIsVersionedAndANewerStoreIsRefused) {
  { auto store = Open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), Store::SchemaVersion());
    sqlite3_finalize(stmt);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
    sqlite3_finalize(stmt);
    sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto refused = Store::Open(path_, true);
  EXPECT_FALSE(refused.ok());
}

// Checkpoints (broker/checkpointer.h): the log is copied into the database file both when
// the writer is idle between commits and, when it is never idle, by the checkpointer.
class CheckpointTest : public StoreTest {
 protected:
  // One commit of `count` notifications, each with a 4 KB summary: about a page apiece.
  void Publish(Store& store, int first, int count) {
    ASSERT_TRUE(store.Begin().ok());
    for (int i = first; i < first + count; ++i) {
      v1::Notification n = Notification("c" + std::to_string(i));
      n.set_summary(std::string(4000, 's'));
      ASSERT_TRUE(
          store.InsertNotification("gwh-ed", n, i, {{"cd" + std::to_string(i), "hv-north", 5000}})
              .ok());
    }
    ASSERT_TRUE(store.Commit().ok());
  }
};

// Waits up to 30 s (copying with two fsyncs on a disk shared with other tests can be slow)
// for fewer than `pages` uncopied pages.
bool CopiedDownTo(const Checkpointer& checkpointer, int pages) {
  for (int waited = 0; waited < 3000 && checkpointer.Uncopied() >= pages; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return checkpointer.Uncopied() < pages;
}

TEST_F(CheckpointTest, ALightlyLoadedWriterHasTheCheckpointerThreadCopyTheLog) {
  auto store = Open();
  Checkpointer checkpointer(path_);
  // Neither its round (an hour) nor the commits (far below a million pages) wake the thread
  // within the test: only the writer's asking can.
  ASSERT_TRUE(checkpointer.Start(/*pages=*/1000000, std::chrono::hours(1)).ok());
  ASSERT_TRUE(store->HandOverCheckpoints(checkpointer).ok());
  const int64_t runs_before = checkpointer.RunsOnThread();
  Publish(*store, 0, 3);
  EXPECT_LT(checkpointer.Uncopied(), Checkpointer::kIdleWriterCopies)
      << "too little to be worth copying yet";
  store->AskForCheckpoint();
  const auto file_before = std::filesystem::file_size(path_);
  Publish(*store, 3, 200);
  EXPECT_GE(checkpointer.Uncopied(), 200);
  EXPECT_EQ(std::filesystem::file_size(path_), file_before) << "committed to the log only";
  store->AskForCheckpoint();
  EXPECT_TRUE(CopiedDownTo(checkpointer, 1)) << "all of it is copied";
  EXPECT_EQ(checkpointer.RunsOnThread() - runs_before, 1)
      << "by the thread, once: asked only past the threshold";
  EXPECT_GE(std::filesystem::file_size(path_), file_before + 200 * 4096)
      << "copied into the database file";
  checkpointer.Stop();
}

// An ask made while the thread copies is not lost: it copies again once that copy ends.
TEST_F(CheckpointTest, AnAskWhileTheThreadCopiesIsAnsweredAfterIt) {
  auto store = Open();
  Checkpointer checkpointer(path_);
  ASSERT_TRUE(checkpointer.Start(/*pages=*/1000000, std::chrono::hours(1)).ok());
  ASSERT_TRUE(store->HandOverCheckpoints(checkpointer).ok());
  // About 1,400 pages: a copy of tens of milliseconds.
  for (int i = 0; i < 7; ++i) Publish(*store, i * 100, 100);
  store->AskForCheckpoint();
  Publish(*store, 700, 100);  // most likely while that copy runs
  store->AskForCheckpoint();
  EXPECT_TRUE(CopiedDownTo(checkpointer, Checkpointer::kIdleWriterCopies))
      << "the second ask was answered too";
  checkpointer.Stop();
}

TEST_F(CheckpointTest, TheCheckpointerCopiesTheLogOfAWriterThatIsNeverIdle) {
  auto store = Open();
  Checkpointer checkpointer(path_);
  // Its round an hour long: only the commits' wake-up can make it copy within the test.
  ASSERT_TRUE(checkpointer.Start(/*pages=*/256, std::chrono::hours(1)).ok());
  ASSERT_TRUE(store->HandOverCheckpoints(checkpointer).ok());
  for (int i = 0; i < 6; ++i) Publish(*store, i * 100, 100);  // about 1,200 pages, never idle
  EXPECT_TRUE(CopiedDownTo(checkpointer, 256)) << "woken by the commits past 256 uncopied pages";
  EXPECT_GE(std::filesystem::file_size(path_), 1000u * 4096) << "copied into the database file";
  checkpointer.Stop();
  store.reset();
  auto reopened = Open();
  auto outstanding = reopened->CountOutstanding();
  ASSERT_TRUE(outstanding.ok());
  EXPECT_EQ(*outstanding, 600) << "every item is kept";
}

// SQLite cuts the log's file back in the first commit after the log starts over (its
// journal_size_limit), which took the writer's thread tens of milliseconds after a burst;
// the checkpointer cuts it instead, once a whole round has passed without a commit.
TEST_F(CheckpointTest, TheLogsFileIsCutBackOnlyWhenTheWriterIsQuietAndNeverInACommit) {
  auto store = Open();
  Checkpointer checkpointer(path_);
  const std::string log = path_ + "-wal";
  // Never woken by the commits' size; a round of half a second; cut past 256 KiB.
  ASSERT_TRUE(
      checkpointer.Start(/*pages=*/1000000, std::chrono::milliseconds(500), 256 << 10).ok());
  ASSERT_TRUE(store->HandOverCheckpoints(checkpointer).ok());
  auto limit = store->LogSizeLimit();
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(*limit, Checkpointer::kLogCeilingBytes) << "a commit cuts the log's file only past it";
  for (int i = 0; i < 3; ++i) Publish(*store, i * 100, 100);  // about 1.2 MiB of log
  // Busy: a commit every few milliseconds for three rounds and more. The rounds copy the
  // log, and it starts over, but its file keeps its size.
  const auto first = std::chrono::steady_clock::now();
  int published = 300;
  while (std::chrono::steady_clock::now() - first < std::chrono::milliseconds(1700)) {
    Publish(*store, published++, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(checkpointer.LogCuts(), 0) << "never while commits come";
  EXPECT_GT(std::filesystem::file_size(log), 1u << 20);
  // Quiet now: within a few rounds the file is cut to nothing, everything copied first.
  for (int waited = 0; waited < 3000 && checkpointer.LogCuts() == 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(checkpointer.LogCuts(), 1);
  EXPECT_EQ(std::filesystem::file_size(log), 0u);
  Publish(*store, published, 10);
  EXPECT_GT(std::filesystem::file_size(log), 0u) << "the log starts again from its beginning";
  checkpointer.Stop();
  store.reset();
  auto reopened = Open();
  auto outstanding = reopened->CountOutstanding();
  ASSERT_TRUE(outstanding.ok());
  EXPECT_EQ(*outstanding, published + 10) << "every item is kept, before the cut and after it";
}

}  // namespace
}  // namespace dutyhub
