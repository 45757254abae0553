// dutyhub-broker: validates, stores and routes safeguarding notifications into duty
// inboxes. Command line as docs/CLI.md says; exit 2 for a bad command line or
// configuration, before anything listens.
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "broker/auth.h"
#include "broker/backup.h"
#include "broker/checkpointer.h"
#include "broker/config.h"
#include "broker/coverage.h"
#include "broker/escalation.h"
#include "broker/hub.h"
#include "broker/ids.h"
#include "broker/keys.h"
#include "broker/log_sink.h"
#include "broker/server.h"
#include "broker/store.h"
#include "broker/time_text.h"
#include "broker/writer.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_store_failed{false};
// A commit failed: the process ends so that it is started again (below, at the end of main).
constexpr int kExitStoreFailed = 3;
constexpr int kAnswerAfterFailureMs = 5000;

extern "C" void OnSignal(int) { g_stop.store(true); }

// --insecure-dev believes whatever name a client claims, so it must never be reachable
// from another machine.
bool IsLoopback(const std::string& endpoint) {
  for (const char* prefix :
       {"tcp://127.", "tcp://localhost:", "tcp://[::1]:", "ipc://", "inproc://"}) {
    if (endpoint.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

int Fail(const std::string& message) {
  std::cerr << "dutyhub-broker: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // The store holds children's details: nobody but the broker's own account reads it.
  umask(077);
  // protobuf logs a line for every string field a peer sends that is not UTF-8: a peer must
  // not be able to flood the log. The request is refused all the same.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  CLI::App app{"dutyhub-broker: carries safeguarding notifications into duty inboxes"};
  std::string config_path;
  std::string data_dir = "dutyhub-data";
  std::string listen;
  std::string simulated_start;
  std::string key_file;
  std::string keys_dir;
  bool insecure_dev = false;
  app.add_option("--config", config_path, "the partnership configuration (YAML)");
  app.add_option("--data", data_dir, "where the SQLite store lives (created if missing)");
  app.add_option("--listen", listen, "endpoint to listen on, e.g. tcp://127.0.0.1:5570");
  auto* simulated = app.add_option("--simulated-clock", simulated_start,
                                   "run on a simulated clock starting at START (RFC 3339) or now")
                        ->expected(0, 1);
  app.add_option("--key", key_file, "the broker's key file (dutyhub keygen); CURVE needs it");
  app.add_option("--keys", keys_dir, "a folder of NAME.pub public keys, one per agency and person");
  app.add_flag("--insecure-dev", insecure_dev,
               "accept unauthenticated connections and believe the client's --as (loopback only)");
  // `backup DEST`: an online, consistent copy of the store, while the broker runs.
  CLI::App* backup =
      app.add_subcommand("backup", "copy the store, consistently, while the broker runs");
  std::string backup_dest;
  backup->add_option("DEST", backup_dest, "the new file to write (never overwritten)")->required();
  backup->add_option("--data", data_dir, "the broker's data folder");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  dutyhub::GatherLogLinesUnlessOnATerminal();
  if (backup->parsed()) {
    auto copied = dutyhub::BackupStore(data_dir + "/dutyhub.sqlite", backup_dest);
    if (!copied.ok()) {
      std::cerr << "dutyhub-broker backup: " << copied.status().message() << "\n";
      return copied.status().code() == dutyhub::Code::kInvalidArgument ? 2 : 5;
    }
    std::cout << "backed up " << data_dir << "/dutyhub.sqlite to " << backup_dest << ": "
              << copied->notifications << " notifications, " << copied->deliveries
              << " deliveries, " << copied->audit_entries << " audit entries, " << copied->bytes
              << " bytes; integrity ok\n";
    return 0;
  }
  if (config_path.empty())
    return Fail("--config is required: the partnership configuration (YAML)");

  auto config = dutyhub::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  std::string endpoint = listen.empty() ? (*config)->broker.listen : listen;
  // Promise 6: CURVE unless explicitly in development mode, and that only on loopback.
  dutyhub::KeyRing keyring;
  std::string secret_key;
  if (insecure_dev) {
    if (!IsLoopback(endpoint)) {
      return Fail("--insecure-dev is refused on " + endpoint +
                  ": it believes any name a client claims, so it listens on loopback only "
                  "(tcp://127.0.0.1:PORT or tcp://[::1]:PORT)");
    }
    spdlog::warn(
        "INSECURE DEVELOPMENT MODE: connections are not authenticated and clients "
        "choose who they are. Never use this with real data.");
  } else {
    if (key_file.empty())
      return Fail("--key: the broker needs its key file (make one with dutyhub keygen)");
    auto own = dutyhub::ReadKeyFile(key_file);
    if (!own.ok()) return Fail(own.status().message());
    secret_key = own->secret_key;
    auto add = [&](const std::string& principal, const std::string& inline_key) -> dutyhub::Status {
      if (!inline_key.empty()) {
        if (auto s = keyring.Add(principal, inline_key); !s.ok()) return s;
      }
      std::string pub = keys_dir + "/" + principal + ".pub";
      if (!keys_dir.empty() && std::filesystem::exists(pub)) {
        auto key = dutyhub::ReadPublicKey(pub);
        if (!key.ok()) return key.status();
        return keyring.Add(principal, *key);
      }
      return dutyhub::Status::Ok();
    };
    for (const auto& [id, agency] : (*config)->agencies) {
      if (auto s = add(id, agency.public_key); !s.ok()) return Fail(s.message());
    }
    for (const auto& [id, user] : (*config)->users) {
      if (auto s = add(id, user.public_key); !s.ok()) return Fail(s.message());
    }
    for (const auto& [id, gateway] : (*config)->gateways) {
      if (auto s = add(id, gateway.public_key); !s.ok()) return Fail(s.message());
    }
    if (keyring.size() == 0) {
      return Fail(
          "no principal has a public key: give them `public_key` in the configuration or "
          "--keys DIR with NAME.pub files");
    }
    spdlog::info("CURVE on: {} principals have keys", keyring.size());
  }

  dutyhub::SystemClock system_clock;
  std::unique_ptr<dutyhub::SimulatedClock> simulated_clock;
  if (simulated->count() > 0) {
    dutyhub::TimeMs start = system_clock.Now();
    if (!simulated_start.empty()) {
      auto parsed = dutyhub::ParseTimestamp(simulated_start);
      if (!parsed)
        return Fail("--simulated-clock: expected an RFC 3339 time such as 2026-11-23T10:00:00Z");
      start = *parsed;
    }
    simulated_clock = std::make_unique<dutyhub::SimulatedClock>(start);
    spdlog::info("simulated clock starts at {}", dutyhub::FormatTimestamp(start));
  }
  const dutyhub::Clock& clock =
      simulated_clock ? static_cast<const dutyhub::Clock&>(*simulated_clock) : system_clock;

  // Said at every start, so a gap in cover is seen before an item falls into it.
  {
    const dutyhub::OfficeHours& local = *(*config)->inboxes.begin()->second.office_hours;
    int64_t today = local.LocalDay(clock.Now());
    int64_t monday = today - ((today + 3) % 7);  // 1970-01-01 was a Thursday
    for (const std::string& gap :
         dutyhub::FindImmediateGaps(**config, local.LocalMidnight(monday))) {
      spdlog::warn("configuration: {}", gap);
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail("cannot create the data folder " + data_dir + ": " + ec.message());
  const std::string store_path = data_dir + "/dutyhub.sqlite";
  auto writer_store = dutyhub::Store::Open(store_path, /*writer=*/true);
  if (!writer_store.ok()) return Fail(writer_store.status().message());
  auto reader_store = dutyhub::Store::Open(store_path, /*writer=*/false);
  if (!reader_store.ok()) return Fail(reader_store.status().message());
  dutyhub::Checkpointer checkpointer(store_path);
  if (auto s = checkpointer.Start(); !s.ok()) return Fail(s.message());
  if (auto s = (*writer_store)->HandOverCheckpoints(checkpointer); !s.ok())
    return Fail(s.message());

  zmq::context_t context;
  dutyhub::RandomIds ids;
  dutyhub::EscalationEngine engine(*config, ids);
  dutyhub::Hub hub(*config, clock, simulated_clock.get(), **reader_store, ids, engine,
                   insecure_dev);
  dutyhub::Writer writer(context, std::move(*writer_store), (*config)->broker.max_batch, engine,
                         clock);
  hub.set_figures({[&writer] { return static_cast<int64_t>(writer.transactions()); },
                   [&writer] { return static_cast<int64_t>(writer.requests()); },
                   [&writer] { return static_cast<int64_t>(writer.publishes()); },
                   [&writer] { return static_cast<int64_t>(writer.duplicates()); },
                   [&writer] { return writer.CommitLatency(); },
                   [&writer] { return writer.TimeToAcknowledge(); },
                   [&writer] { return writer.cpu_us(); }});
  // The ZAP handler is bound before the ROUTER listens, so no connection slips past it.
  std::unique_ptr<dutyhub::ZapHandler> zap;
  if (!insecure_dev) zap = std::make_unique<dutyhub::ZapHandler>(context, keyring);
  dutyhub::Server server(context, (*config)->broker, hub, writer, zap.get(), secret_key);
  auto bound = server.Bind(endpoint);
  if (!bound.ok()) return Fail(bound.status().message());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  writer.Start();
  // Scripts and tests read the bound endpoint here (useful when the port is `*`).
  std::ofstream(data_dir + "/broker.endpoint") << *bound << "\n";
  spdlog::info("dutyhub-broker listening on {} for {}; store {}", *bound, (*config)->partnership,
               store_path);
  // After a failed commit nothing is confirmed, and nothing escalates either: a broker left
  // running so would hold overdue items at level 0 unseen. It answers (reads, and every
  // change UNAVAILABLE) for a short while, so clients hear why, then ends with
  // kExitStoreFailed, and systemd starts it again (Restart=always), which reads the store
  // back as after a power cut: what was confirmed was synced, and what was not is not
  // there or is kept once (PostgreSQL ends itself on a failed fsync for the same reason).
  std::thread watchdog([&writer] {
    while (!g_stop.load()) {
      if (writer.failed()) {
        for (int waited = 0; waited < kAnswerAfterFailureMs && !g_stop.load(); waited += 100)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (!g_stop.load()) {
          spdlog::critical("ending after the failed commit, so that the broker is started again");
          g_store_failed.store(true);
          g_stop.store(true);
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  server.Run(g_stop);
  watchdog.join();
  writer.Stop();
  checkpointer.Stop();
  if (g_store_failed.load() || writer.failed()) {  // a SIGTERM inside the 5 s too
    dutyhub::FlushLog();
    return kExitStoreFailed;
  }
  spdlog::info(
      "dutyhub-broker stopped; every confirmed request is in the store ({} writes in {} "
      "transactions)",
      writer.requests(), writer.transactions());
  dutyhub::FlushLog();
  return 0;
}
