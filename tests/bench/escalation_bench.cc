// escalation-bench: the engine with 1,000,000 outstanding items stored. Prints the time of
// one engine wake-up with 10 and with 10,000 items due (it must grow with the items due,
// not the items stored), the broker's resident memory serving that store, and, on the
// real clock, how late escalations fire against their deadlines.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "broker/config.h"
#include "broker/escalation.h"
#include "broker/time_text.h"
#include "tests/bench/bench_folder.h"
#include "tests/integration/harness.h"

namespace {

using Steady = std::chrono::steady_clock;
using dutyhub::TimeMs;

double Ms(Steady::time_point since) {
  return std::chrono::duration<double, std::milli>(Steady::now() - since).count();
}

// `count` outstanding ROUTINE items in hv-north whose first step falls at `deadline` plus
// i * `spread`; one notification each, small bodies (the engine never reads them).
void Fill(dutyhub::Store& store, int64_t first, int64_t count, TimeMs arrival, TimeMs deadline,
          TimeMs spread) {
  dutyhub::v1::Notification n;
  n.set_type(dutyhub::v1::Notification::HOSPITAL_LIAISON);
  n.set_priority(dutyhub::v1::Notification::ROUTINE);
  n.set_summary("bench item");
  const int64_t kPerTransaction = 20000;
  for (int64_t i = 0; i < count; i += kPerTransaction) {
    if (!store.Begin().ok()) std::exit(1);
    for (int64_t j = i; j < std::min(count, i + kPerTransaction); ++j) {
      char id[48];
      std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012lld",
                    static_cast<long long>(first + j));
      n.set_id(id);
      dutyhub::NewDelivery d{std::string("d") + id, "hv-north", deadline, deadline + j * spread,
                             std::nullopt};
      if (!store.InsertNotification("gwh-ed", n, arrival, {d}).ok()) std::exit(1);
    }
    if (!store.Commit().ok()) std::exit(1);
  }
}

double WakeUp(dutyhub::Store& store, dutyhub::EscalationEngine& engine, TimeMs now, int* steps) {
  auto start = Steady::now();
  if (!store.Begin().ok()) std::exit(1);
  *steps = 0;
  while (true) {
    auto n = engine.RunDue(store, now, 500);
    if (!n.ok()) std::exit(1);
    if (*n == 0) break;
    *steps += *n;
  }
  if (!store.Commit().ok()) std::exit(1);
  return Ms(start);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"escalation-bench: the engine against a store of 1,000,000 outstanding items"};
  int64_t stored = 1000000;
  std::string dir = "escalation-bench-data";
  app.add_option("--stored", stored, "outstanding items in the store");
  app.add_option("--dir", dir, "folder for the store (on the disk being measured)");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::path base = std::filesystem::absolute(dir);
  if (std::string refused = dutyhub::bench::ClaimBenchFolder(base); !refused.empty()) {
    std::fprintf(stderr, "escalation-bench: %s\n", refused.c_str());
    return 2;
  }
  std::filesystem::create_directories(base / "data");
  auto config = dutyhub::LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  if (!config.ok()) return 1;
  dutyhub::RandomIds ids;
  dutyhub::EscalationEngine engine(*config, ids);
  const TimeMs t0 = *dutyhub::ParseTimestamp("2026-11-23T10:00:00Z");
  {
    auto store = dutyhub::Store::Open((base / "data" / "dutyhub.sqlite").string(), true);
    if (!store.ok()) return 1;
    auto start = Steady::now();
    // Everything far in the future but 10 + 10,000 items, due at t0 + 1 h and t0 + 2 h.
    Fill(**store, 0, stored, t0, t0 + 30 * dutyhub::kDayMs, dutyhub::kSecondMs);
    Fill(**store, stored, 10, t0, t0 + dutyhub::kHourMs, 0);
    Fill(**store, stored + 10, 10000, t0, t0 + 2 * dutyhub::kHourMs, 0);
    std::printf("stored %lld outstanding items in %.1f s\n", static_cast<long long>(stored + 10010),
                Ms(start) / 1000);
    int steps = 0;
    double none = WakeUp(**store, engine, t0 + 30 * dutyhub::kMinuteMs, &steps);
    std::printf("engine wake-up, nothing due:   %9.2f ms (%d steps)\n", none, steps);
    double ten = WakeUp(**store, engine, t0 + dutyhub::kHourMs, &steps);
    std::printf("engine wake-up, 10 due:        %9.2f ms (%d steps, %.3f ms per step)\n", ten,
                steps, ten / steps);
    double many = WakeUp(**store, engine, t0 + 2 * dutyhub::kHourMs, &steps);
    std::printf("engine wake-up, 10,000 due:    %9.2f ms (%d steps, %.3f ms per step)\n", many,
                steps, many / steps);
    std::printf("ratio 10,000 due / 10 due:     %9.1f x (items due grew 1000 x)\n", many / ten);
  }

  // The broker serving that store: its resident memory after start and after a read.
  dutyhub::testing::BrokerProcess broker(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml",
                                         base / "data",
                                         {"--simulated-clock", "2026-11-23T12:00:00Z"});
  auto start = Steady::now();
  if (!broker.Start()) {
    std::fprintf(stderr, "broker did not start\n%s", broker.log().c_str());
    return 1;
  }
  std::printf("broker serving again after start: %.0f ms\n", Ms(start));
  auto inbox = broker.Cli("alice", {"inbox", "safeguarding-leads"});
  auto stats = broker.Cli("alice", {"admin", "stats"});
  std::printf("broker resident memory with %s outstanding: %.1f MB\n",
              stats.Json()["outstanding"].dump().c_str(),
              dutyhub::testing::ResidentKb(broker.pid()) / 1024.0);
  broker.Stop();

  // The real clock: IMMEDIATE items due 2 s after arrival; how late level 1 fires.
  std::string text =
      dutyhub::testing::ReadFile(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  text = std::regex_replace(text, std::regex("IMMEDIATE: \\{after: 15m"), "IMMEDIATE: {after: 2s");
  std::ofstream(base / "fast.yaml") << text;
  std::filesystem::create_directories(base / "real");
  dutyhub::testing::BrokerProcess real(base / "fast.yaml", base / "real");
  if (!real.Start()) return 1;
  long worst = 0;
  for (int i = 0; i < 5; ++i) {
    std::string sample = dutyhub::testing::ReadFile(
        dutyhub::testing::SamplePath("hospital-liaison-non-mobile-injury.json"));
    char id[48];
    std::snprintf(id, sizeof id, "\"id\": \"00000000-0000-4000-8000-1000000000%02d\"", i);
    sample = std::regex_replace(sample, std::regex("\"id\": \"[0-9a-f-]+\""), id,
                                std::regex_constants::format_first_only);
    real.Cli("gwh-ed", {"send", "-"}, sample);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(2600));  // a benchmark may wait on a real clock
    long lag = real.Cli("alice", {"admin", "stats"}).Json()["engine_lag_ms"].get<long>();
    worst = std::max(worst, lag);
  }
  std::printf("real clock: worst lag of an escalation behind its deadline over 5 items: %ld ms\n",
              worst);
  real.Stop();
  std::filesystem::remove_all(base);
  return 0;
}
