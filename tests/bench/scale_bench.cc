// scale-bench: the broker serving a store of millions of notifications (10,000,000 by
// default), as a county's years of traffic would leave it: the seven samples with fresh ids,
// routed and given their deadlines as the broker does, spread over the past months, all but
// the newest few hundred per inbox acknowledged. Prints:
//   - an inbox page's latency (p50, p99) over many requests, through the real broker;
//   - how soon the broker serves again after kill -9 (from exec to the first answer);
//   - the broker's resident memory while serving.
// Filling writes the store directly through Store (in large transactions), which is what
// the broker's own writer would have written request by request. Outside CI.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agents/client/hub_client.h"
#include "broker/config.h"
#include "broker/escalation.h"
#include "broker/routing.h"
#include "broker/time_text.h"
#include "broker/validation.h"
#include "tests/bench/bench_folder.h"
#include "tests/bench/percentile.h"
#include "tests/integration/harness.h"

namespace {

using dutyhub::bench::Percentile;

using Steady = std::chrono::steady_clock;
using dutyhub::TimeMs;
namespace v1 = dutyhub::v1;

double Ms(Steady::time_point since) {
  return std::chrono::duration<double, std::milli>(Steady::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scale-bench: the broker serving a store of millions of notifications"};
  int64_t stored = 10000000;
  int outstanding_per_inbox = 200;
  int pages = 2000;
  std::string dir = "scale-bench-data";
  bool keep = false;
  app.add_option("--stored", stored, "notifications in the store");
  app.add_option("--outstanding", outstanding_per_inbox,
                 "newest items left outstanding, about, per inbox");
  app.add_option("--pages", pages, "inbox pages to ask for");
  app.add_option("--dir", dir, "folder for the store (on the disk being measured)");
  app.add_flag("--keep", keep, "keep the store afterwards (and reuse a store already there)");
  CLI11_PARSE(app, argc, argv);

  const std::filesystem::path base = std::filesystem::absolute(dir);
  const std::filesystem::path data = base / "data";
  const std::filesystem::path store_path = data / "dutyhub.sqlite";
  auto config = dutyhub::LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  if (!config.ok()) return 1;
  const TimeMs now = *dutyhub::ParseTimestamp("2026-11-23T16:00:00Z");

  // --keep reuses only a store a bench made (its folder carries the mark), never a real one.
  if (!keep || !std::filesystem::exists(store_path) ||
      !std::filesystem::exists(base / dutyhub::bench::kBenchFolderMark)) {
    if (std::string refused = dutyhub::bench::ClaimBenchFolder(base); !refused.empty()) {
      std::fprintf(stderr, "scale-bench: %s\n", refused.c_str());
      return 2;
    }
    std::filesystem::create_directories(data);
    std::vector<v1::Notification> samples;
    for (const char* name :
         {"hospital-liaison-non-mobile-injury.json", "hospital-liaison-school-age.json",
          "mash-request-home-visit.json", "mash-request-gp-information.json",
          "scbu-discharge-mental-health-no-meeting.json", "scbu-discharge-unknown-area.json",
          "mash-request-unborn-midwifery.json"}) {
      auto parsed = dutyhub::ParseNotificationJson(
          dutyhub::testing::ReadFile(dutyhub::testing::SamplePath(name)));
      if (!parsed.ok()) return 1;
      dutyhub::Normalize(*parsed);
      samples.push_back(*parsed);
    }
    const char* agencies[] = {"gwh-ed",   "gwh-ed",   "northshire-mash", "northshire-mash",
                              "gwh-scbu", "gwh-scbu", "northshire-mash"};
    dutyhub::RandomIds ids;
    dutyhub::EscalationEngine engine(*config, ids);
    auto store = dutyhub::Store::Open(store_path.string(), true);
    if (!store.ok()) return 1;
    // A second connection marks each committed batch acknowledged, as duty workers would
    // have, but for the newest items.
    sqlite3* marker = nullptr;
    sqlite3_open(store_path.c_str(), &marker);
    sqlite3_exec(marker, "PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
    sqlite3_stmt* acknowledge = nullptr;
    sqlite3_prepare_v2(
        marker,
        "UPDATE deliveries SET state = 3, acknowledged_by = 'bench', acknowledged_at = received_at "
        "+ "
        "3600000, note = 'seen', next_deadline = NULL, escalation_at = NULL, handover_at = NULL "
        "WHERE rowid > ?1 AND rowid <= ?2",
        -1, &acknowledge, nullptr);
    // About 1.4 deliveries per notification over 9 inboxes: the newest this many stay outstanding.
    const int64_t keep_outstanding = static_cast<int64_t>(outstanding_per_inbox) * 9 * 10 / 14;
    const int64_t kPerTransaction = 20000;
    const TimeMs spread = 500;  // one every half second, back from now
    auto start = Steady::now();
    int64_t rows_before = 0;
    for (int64_t i = 0; i < stored; i += kPerTransaction) {
      if (!(*store)->Begin().ok()) return 1;
      for (int64_t j = i; j < std::min(stored, i + kPerTransaction); ++j) {
        v1::Notification n = samples[static_cast<size_t>(j % 7)];
        char id[48];
        std::snprintf(id, sizeof id, "5ca1e000-0000-4000-8000-%012lld", static_cast<long long>(j));
        n.set_id(id);
        const TimeMs arrival = now - (stored - j) * spread;
        dutyhub::RoutePlan plan = dutyhub::Route(**config, n, arrival);
        n.set_priority(plan.priority);
        std::vector<dutyhub::NewDelivery> deliveries;
        for (const std::string& inbox : plan.inboxes) {
          auto item = engine.NewItem(inbox, plan.priority, n, arrival);
          if (!item.ok()) return 1;
          deliveries.push_back(std::move(*item));
        }
        if (!(*store)->InsertNotification(agencies[j % 7], n, arrival, deliveries).ok()) return 1;
      }
      if (!(*store)->Commit().ok()) return 1;
      int64_t rows = 0;
      {
        sqlite3_stmt* count = nullptr;
        sqlite3_prepare_v2(marker, "SELECT MAX(rowid) FROM deliveries", -1, &count, nullptr);
        if (sqlite3_step(count) == SQLITE_ROW) rows = sqlite3_column_int64(count, 0);
        sqlite3_finalize(count);
      }
      if (i + kPerTransaction < stored) {  // the newest batch stays for the outstanding ones
        sqlite3_bind_int64(acknowledge, 1, rows_before);
        sqlite3_bind_int64(acknowledge, 2, rows);
        sqlite3_step(acknowledge);
        sqlite3_reset(acknowledge);
        rows_before = rows;
      } else {
        sqlite3_bind_int64(acknowledge, 1, rows_before);
        sqlite3_bind_int64(acknowledge, 2, rows - keep_outstanding);
        sqlite3_step(acknowledge);
        sqlite3_reset(acknowledge);
      }
      if ((i / kPerTransaction) % 50 == 0) {
        std::fprintf(stderr, "  %lld stored (%.0f s)\n",
                     static_cast<long long>(i + kPerTransaction), Ms(start) / 1000);
      }
    }
    sqlite3_finalize(acknowledge);
    sqlite3_exec(marker, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    sqlite3_close(marker);
    std::printf("stored %lld notifications in %.0f s\n", static_cast<long long>(stored),
                Ms(start) / 1000);
  }
  std::printf("store: %.1f GB\n",
              static_cast<double>(std::filesystem::file_size(store_path)) / 1e9);

  dutyhub::testing::BrokerProcess broker(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml", data,
                                         {"--simulated-clock", "2026-11-23T16:00:00Z"});
  broker.ListenOn("tcp://127.0.0.1:" +
                  std::to_string(dutyhub::testing::FreePort()));  // the same after kill -9
  auto started = Steady::now();
  if (!broker.Start()) {
    std::fprintf(stderr, "broker did not start\n%s", broker.log().c_str());
    return 1;
  }
  std::printf("broker serving after a clean start: %.0f ms\n", Ms(started));

  // Inbox pages: alice's hv-north, the way the web page asks, one after another.
  dutyhub::HubClient alice(broker.endpoint(), "alice");
  std::vector<double> latencies;
  size_t items = 0;
  for (int i = 0; i < pages; ++i) {
    v1::Request request;
    request.mutable_inbox()->set_inbox("hv-north");
    auto t = Steady::now();
    auto reply = alice.Call(request, std::chrono::seconds(10));
    latencies.push_back(Ms(t));
    if (!reply.ok() || reply->status().code() != v1::Status::OK) {
      std::fprintf(stderr, "an inbox page failed\n");
      return 1;
    }
    items = static_cast<size_t>(reply->inbox().items_size());
  }
  std::printf(
      "inbox page (hv-north, %zu outstanding of %lld stored): p50 %.2f ms, p99 %.2f ms over %d "
      "pages\n",
      items, static_cast<long long>(stored), Percentile(latencies, 0.5),
      Percentile(latencies, 0.99), pages);
  std::printf("broker resident memory: %.1f MB\n",
              dutyhub::testing::ResidentKb(broker.pid()) / 1024.0);

  // kill -9 while an agency publishes as fast as it can, then from exec to its first answer.
  std::atomic<bool> publishing{true};
  std::atomic<int64_t> published{0};
  std::thread agency([&] {
    dutyhub::HubClient client(broker.endpoint(), "gwh-ed");
    const std::string body = dutyhub::testing::ReadFile(
        dutyhub::testing::SamplePath("hospital-liaison-school-age.json"));
    for (int64_t n = 0; publishing.load(); ++n) {
      char id[48];
      std::snprintf(id, sizeof id, "5ca1e000-0000-4000-9000-%012lld", static_cast<long long>(n));
      std::string copy = body;
      copy.replace(copy.find("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a02"), 36, id);
      v1::Request request;
      request.mutable_send()->set_notification_json(copy);
      auto reply = client.Call(request, std::chrono::milliseconds(500));
      if (reply.ok() && reply->status().code() == v1::Status::OK) published.fetch_add(1);
    }
  });
  while (published.load() < 2000) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  broker.Kill9();
  const int64_t before_kill = published.load();
  auto restarted = Steady::now();
  if (!broker.Start()) {
    std::fprintf(stderr, "broker did not restart\n%s", broker.log().c_str());
    return 1;
  }
  std::printf("broker serving again after kill -9 under load (%lld published before it): %.0f ms\n",
              static_cast<long long>(before_kill), Ms(restarted));
  publishing = false;
  agency.join();
  broker.Stop();
  if (!keep) std::filesystem::remove_all(base);
  return 0;
}
