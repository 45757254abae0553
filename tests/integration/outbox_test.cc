// The adapters' durable outbox, in this process, in front of a real dutyhub-broker: how it
// fetches receipts when many stay open, and what it makes of a file an older adapter wrote.
#include "agents/outbox/outbox.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "broker/sqlite.h"
#include "broker/validation.h"
#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

constexpr const char* kMondayAfternoon = "2026-11-23T16:00:00Z";

v1::Notification Form(const Notifications& notifications, const std::string& id) {
  auto parsed = ParseNotificationJson(notifications.With(id));
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : v1::Notification();
}

// A real broker on Northshire's configuration, its clock on the samples' Monday afternoon,
// its store under `dir`; null (the test failed) when it did not start.
std::unique_ptr<BrokerProcess> MondayBroker(const TempDir& dir) {
  auto broker = std::make_unique<BrokerProcess>(
      ConfigPath("northshire.yaml"), dir.path() / "data",
      std::vector<std::string>{"--simulated-clock", kMondayAfternoon});
  if (broker->Start()) return broker;
  ADD_FAILURE() << broker->log();
  return nullptr;
}

// The outbox of gwh-ed (--insecure-dev) in `path`, sending to `broker`.
OutboxOptions OptionsFor(const std::string& path, const std::string& broker) {
  OutboxOptions options;
  options.path = path;
  options.broker = broker;
  options.insecure_as = "gwh-ed";
  return options;
}

bool Acknowledged(const Receipt& receipt) {
  if (!receipt.status) return false;
  for (const auto& d : receipt.status->deliveries()) {
    if (d.state() == v1::ACKNOWLEDGED) return true;
  }
  return false;
}

// Receipts are fetched a round at a time. Notifications nobody acknowledges (for weeks, in
// a real county) must not keep the receipt of a newer one from ever being fetched.
TEST(OutboxReceipts, ANewerReceiptIsFetchedWhileOlderOnesStayOpen) {
  TempDir dir;
  auto broker = MondayBroker(dir);
  ASSERT_TRUE(broker);
  OutboxOptions options = OptionsFor((dir.path() / "outbox.sqlite").string(), broker->endpoint());
  options.receipt_interval = 50;
  options.receipts_per_round = 2;
  SystemClock clock;
  auto outbox = Outbox::Open(options, clock);
  ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
  Notifications notifications;
  constexpr int kSent = 7;
  for (int n = 0; n < kSent; ++n) {
    ASSERT_TRUE((*outbox)->Accept(Form(notifications, Notifications::Id(3, n))).ok()) << n;
  }
  (*outbox)->Start();
  ASSERT_TRUE(Eventually([&] { return (*outbox)->sent() == kSent; }, 15000));

  // sam acknowledges the newest only; the six before it stay open.
  const std::string newest = Notifications::Id(3, kSent - 1);
  json listed = broker->Cli("sam", {"inbox", "school-nursing", "--all"}).Json();
  std::string delivery;
  for (const auto& item : listed["items"]) {
    if (item["notification_id"] == newest) delivery = item["delivery_id"];
  }
  ASSERT_FALSE(delivery.empty()) << listed.dump();
  CommandResult ack = broker->Cli("sam", {"ack", delivery, "--note", "School nurse will call"});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;

  EXPECT_TRUE(Eventually(
      [&] {
        auto receipt = (*outbox)->GetReceipt(newest);
        return receipt.ok() && receipt->has_value() && Acknowledged(**receipt);
      },
      15000))
      << "the newest receipt was never fetched past the open ones";
  auto oldest = (*outbox)->GetReceipt(Notifications::Id(3, 0));
  ASSERT_TRUE(oldest.ok() && oldest->has_value());
  ASSERT_TRUE((*oldest)->status.has_value()) << "the open ones are fetched too";
  EXPECT_FALSE(Acknowledged(**oldest));
  (*outbox)->Stop();
  broker->Stop();
}

// An outbox file as the adapters of November 2026 wrote it (version 1), holding `rows`:
// (notification, state, refusal or "").
void WriteVersionOneFile(
    const std::string& path,
    const std::vector<std::tuple<v1::Notification, std::string, std::string>>& rows) {
  auto db = Database::Open(path, /*read_only=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)
                  ->Exec(R"sql(
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, accepted_at INTEGER NOT NULL,
        body BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'REFUSED')),
        attempts INTEGER NOT NULL DEFAULT 0, refusal TEXT, receipt BLOB,
        receipt_final INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX outbox_by_state ON outbox (state, seq);
      PRAGMA user_version = 1;)sql")
                  .ok());
  for (const auto& [notification, state, refusal] : rows) {
    auto insert = (*db)->Prepare(
        "INSERT INTO outbox (id, accepted_at, body, state, refusal) VALUES (?, 0, ?, ?, ?)");
    ASSERT_TRUE(insert.ok());
    (*insert)->Bind(1, notification.id()).BindBlob(2, notification.SerializeAsString());
    (*insert)->Bind(3, state);
    if (refusal.empty())
      (*insert)->BindNull(4);
    else
      (*insert)->Bind(4, refusal);
    ASSERT_EQ((*insert)->Step(), SQLITE_DONE);
  }
}

// An outbox file from before version 2 kept only "CODE: message" for a refusal. Opened by
// this adapter it is brought up to date in place, and a retry of what the broker refused
// then is answered with that refusal, not "already accepted".
TEST(OutboxFile, AVersionOneFileIsUpgradedAndItsRefusalsStillAnswerRetries) {
  TempDir dir;
  const std::string path = (dir.path() / "outbox.sqlite").string();
  Notifications notifications;
  const v1::Notification refused = Form(notifications, Notifications::Id(4, 1));
  const v1::Notification ruled_out = Form(notifications, Notifications::Id(4, 3));
  WriteVersionOneFile(path,
                      {{refused, "REFUSED", "PERMISSION_DENIED: gwh-ed may not send this"},
                       {ruled_out, "REFUSED", "INVALID_ARGUMENT: the notification breaks 1 rule"}});
  // Nobody listens at the broker's address: none is needed.
  const OutboxOptions options = OptionsFor(path, "tcp://127.0.0.1:" + std::to_string(FreePort()));
  SystemClock clock;
  auto outbox = Outbox::Open(options, clock);
  ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
  auto retry = (*outbox)->Accept(refused);
  ASSERT_FALSE(retry.ok()) << "a refused form answered as accepted";
  EXPECT_EQ(retry.status().code(), Code::kPermissionDenied);
  EXPECT_NE(retry.status().message().find("gwh-ed may not send this"), std::string::npos)
      << retry.status().message();
  // A rule refusal of then, its violations not kept: named as the notification's, not as
  // `id` (which would say the id was used before).
  auto again = (*outbox)->Accept(ruled_out);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kInvalidArgument);
  ASSERT_EQ(again.status().violations().size(), 1u);
  EXPECT_EQ(again.status().violations()[0].field, "notification");
  EXPECT_TRUE((*outbox)->Accept(Form(notifications, Notifications::Id(4, 2))).ok());
  outbox->reset();
  EXPECT_EQ(SqliteQuery(path, "PRAGMA user_version"), "2");
  EXPECT_EQ(SqliteQuery(path, "SELECT COUNT(*) FROM outbox"), "3");
  // Opened again (the next start), nothing is upgraded twice.
  EXPECT_TRUE(Outbox::Open(options, clock).ok());
  // An adapter of version 1 started on the file again stamps it version 1, its column
  // still there: the next start of this one upgrades it again, without adding it twice.
  {
    auto db = Database::Open(path, /*read_only=*/false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 1").ok());
  }
  auto reopened = Outbox::Open(options, clock);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_FALSE((*reopened)->Accept(refused).ok()) << "its refusal is still there";
  reopened->reset();
  EXPECT_EQ(SqliteQuery(path, "PRAGMA user_version"), "2");
}

// A notification an adapter from before the size bound took is too large for the broker's
// socket, which would drop it unanswered: it is refused in the outbox with the rule it
// breaks, and what waits behind it is sent.
TEST(OutboxFile, ANotificationTooLargeForTheHubIsRefusedAndHoldsUpNothingBehindIt) {
  TempDir dir;
  auto broker = MondayBroker(dir);
  ASSERT_TRUE(broker);
  const std::string path = (dir.path() / "outbox.sqlite").string();
  Notifications notifications;
  v1::Notification huge = Form(notifications, Notifications::Id(5, 1));
  huge.mutable_hospital_liaison()->set_presenting_complaint(std::string(1100 * 1024, 'a'));
  const v1::Notification behind = Form(notifications, Notifications::Id(5, 2));
  WriteVersionOneFile(path, {{huge, "PENDING", ""}, {behind, "PENDING", ""}});
  OutboxOptions options = OptionsFor(path, broker->endpoint());
  options.broker_timeout = 1000;
  SystemClock clock;
  auto outbox = Outbox::Open(options, clock);
  ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
  (*outbox)->Start();
  ASSERT_TRUE(Eventually([&] { return (*outbox)->pending() == 0; }, 15000))
      << (*outbox)->pending() << " still pending";
  auto receipt = (*outbox)->GetReceipt(huge.id());
  ASSERT_TRUE(receipt.ok() && receipt->has_value());
  EXPECT_EQ((*receipt)->state, "REFUSED");
  auto retry = (*outbox)->Accept(huge);
  ASSERT_FALSE(retry.ok());
  ASSERT_FALSE(retry.status().violations().empty());
  EXPECT_EQ(retry.status().violations()[0].field, "hospital_liaison.presenting_complaint");
  EXPECT_TRUE(Eventually([&] {
    json listed = broker->Cli("sam", {"inbox", "school-nursing", "--all"}).Json();
    return listed.contains("items") && listed["items"].size() == 1 &&
           listed["items"][0]["notification_id"] == behind.id();
  }));
  (*outbox)->Stop();
  broker->Stop();
}

// Receipts the broker never answers for (here: ids it never had, as after a store was
// restored from an older backup) stay unfetched; they must not keep a new notification's
// first receipt from being fetched, whatever the round's size.
TEST(OutboxReceipts, ReceiptsNeverAnsweredHoldUpNoNewOnes) {
  for (int round : {1, 2}) {
    SCOPED_TRACE("receipts_per_round " + std::to_string(round));
    TempDir dir;
    auto broker = MondayBroker(dir);
    ASSERT_TRUE(broker);
    const std::string path = (dir.path() / "outbox.sqlite").string();
    Notifications notifications;
    std::vector<std::tuple<v1::Notification, std::string, std::string>> lost;
    for (int n = 0; n < 4; ++n)
      lost.emplace_back(Form(notifications, Notifications::Id(6, n)), "SENT", "");
    WriteVersionOneFile(path, lost);
    OutboxOptions options = OptionsFor(path, broker->endpoint());
    options.receipt_interval = 50;
    options.receipts_per_round = round;
    SystemClock clock;
    auto outbox = Outbox::Open(options, clock);
    ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
    const v1::Notification fresh = Form(notifications, Notifications::Id(6, 9));
    ASSERT_TRUE((*outbox)->Accept(fresh).ok());
    (*outbox)->Start();
    EXPECT_TRUE(Eventually(
        [&] {
          auto receipt = (*outbox)->GetReceipt(fresh.id());
          return receipt.ok() && receipt->has_value() && (*receipt)->status.has_value();
        },
        15000));
    (*outbox)->Stop();
    broker->Stop();
  }
}

}  // namespace
}  // namespace dutyhub::testing
