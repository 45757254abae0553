// dutyhub-bench: confirmed publishes per second on the full path (decode, authorise,
// validate, route, store, audit, commit with synchronous=FULL) through a real broker
// process, beside the same disk's SQLite one-row-per-commit rate measured in the same run.
//
// The peer figure is what a naive "commit each request" broker could reach at best; the
// ratio shows what group commit buys. Outside CI's pass/fail: it prints figures.
#include <CLI/CLI.hpp>
#include <sqlite3.h>
#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>

#include <google/protobuf/util/json_util.h>

#include "hub.pb.h"
#include "tests/integration/harness.h"

namespace {

using Clock = std::chrono::steady_clock;
using dutyhub::testing::BrokerProcess;
using dutyhub::testing::ReadFile;
using dutyhub::testing::SamplePath;

struct Sample {
  std::string agency;
  std::string json;
};

// The seven valid samples, each sent by its own agency, with a fresh id each time.
std::vector<Sample> LoadSamples() {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"hospital-liaison-non-mobile-injury.json", "gwh-ed"},
      {"hospital-liaison-school-age.json", "gwh-ed"},
      {"mash-request-home-visit.json", "northshire-mash"},
      {"mash-request-gp-information.json", "northshire-mash"},
      {"scbu-discharge-mental-health-no-meeting.json", "gwh-scbu"},
      {"scbu-discharge-unknown-area.json", "gwh-scbu"},
      {"mash-request-unborn-midwifery.json", "northshire-mash"}};
  std::vector<Sample> out;
  for (const auto& [file, agency] : files) out.push_back({agency, ReadFile(SamplePath(file))});
  return out;
}

std::string WithId(const std::string& json, uint64_t n) {
  char id[64];
  std::snprintf(id, sizeof id, "\"id\": \"b0000000-0000-4000-8000-%012llu\"",
                static_cast<unsigned long long>(n));
  static const std::regex kId("\"id\": \"[0-9a-f-]+\"");
  return std::regex_replace(json, kId, id, std::regex_constants::format_first_only);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t i = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[i];
}

struct PublishFigures {
  uint64_t confirmed = 0;
  uint64_t retried = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
  double bytes_per_notification = 0;
};

// `as_json`: the broker parses each notification's JSON, as it does for `dutyhub send`.
// Otherwise the publisher sends it as protobuf, parsed once at the edge, as the adapters'
// client library does.
PublishFigures RunPublishers(const std::string& endpoint, int connections, int window, double seconds,
                             bool as_json) {
  std::vector<Sample> samples = LoadSamples();
  zmq::context_t context;
  std::vector<zmq::socket_t> sockets;
  for (int i = 0; i < connections; ++i) {
    sockets.emplace_back(context, zmq::socket_type::dealer);
    sockets.back().set(zmq::sockopt::linger, 0);
    sockets.back().connect(endpoint);
  }
  uint64_t next_id = 1;
  std::map<uint64_t, std::pair<Clock::time_point, std::string>> in_flight;  // correlation -> (sent, payload)
  std::vector<double> latencies;
  PublishFigures figures;
  double total_bytes = 0;
  auto send = [&](zmq::socket_t& s, uint64_t correlation, const std::string* payload) {
    std::string bytes;
    if (payload != nullptr) {
      bytes = *payload;
    } else {
      const Sample& sample = samples[correlation % samples.size()];
      dutyhub::v1::Request request;
      request.set_correlation_id(correlation);
      request.set_as(sample.agency);
      std::string json = WithId(sample.json, correlation);
      total_bytes += static_cast<double>(json.size());
      if (as_json) {
        request.mutable_send()->set_notification_json(std::move(json));
      } else if (!google::protobuf::util::JsonStringToMessage(json, request.mutable_send()->mutable_notification())
                      .ok()) {
        std::cerr << "bench: a sample does not parse\n";
        std::exit(1);
      }
      bytes = request.SerializeAsString();
    }
    s.send(zmq::buffer(bytes), zmq::send_flags::none);
    in_flight[correlation] = {Clock::now(), std::move(bytes)};
  };
  for (auto& s : sockets) {
    for (int w = 0; w < window; ++w) send(s, next_id++, nullptr);
  }
  std::vector<zmq::pollitem_t> items;
  for (auto& s : sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  bool stopping = false;
  while (!in_flight.empty()) {
    if (!stopping && Clock::now() >= end) stopping = true;
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(1000));
    for (size_t i = 0; i < sockets.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t m;
      while (sockets[i].recv(m, zmq::recv_flags::dontwait)) {
        dutyhub::v1::Reply reply;
        reply.ParseFromArray(m.data(), static_cast<int>(m.size()));
        auto it = in_flight.find(reply.correlation_id());
        if (it == in_flight.end()) continue;
        if (reply.status().code() == dutyhub::v1::Status::UNAVAILABLE) {
          ++figures.retried;  // told to retry: send the same request again
          std::string payload = std::move(it->second.second);
          in_flight.erase(it);
          send(sockets[i], reply.correlation_id(), &payload);
          continue;
        }
        if (reply.status().code() != dutyhub::v1::Status::OK) {
          std::cerr << "bench: unexpected answer: " << reply.status().message() << "\n";
          std::exit(1);
        }
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second.first).count());
        in_flight.erase(it);
        ++figures.confirmed;
        if (!stopping) send(sockets[i], next_id++, nullptr);
      }
    }
  }
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.bytes_per_notification = total_bytes / static_cast<double>(next_id - 1);
  return figures;
}

// One 1.5 KB row per transaction, WAL with synchronous=FULL: the rate a broker that
// commits each request alone could reach on this disk at best.
double SqliteOneRowPerCommit(const std::filesystem::path& dir, double seconds, size_t row_bytes) {
  std::filesystem::path path = dir / "peer.sqlite";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (body) VALUES (?)", -1, &insert, nullptr);
  std::string body(row_bytes, 'x');
  uint64_t rows = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_bind_blob(insert, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    sqlite3_step(insert);
    sqlite3_reset(insert);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    ++rows;
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(rows) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dutyhub-bench: confirmed publishes per second against SQLite's one-row-per-commit rate"};
  int connections = 1;
  int window = 32;
  double seconds = 10;
  std::string dir = "bench-data";
  bool json = false;
  std::string endpoint;
  app.add_option("--connections", connections, "agency connections publishing at once")->check(CLI::Range(1, 64));
  app.add_option("--window", window, "requests in flight per connection")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "how long each measurement runs")->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "folder for the stores (on the disk being measured)");
  app.add_flag("--json", json, "print one JSON document");
  app.add_option("--broker", endpoint, "publish to this running broker instead of starting one");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::path base = std::filesystem::absolute(dir);
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);

  double peer = SqliteOneRowPerCommit(base, seconds, 1500);

  // A fixed Monday afternoon, so every run does the same work: in office hours (no
  // out-of-hours copies to the EDS) and before the MASH requests' respond_by (nothing
  // escalates while it is measured).
  BrokerProcess broker(std::filesystem::path(DUTYHUB_CONFIG_DIR) / "northshire.yaml", base / "broker",
                       {"--simulated-clock", "2026-11-23T16:00:00Z"});
  if (endpoint.empty()) {
    if (!broker.Start()) {
      std::cerr << "bench: the broker did not start:\n" << broker.log();
      return 1;
    }
    endpoint = broker.endpoint();
  }
  PublishFigures json_path = RunPublishers(endpoint, connections, window, seconds, true);
  PublishFigures proto_path = RunPublishers(endpoint, connections, window, seconds, false);
  broker.Stop();
  auto rate = [](const PublishFigures& f) { return static_cast<double>(f.confirmed) / f.seconds; };

  if (json) {
    auto figures = [&](const PublishFigures& f) {
      return "{\"confirmed\": " + std::to_string(f.confirmed) + ", \"retried\": " + std::to_string(f.retried) +
             ", \"confirmed_per_second\": " + std::to_string(rate(f)) + ", \"confirm_p50_ms\": " +
             std::to_string(f.p50_ms) + ", \"confirm_p99_ms\": " + std::to_string(f.p99_ms) +
             ", \"ratio_to_sqlite\": " + std::to_string(rate(f) / peer) + "}";
    };
    std::cout << "{\"connections\": " << connections << ", \"window\": " << window
              << ", \"notification_bytes\": " << static_cast<int>(json_path.bytes_per_notification)
              << ", \"sqlite_one_row_per_commit_per_second\": " << peer
              << ", \"json\": " << figures(json_path) << ", \"protobuf\": " << figures(proto_path) << "}\n";
  } else {
    std::printf("notifications: the 7 valid samples with fresh ids, %.0f bytes of JSON on average\n",
                json_path.bytes_per_notification);
    std::printf("publishers:    %d connection(s) x %d in flight = %d in flight\n", connections, window,
                connections * window);
    std::printf("SQLite one row per commit (WAL, FULL):      %8.0f /s  (same disk, same run)\n", peer);
    for (auto [name, f] : {std::pair{"as JSON (broker parses)", &json_path},
                           std::pair{"as protobuf (edge parses)", &proto_path}}) {
      std::printf("dutyhub confirmed, %-26s %8.0f /s  = %.2f x SQLite  (%llu in %.1f s, retried %llu, "
                  "confirm p50 %.2f ms, p99 %.2f ms)\n",
                  name, rate(*f), rate(*f) / peer, static_cast<unsigned long long>(f->confirmed), f->seconds,
                  static_cast<unsigned long long>(f->retried), f->p50_ms, f->p99_ms);
    }
  }
  std::filesystem::remove_all(base);
  return 0;
}
