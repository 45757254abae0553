// dutyhub-bench: the hub's figures through a real broker process, beside peers measured in
// the same run (README.md beside this file):
//   - confirmed publishes per second on the full path (decode, authorise, validate, route,
//     store, audit, commit with synchronous=FULL), N agency connections x a window in flight;
//   - publish-to-confirm latency (p50, p99, p99.9) at a fixed offered rate, measured from
//     when each publish was due, so a stall counts against every publish it delayed;
//   - acknowledgements per second by duty workers, a window in flight each;
//   - the same disk's SQLite one-row-per-commit rate, the naive broker's best.
// Outside CI's pass/fail: it prints figures (`--json` for the comparison script).
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "hub.pb.h"
#include "tests/bench/bench_folder.h"
#include "tests/bench/percentile.h"
#include "tests/integration/harness.h"

namespace {

using dutyhub::bench::Percentile;

using Clock = std::chrono::steady_clock;
using dutyhub::testing::BrokerProcess;
using dutyhub::testing::ReadFile;
using dutyhub::testing::SamplePath;
namespace v1 = dutyhub::v1;

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

// Writes a random (version 4) UUID at `out`, its 36 characters of text. Random, as agencies'
// systems make them: nothing about one id says where the next goes in the store's indexes.
// (Counting ids would land every publish at the end of them, which no agency's traffic does.)
void WriteRandomUuid(std::mt19937_64& random, char* out) {
  const uint64_t hi = (random() & 0xFFFFFFFFFFFF0FFFULL) | 0x4000ULL;
  const uint64_t lo = (random() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  int at = 0;
  for (int nibble = 0; nibble < 32; ++nibble) {
    if (nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20) out[at++] = '-';
    const uint64_t half = nibble < 16 ? hi : lo;
    out[at++] = kHex[(half >> (60 - 4 * (nibble % 16))) & 0xF];
  }
}

// A random valid NHS number: nine digits and the modulus 11 check digit (NHS Data
// Dictionary), drawn again when the check would be 10, which no number may have.
void WriteRandomNhsNumber(std::mt19937_64& random, char* out) {
  for (;;) {
    int sum = 0;
    for (int i = 0; i < 9; ++i) {
      const int digit = static_cast<int>(random() % 10);
      out[i] = static_cast<char>('0' + digit);
      sum += digit * (10 - i);
    }
    const int check = (11 - sum % 11) % 11;
    if (check == 10) continue;
    out[9] = static_cast<char>('0' + check);
    return;
  }
}

std::string WithId(const std::string& json, const std::string& id) {
  static const std::regex kId("\"id\": \"[0-9a-f-]+\"");
  return std::regex_replace(json, kId, "\"id\": \"" + id + "\"",
                            std::regex_constants::format_first_only);
}

// Who acknowledges in each inbox the samples reach (northshire.md, "People").
const std::map<std::string, std::string> kMemberOf = {
    {"hv-north", "alice"}, {"hv-south", "bob"},       {"school-nursing", "sam"},
    {"mash", "carol"},     {"perinatal-mh", "priya"}, {"gp-J81012", "gina"},
    {"gp-J81034", "gina"}, {"triage", "tess"},        {"eds", "eddie"}};

struct Figures {
  uint64_t done = 0;
  uint64_t retried = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  int connections = 0;  // the connections that sent the requests
  // The writer's transactions meanwhile: requests per commit is done / commits.
  int64_t commits = 0;
  int64_t writer_cpu_us = 0;  // CPU time the broker's writer thread used meanwhile
  int64_t broker_cpu_us = 0;  // CPU time the whole broker process used meanwhile (-1: not known)
  int64_t bench_cpu_us = 0;   // and this process, the clients, the same way
  double rate() const { return seconds > 0 ? static_cast<double>(done) / seconds : 0; }
  double per_commit() const {
    return commits > 0 ? static_cast<double>(done) / static_cast<double>(commits) : 0;
  }
  // The serial stage's cost of one request: steadier from run to run than the rates, which
  // move with the disk and the other processes on the machine.
  double writer_us_per_request() const {
    return done > 0 ? static_cast<double>(writer_cpu_us) / static_cast<double>(done) : 0;
  }
  // What one request costs the machine, every thread of the broker counted; with the
  // clients' share, where the two cores went (the rates are bounded by their sum).
  double broker_us_per_request() const {
    return done > 0 && broker_cpu_us >= 0
               ? static_cast<double>(broker_cpu_us) / static_cast<double>(done)
               : 0;
  }
  double bench_us_per_request() const {
    return done > 0 ? static_cast<double>(bench_cpu_us) / static_cast<double>(done) : 0;
  }
};

// CPU time (user and system) a process has used so far, in microseconds; -1 when it cannot
// be read (a broker of someone else's, given with --broker).
int64_t ProcessCpuUs(pid_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return (utime + stime) * 1'000'000 / sysconf(_SC_CLK_TCK);
}

int64_t SelfCpuUs() {
  rusage used{};
  getrusage(RUSAGE_SELF, &used);
  return (static_cast<int64_t>(used.ru_utime.tv_sec) + used.ru_stime.tv_sec) * 1'000'000 +
         used.ru_utime.tv_usec + used.ru_stime.tv_usec;
}

// The broker's count of write transactions so far and its writer's CPU time, asked as
// Northshire's administrator.
v1::StatsReply WriterStats(const std::string& endpoint) {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, 5000);
  socket.connect(endpoint);
  v1::Request request;
  request.set_as("frank");
  request.mutable_stats();
  socket.send(zmq::buffer(request.SerializeAsString()), zmq::send_flags::none);
  zmq::message_t answer;
  v1::Reply reply;
  if (!socket.recv(answer) ||
      !reply.ParseFromArray(answer.data(), static_cast<int>(answer.size())) ||
      reply.status().code() != v1::Status::OK) {
    std::cerr << "bench: the broker did not report its write transactions\n";
    std::exit(1);
  }
  return reply.stats();
}

// Runs one measurement and counts the broker's commits during it.
template <typename Measure>
Figures Counting(const std::string& endpoint, pid_t broker, Measure measure) {
  const v1::StatsReply before = WriterStats(endpoint);
  const int64_t broker_before = ProcessCpuUs(broker);
  const int64_t bench_before = SelfCpuUs();
  Figures figures = measure();
  figures.bench_cpu_us = SelfCpuUs() - bench_before;
  const int64_t broker_after = ProcessCpuUs(broker);
  figures.broker_cpu_us =
      broker_before >= 0 && broker_after >= 0 ? broker_after - broker_before : -1;
  const v1::StatsReply after = WriterStats(endpoint);
  figures.commits = after.write_transactions() - before.write_transactions();
  figures.writer_cpu_us = after.writer_cpu_us() - before.writer_cpu_us();
  return figures;
}

// Requests in flight on DEALER sockets, matched to answers by correlation id. A request told
// UNAVAILABLE is sent again, the same bytes, and counted as retried.
class Pipeline {
 public:
  struct Sent {
    size_t socket;
    Clock::time_point due;  // when it was meant to go: latency is measured from here
    std::string bytes;
  };

  Pipeline(const std::string& endpoint, size_t sockets) {
    for (size_t i = 0; i < sockets; ++i) {
      sockets_.emplace_back(context_, zmq::socket_type::dealer);
      sockets_.back().set(zmq::sockopt::linger, 0);
      sockets_.back().set(zmq::sockopt::sndhwm, 0);
      sockets_.back().connect(endpoint);
    }
  }

  void Send(size_t socket, uint64_t correlation, std::string bytes, Clock::time_point due) {
    sockets_[socket].send(zmq::buffer(bytes), zmq::send_flags::none);
    in_flight_[correlation] = {socket, due, std::move(bytes)};
  }
  size_t in_flight() const { return in_flight_.size(); }

  // Waits up to `wait` for answers; calls `done(sent, reply)` for each final one.
  template <typename Done>
  void Poll(Clock::duration wait, Figures& figures, Done done) {
    if (Take(figures, done) > 0 || wait <= Clock::duration::zero()) return;
    // Not zmq_poll, which waits in whole milliseconds: the paced run, waiting 0 for the
    // rest of a 1 ms gap, would spin a core the broker needs, and rounding up would send
    // late. ppoll waits to the microsecond on the sockets' descriptors, which say only that
    // a socket's state may have changed: so every socket is read to empty before it, and
    // read again after.
    std::vector<pollfd> fds;
    for (zmq::socket_t& socket : sockets_) fds.push_back({socket.get(zmq::sockopt::fd), POLLIN, 0});
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                           static_cast<long>(ns % 1'000'000'000)};
    ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    Take(figures, done);
  }

 private:
  // Reads every answer waiting; returns how many there were. Passes again until one finds
  // none: `done` may send on a socket already read, and a send can take the descriptor's
  // signal of an answer that came meanwhile.
  template <typename Done>
  size_t Take(Figures& figures, Done done) {
    size_t taken = 0;
    for (size_t before = 1; taken != before;) {
      before = taken;
      for (size_t i = 0; i < sockets_.size(); ++i) {
        zmq::message_t m;
        while ((sockets_[i].get(zmq::sockopt::events) & ZMQ_POLLIN) &&
               sockets_[i].recv(m, zmq::recv_flags::dontwait)) {
          ++taken;
          v1::Reply reply;
          reply.ParseFromArray(m.data(), static_cast<int>(m.size()));
          auto it = in_flight_.find(reply.correlation_id());
          if (it == in_flight_.end()) continue;
          if (reply.status().code() == v1::Status::UNAVAILABLE) {
            ++figures.retried;
            sockets_[i].send(zmq::buffer(it->second.bytes), zmq::send_flags::none);
            continue;
          }
          if (reply.status().code() != v1::Status::OK) {
            std::cerr << "bench: unexpected answer: " << reply.status().message() << "\n";
            std::exit(1);
          }
          Sent sent = std::move(it->second);
          in_flight_.erase(it);
          done(sent, reply);
        }
      }
    }
    return taken;
  }

  zmq::context_t context_;
  std::vector<zmq::socket_t> sockets_;
  std::map<uint64_t, Sent> in_flight_;
};

// Builds publishes of the samples with fresh ids, as JSON (the broker parses it, as for
// `dutyhub send`) or as protobuf (parsed once at the edge, as the adapters' client does).
// The bench's own work stays small beside the broker's, as RabbitMQ's client sends one body
// over and over: each sample is serialized once, as a request around a placeholder id, and
// each publish is its correlation id, then those bytes with a fresh id written over the
// placeholder. (A message's fields may come in any order and one serialized after another
// merge, so the broker reads exactly the request it would get from serializing it whole.)
//
// With `fresh_nhs_numbers` (protobuf only), each publish whose sample names the child's NHS
// number gets a random valid one too, written over a placeholder the same way: the samples
// name five children (the unborn one has none), so otherwise the store's index of children's
// NHS numbers takes every insert at one of five places, where a nation's traffic would take
// a random page each.
class Publishes {
 public:
  Publishes(uint64_t run, bool as_json, bool fresh_nhs_numbers = false)
      : samples_(LoadSamples()), random_(std::random_device{}() ^ run), as_json_(as_json) {
    for (const Sample& sample : samples_) {
      v1::Notification parsed;
      if (!google::protobuf::util::JsonStringToMessage(sample.json, &parsed).ok()) {
        std::cerr << "bench: a sample does not parse\n";
        std::exit(1);
      }
      const bool fresh_nhs = fresh_nhs_numbers && !as_json_ && !parsed.child().nhs_number().empty();
      // The sample's request with `id` (and, when fresh, the child's `nhs_number`), built whole.
      auto request_with = [&](const std::string& id, const std::string& nhs_number) {
        v1::Request request;
        request.set_as(sample.agency);
        if (as_json_) {
          request.mutable_send()->set_notification_json(WithId(sample.json, id));
        } else {
          *request.mutable_send()->mutable_notification() = parsed;
          request.mutable_send()->mutable_notification()->set_id(id);
          if (fresh_nhs && !nhs_number.empty()) {
            request.mutable_send()->mutable_notification()->mutable_child()->set_nhs_number(
                nhs_number);
          }
        }
        return request;
      };
      Template t{request_with(kPlaceholder, kNhsPlaceholder).SerializeAsString(), 0,
                 std::string::npos};
      t.id_at = t.bytes.find(kPlaceholder);
      if (t.id_at == std::string::npos ||
          t.bytes.find(kPlaceholder, t.id_at + 1) != std::string::npos) {
        std::cerr << "bench: a sample's request does not hold its id once\n";
        std::exit(1);
      }
      if (fresh_nhs) {
        t.nhs_at = t.bytes.find(kNhsPlaceholder);
        if (t.nhs_at == std::string::npos ||
            t.bytes.find(kNhsPlaceholder, t.nhs_at + 1) != std::string::npos) {
          std::cerr << "bench: a sample's request does not hold its child's NHS number once\n";
          std::exit(1);
        }
      }
      templates_.push_back(std::move(t));
      // What the broker reads must be the request the sample makes serialized whole, with a
      // fresh id and the correlation id set. (Next picks this sample's template: the
      // correlation id is congruent to its index.)
      const uint64_t correlation = samples_.size() + templates_.size() - 1;
      const std::string bytes = Next(correlation);
      const size_t template_at = bytes.size() - templates_.back().bytes.size();
      const std::string id = bytes.substr(template_at + templates_.back().id_at, 36);
      const std::string nhs_number =
          fresh_nhs ? bytes.substr(template_at + templates_.back().nhs_at, 10) : "";
      v1::Request whole = request_with(id, nhs_number);
      whole.set_correlation_id(correlation);
      v1::Request sent;
      if (id == kPlaceholder || nhs_number == kNhsPlaceholder || !sent.ParseFromString(bytes) ||
          !google::protobuf::util::MessageDifferencer::Equals(sent, whole)) {
        std::cerr << "bench: a sample's request is not the one it makes serialized whole\n";
        std::exit(1);
      }
    }
    bytes_ = 0;
    count_ = 0;
  }
  std::string Next(uint64_t correlation) {
    const size_t which = correlation % samples_.size();
    v1::Request head;
    head.set_correlation_id(correlation);
    std::string bytes = head.SerializeAsString();
    const Template& t = templates_[which];
    const size_t id_at = bytes.size() + t.id_at;
    bytes += t.bytes;
    WriteRandomUuid(random_, bytes.data() + id_at);
    if (t.nhs_at != std::string::npos) {
      WriteRandomNhsNumber(random_, bytes.data() + bytes.size() - t.bytes.size() + t.nhs_at);
    }
    bytes_ += static_cast<double>(samples_[which].json.size());
    ++count_;
    return bytes;
  }
  double average_bytes() const { return count_ ? bytes_ / static_cast<double>(count_) : 0; }

 private:
  static constexpr const char* kPlaceholder = "00000000-0000-4000-8000-000000000000";
  static constexpr const char* kNhsPlaceholder = "1357924680";
  struct Template {
    std::string bytes;  // the request without its correlation id, the id a placeholder
    size_t id_at;       // where the placeholder is
    size_t nhs_at;      // where the NHS number's placeholder is; npos: the sample's own
  };
  std::vector<Sample> samples_;
  std::vector<Template> templates_;
  std::mt19937_64 random_;
  bool as_json_;
  double bytes_ = 0;
  uint64_t count_ = 0;
};

struct Item {
  std::string inbox;
  std::string delivery_id;
};

// Closed loop: every connection keeps `window` publishes in flight for `seconds`. The
// deliveries confirmed are collected for the acknowledgement run.
Figures Throughput(const std::string& endpoint, int connections, int window, double seconds,
                   Publishes& publishes, std::vector<Item>* items) {
  Pipeline pipeline(endpoint, static_cast<size_t>(connections));
  uint64_t next = 1;
  std::vector<double> latencies;
  Figures figures;
  for (int c = 0; c < connections; ++c) {
    for (int w = 0; w < window; ++w)
      pipeline.Send(static_cast<size_t>(c), next, publishes.Next(next), Clock::now()), ++next;
  }
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (pipeline.in_flight() > 0) {
    const bool stopping = Clock::now() >= end;
    pipeline.Poll(std::chrono::milliseconds(1000), figures,
                  [&](const Pipeline::Sent& sent, const v1::Reply& reply) {
                    latencies.push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - sent.due).count());
                    ++figures.done;
                    if (items != nullptr) {
                      for (const auto& d : reply.send().deliveries())
                        items->push_back({d.inbox(), d.delivery_id()});
                    }
                    if (!stopping)
                      pipeline.Send(sent.socket, next, publishes.Next(next), Clock::now()), ++next;
                  });
  }
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.p999_ms = Percentile(latencies, 0.999);
  return figures;
}

// Open loop: one publish due every 1/rate s, over `connections` connections in turn, for
// `seconds`; latency from when each was due to its confirmation.
// With `trace`, each confirmation's due time (ms after the start) and latency go to it, one
// line each, after a first line "# start MS" (CLOCK_MONOTONIC, as `perf trace -T` and
// `perf record -k CLOCK_MONOTONIC` print): where in the run the slow ones fell, to set
// beside what the broker's threads and the disk were doing then.
Figures AtFixedRate(const std::string& endpoint, int connections, double rate, double seconds,
                    Publishes& publishes, std::ostream* trace) {
  Pipeline pipeline(endpoint, static_cast<size_t>(connections));
  std::vector<double> latencies;
  Figures figures;
  const auto start = Clock::now();
  if (trace != nullptr) {
    const double start_ms =
        std::chrono::duration<double, std::milli>(start.time_since_epoch()).count();
    *trace << std::fixed << std::setprecision(3) << "# start " << start_ms << '\n';
  }
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  const uint64_t total = static_cast<uint64_t>(rate * seconds);
  uint64_t sent = 0;
  while (sent < total || pipeline.in_flight() > 0) {
    const auto now = Clock::now();
    while (sent < total && start + interval * static_cast<long>(sent) <= now) {
      const uint64_t id = 1 + sent;
      pipeline.Send(sent % static_cast<uint64_t>(connections), id, publishes.Next(id),
                    start + interval * static_cast<long>(sent));
      ++sent;
    }
    const Clock::duration wait = sent < total
                                     ? start + interval * static_cast<long>(sent) - Clock::now()
                                     : Clock::duration(std::chrono::milliseconds(100));
    pipeline.Poll(wait, figures, [&](const Pipeline::Sent& s, const v1::Reply&) {
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s.due).count());
      if (trace != nullptr) {
        *trace << std::chrono::duration<double, std::milli>(s.due - start).count() << ' '
               << latencies.back() << '\n';
      }
      ++figures.done;
    });
  }
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.p999_ms = Percentile(latencies, 0.999);
  return figures;
}

// Duty workers acknowledge `items`, each by a member of its inbox, `window` in flight per
// person's connection; at most `most` in all, the same number by each person, oldest first.
// Equal shares, because the samples reach some inboxes twice as often as others: with every
// item acknowledged, the last third of the run was three workers' alone (measured: 47k/s
// with seven connections, then 39k/s), where RabbitMQ's consumers share one queue to the end.
Figures Acknowledgements(const std::string& endpoint, const std::vector<Item>& items, int window,
                         size_t most) {
  std::map<std::string, std::deque<const Item*>> by_person;
  for (const Item& item : items) {
    auto who = kMemberOf.find(item.inbox);
    if (who != kMemberOf.end()) by_person[who->second].push_back(&item);
  }
  if (!by_person.empty()) {
    size_t share = most / by_person.size();
    for (const auto& entry : by_person) share = std::min(share, entry.second.size());
    for (auto& entry : by_person) entry.second.resize(share);
  }
  std::vector<std::string> people;
  for (const auto& entry : by_person) people.push_back(entry.first);
  Pipeline pipeline(endpoint, people.size());
  Figures figures;
  figures.connections = static_cast<int>(people.size());
  std::vector<double> latencies;
  uint64_t next = 1;
  auto send_next = [&](size_t socket) {
    auto& queue = by_person[people[socket]];
    if (queue.empty()) return;
    v1::Request request;
    request.set_correlation_id(next);
    request.set_as(people[socket]);
    request.mutable_ack()->set_delivery_id(queue.front()->delivery_id);
    request.mutable_ack()->set_note("Seen; visit booked");
    queue.pop_front();
    pipeline.Send(socket, next++, request.SerializeAsString(), Clock::now());
  };
  const auto start = Clock::now();
  for (size_t p = 0; p < people.size(); ++p) {
    for (int w = 0; w < window; ++w) send_next(p);
  }
  while (pipeline.in_flight() > 0) {
    pipeline.Poll(std::chrono::milliseconds(1000), figures,
                  [&](const Pipeline::Sent& sent, const v1::Reply&) {
                    latencies.push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - sent.due).count());
                    ++figures.done;
                    send_next(sent.socket);
                  });
  }
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.p999_ms = Percentile(latencies, 0.999);
  return figures;
}

// One 1.5 KB row per transaction, WAL with synchronous=FULL: the rate a broker that
// commits each request alone could reach on this disk at best.
double SqliteOneRowPerCommit(const std::filesystem::path& dir, double seconds, size_t row_bytes) {
  std::filesystem::path path = dir / "peer.sqlite";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)",
               nullptr, nullptr, nullptr);
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

// The floor under the fixed-rate figure: a server of one thread on loopback that writes
// each request it is sent into a file on the same disk and syncs it (fdatasync) before it
// answers, paced and timed by the same loop (AtFixedRate) as the broker. It has none of the
// broker's work (checks, routing, the store's indexes, the audit chain), no hand-over from
// a reactor to a writer and no checkpoints, so what is left is the machine's own: waking
// the threads up, loopback TCP, and one synced write. The file is written in full at the
// start and then overwritten in turn, as the store's log is once it has grown, so no sync
// records a larger file.
class SyncedEcho {
 public:
  static constexpr size_t kFileBytes = 16 << 20;

  explicit SyncedEcho(const std::filesystem::path& file) : file_(file) {}
  ~SyncedEcho() { Stop(); }

  // Prepares the file and starts answering; false, with the reason on stderr, if it cannot.
  bool Start() {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    const std::string zeros(1 << 20, '\0');
    bool written = fd_ >= 0;
    for (size_t at = 0; written && at < kFileBytes; at += zeros.size()) {
      written = ::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(at)) ==
                static_cast<ssize_t>(zeros.size());
    }
    if (!written || ::fsync(fd_) != 0) {
      std::cerr << "bench: cannot prepare " << file_ << ": " << std::strerror(errno) << "\n";
      return false;
    }
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    // The socket moves to the serving thread here, and is used by it alone from now on
    // (starting a thread is the full memory barrier ZeroMQ asks of such a move).
    thread_ = std::thread([this] { Serve(); });
    return true;
  }
  const std::string& endpoint() const { return endpoint_; }
  void Stop() {
    if (thread_.joinable()) {
      stopping_ = true;
      thread_.join();
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void Serve() {
    size_t at = 0;
    while (!stopping_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      std::vector<zmq::message_t> parts;
      while (zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        v1::Reply reply;
        v1::Request request;
        request.ParseFromArray(parts.back().data(), static_cast<int>(parts.back().size()));
        reply.set_correlation_id(request.correlation_id());
        const size_t bytes = std::min(parts.back().size(), kFileBytes);
        if (at + bytes > kFileBytes) at = 0;
        if (::pwrite(fd_, parts.back().data(), bytes, static_cast<off_t>(at)) !=
                static_cast<ssize_t>(bytes) ||
            ::fdatasync(fd_) != 0) {
          std::cerr << "bench: the floor's file cannot be written: " << std::strerror(errno)
                    << "\n";
          std::exit(1);
        }
        at += bytes;
        reply.mutable_status()->set_code(v1::Status::OK);
        socket_.send(std::move(parts.front()), zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(reply.SerializeAsString()), zmq::send_flags::none);
        parts.clear();
      }
    }
  }

  std::filesystem::path file_;
  int fd_ = -1;
  zmq::context_t context_;
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

std::string FiguresJson(const Figures& f) {
  // Unknown (a broker of someone else's, --broker) is null, not a figure of 0.
  char known[32] = "null";
  if (f.broker_cpu_us >= 0) std::snprintf(known, sizeof known, "%.2f", f.broker_us_per_request());
  const std::string broker = known;
  char out[512];
  std::snprintf(out, sizeof out,
                "{\"done\": %llu, \"retried\": %llu, \"seconds\": %.3f, \"per_second\": %.1f, "
                "\"p50_ms\": %.3f, "
                "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"commits\": %lld, \"per_commit\": %.1f, "
                "\"writer_us_per_request\": %.2f, \"broker_cpu_us_per_request\": %s, "
                "\"bench_cpu_us_per_request\": %.2f}",
                static_cast<unsigned long long>(f.done), static_cast<unsigned long long>(f.retried),
                f.seconds, f.rate(), f.p50_ms, f.p99_ms, f.p999_ms,
                static_cast<long long>(f.commits), f.per_commit(), f.writer_us_per_request(),
                broker.c_str(), f.bench_us_per_request());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "dutyhub-bench: publishes, latency at a fixed rate and acknowledgements through a real "
      "broker"};
  int connections = 4;
  int window = 32;
  double seconds = 10;
  double rate = 1000;
  std::string dir = "bench-data";
  bool json = false;
  bool with_json_path = false;
  std::string endpoint;
  std::string latency_trace;
  app.add_option("--connections", connections, "agency connections publishing at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--window", window, "requests in flight per connection")
      ->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "how long each measurement runs")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", rate, "publishes per second offered for the latency figure")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "folder for the stores (on the disk being measured)");
  app.add_flag("--json", json, "print one JSON document");
  app.add_flag("--also-json-payload", with_json_path,
               "also measure notifications sent as JSON (the broker parses)");
  bool fresh_nhs_numbers = false;
  app.add_flag("--fresh-nhs-numbers", fresh_nhs_numbers,
               "give each publish's child a random valid NHS number too, not the samples' five")
      ->excludes("--also-json-payload");
  app.add_option("--broker", endpoint,
                 "use this running broker (--insecure-dev) instead of starting one");
  app.add_option("--latency-trace", latency_trace,
                 "write each fixed-rate publish's due time and latency (ms), one per line");
  CLI11_PARSE(app, argc, argv);
  std::ofstream trace;
  if (!latency_trace.empty()) {
    trace.open(latency_trace);
    if (!trace) {
      std::cerr << "bench: cannot write " << latency_trace << "\n";
      return 2;
    }
  }

  std::filesystem::path base = std::filesystem::absolute(dir);
  if (std::string refused = dutyhub::bench::ClaimBenchFolder(base); !refused.empty()) {
    std::cerr << "bench: " << refused << "\n";
    return 2;
  }
  const double peer = SqliteOneRowPerCommit(base, std::min(seconds, 5.0), 1500);
  // Before the broker starts, so nothing of its own (a checkpoint still copying) shares the
  // disk with it; as long as the broker's run, so the two p99s rest on as many publishes.
  Figures floor;
  {
    SyncedEcho echo(base / "floor.bin");
    if (!echo.Start()) return 1;
    Publishes to_echo(4, /*as_json=*/false, fresh_nhs_numbers);
    floor = AtFixedRate(echo.endpoint(), connections, rate, seconds, to_echo, nullptr);
  }

  // A fixed Monday afternoon, so every run does the same work: in office hours (no
  // out-of-hours copies to the EDS) and before the MASH requests' respond_by (nothing
  // escalates while it is measured).
  // Northshire with the per-agency rate bound lifted: it is there so one agency cannot
  // starve the others, not to cap the hub, and three agencies publish here as fast as they can.
  std::string config = ReadFile(std::filesystem::path(DUTYHUB_CONFIG_DIR) / "northshire.yaml");
  for (const auto& [from, to] : {std::pair<std::string, std::string>{
                                     "rate_per_principal: 5000", "rate_per_principal: 10000000"},
                                 {"burst_per_principal: 10000", "burst_per_principal: 10000000"}}) {
    const size_t at = config.find(from);
    if (at == std::string::npos) {
      std::cerr << "bench: northshire.yaml no longer says " << from << "\n";
      return 1;
    }
    config.replace(at, from.size(), to);
  }
  std::ofstream(base / "northshire-bench.yaml") << config;
  BrokerProcess broker(base / "northshire-bench.yaml", base / "broker",
                       {"--simulated-clock", "2026-11-23T16:00:00Z"});
  if (endpoint.empty()) {
    if (!broker.Start()) {
      std::cerr << "bench: the broker did not start:\n" << broker.log();
      return 1;
    }
    endpoint = broker.endpoint();
  }
  const pid_t broker_pid = broker.Running() ? broker.pid() : -1;
  // The bench gives up with std::exit when the broker answers what it should not, which runs
  // no destructor: the broker it started must not be left running behind it.
  static pid_t started_broker = -1;
  started_broker = broker_pid;
  std::atexit([] {
    if (started_broker > 0) ::kill(started_broker, SIGKILL);
  });
  Publishes proto(1, /*as_json=*/false, fresh_nhs_numbers);
  std::vector<Item> items;
  const Figures publish = Counting(endpoint, broker_pid, [&] {
    return Throughput(endpoint, connections, window, seconds, proto, &items);
  });
  Figures publish_json;
  if (with_json_path) {
    Publishes as_json(2, /*as_json=*/true);
    publish_json = Throughput(endpoint, connections, window, seconds, as_json, nullptr);
  }
  Publishes paced(3, /*as_json=*/false, fresh_nhs_numbers);
  std::ostream* to_trace = trace.is_open() ? &trace : nullptr;
  const Figures latency = Counting(endpoint, broker_pid, [&] {
    return AtFixedRate(endpoint, connections, rate, seconds, paced, to_trace);
  });
  // At most 100,000 acknowledgements: enough for a steady rate, and a bounded run.
  const Figures acks = Counting(endpoint, broker_pid,
                                [&] { return Acknowledgements(endpoint, items, window, 100000); });
  started_broker = -1;
  broker.Stop();

  if (json) {
    std::cout << "{\"connections\": " << connections << ", \"window\": " << window
              << ", \"notification_bytes\": " << static_cast<int>(proto.average_bytes())
              << ", \"fresh_nhs_numbers\": " << (fresh_nhs_numbers ? "true" : "false")
              << ", \"sqlite_one_row_per_commit_per_second\": " << peer
              << ", \"publish\": " << FiguresJson(publish)
              << (with_json_path ? ", \"publish_json_payload\": " + FiguresJson(publish_json)
                                 : std::string())
              << ", \"fixed_rate\": " << rate
              << ", \"latency_at_fixed_rate\": " << FiguresJson(latency)
              << ", \"floor_at_fixed_rate\": {\"done\": " << floor.done
              << ", \"p50_ms\": " << floor.p50_ms << ", \"p99_ms\": " << floor.p99_ms
              << ", \"p999_ms\": " << floor.p999_ms << "}"
              << ", \"acknowledge\": " << FiguresJson(acks)
              << ", \"acknowledging_connections\": " << acks.connections << "}\n";
  } else {
    std::printf(
        "notifications: the 7 valid samples with fresh ids%s, %.0f bytes of JSON on average, sent "
        "as protobuf\n",
        fresh_nhs_numbers ? " and children's NHS numbers" : "", proto.average_bytes());
    std::printf("publishers:    %d connection(s) x %d in flight\n", connections, window);
    std::printf("SQLite one row per commit (WAL, FULL), same disk:   %8.0f /s\n", peer);
    std::printf(
        "confirmed publishes:                                %8.0f /s  = %.2f x SQLite  (%llu in "
        "%.1f s, "
        "retried %llu; p50 %.2f ms, p99 %.2f ms; %.1f per commit, writer %.1f us each; CPU per "
        "publish: "
        "broker %.1f us, clients %.1f us)\n",
        publish.rate(), publish.rate() / peer, static_cast<unsigned long long>(publish.done),
        publish.seconds, static_cast<unsigned long long>(publish.retried), publish.p50_ms,
        publish.p99_ms, publish.per_commit(), publish.writer_us_per_request(),
        publish.broker_us_per_request(), publish.bench_us_per_request());
    if (with_json_path) {
      std::printf(
          "confirmed publishes, notification as JSON:          %8.0f /s  (p50 %.2f ms, p99 %.2f "
          "ms)\n",
          publish_json.rate(), publish_json.p50_ms, publish_json.p99_ms);
    }
    std::printf(
        "publish-to-confirm at %.0f /s offered:                p50 %.2f ms, p99 %.2f ms, p99.9 "
        "%.2f ms "
        "(%llu confirmed; %.1f per commit)\n",
        rate, latency.p50_ms, latency.p99_ms, latency.p999_ms,
        static_cast<unsigned long long>(latency.done), latency.per_commit());
    std::printf(
        "the floor: one thread syncing each to the same disk: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f "
        "ms "
        "(%llu, paced the same)\n",
        floor.p50_ms, floor.p99_ms, floor.p999_ms, static_cast<unsigned long long>(floor.done));
    std::printf(
        "acknowledgements by duty workers:                   %8.0f /s  (%llu in %.1f s by %d "
        "connections; "
        "p50 %.2f ms, p99 %.2f ms; %.1f per commit, writer %.1f us each)\n",
        acks.rate(), static_cast<unsigned long long>(acks.done), acks.seconds, acks.connections,
        acks.p50_ms, acks.p99_ms, acks.per_commit(), acks.writer_us_per_request());
  }
  std::filesystem::remove_all(base);
  return 0;
}
