// rabbitmq-bench: the workload of dutyhub-bench through RabbitMQ, the broker an integration
// team would otherwise pick, for tests/bench/compare-rabbitmq.sh: N publisher connections
// to one durable classic queue, persistent messages of the samples' size, publisher
// confirms with the same window in flight; latency at the same fixed rate; then consumers
// with manual acknowledgements, one ack per message, the same window as prefetch, on as many
// connections as dutyhub-bench's duty workers (--consumers, which compare-rabbitmq.sh sets).
// Through librabbitmq (rabbitmq-c), Debian's C client. Prints one JSON document.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/percentile.h"

namespace {

using dutyhub::bench::Percentile;

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string queue = "dutyhub-bench";
  int connections = 4;
  int consumers = 0;  // consumer connections; 0: as many as `connections`
  int window = 32;
  double seconds = 10;
  double rate = 1000;
  size_t bytes = 1569;
  // RabbitMQ 3.10's two classic queue stores: 1, its default, and 2, its rewritten one,
  // chosen per queue (`x-queue-version`). Measured here, 2 is the faster peer
  // (tests/bench/README.md), so it is the one dutyhub is compared with.
  int queue_version = 2;
};

void Check(amqp_rpc_reply_t reply, const char* what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  std::cerr << "rabbitmq-bench: " << what << " failed (reply type " << reply.reply_type << ")\n";
  std::exit(1);
}

class Connection {
 public:
  explicit Connection(const Options& o) : conn_(amqp_new_connection()) {
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (socket == nullptr || amqp_socket_open(socket, o.host.c_str(), o.port) != AMQP_STATUS_OK) {
      std::cerr << "rabbitmq-bench: cannot connect to " << o.host << ":" << o.port << "\n";
      std::exit(1);
    }
    Check(amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn_, 1);
    Check(amqp_get_rpc_reply(conn_), "channel.open");
  }
  ~Connection() {
    amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }
  amqp_connection_state_t get() { return conn_; }

 private:
  amqp_connection_state_t conn_;
};

void DeclareQueue(const Options& o) {
  Connection c(o);
  amqp_queue_delete(c.get(), 1, amqp_cstring_bytes(o.queue.c_str()), 0, 0);
  Check(amqp_get_rpc_reply(c.get()), "queue.delete");
  amqp_table_entry_t version;
  version.key = amqp_cstring_bytes("x-queue-version");
  version.value.kind = AMQP_FIELD_KIND_I32;
  version.value.value.i32 = o.queue_version;
  const amqp_table_t arguments{1, &version};
  amqp_queue_declare(c.get(), 1, amqp_cstring_bytes(o.queue.c_str()), 0, /*durable=*/1, 0, 0,
                     arguments);
  Check(amqp_get_rpc_reply(c.get()), "queue.declare");
}

struct Figures {
  uint64_t done = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  std::string Json() const {
    char out[256];
    std::snprintf(out, sizeof out,
                  "{\"done\": %llu, \"seconds\": %.3f, \"per_second\": %.1f, \"p50_ms\": %.3f, "
                  "\"p99_ms\": %.3f, "
                  "\"p999_ms\": %.3f}",
                  static_cast<unsigned long long>(done), seconds,
                  seconds > 0 ? static_cast<double>(done) / seconds : 0,
                  Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
                  Percentile(latencies_ms, 0.999));
    return out;
  }
};

// One publisher connection with confirms: publishes while `more(sent)` allows and the
// window has room, and records each confirmation's latency from `due(tag)`.
void Publish(const Options& o, const std::function<bool(uint64_t)>& more,
             const std::function<Clock::time_point(uint64_t)>& due, Figures& out, std::mutex& mu) {
  Connection c(o);
  amqp_confirm_select(c.get(), 1);
  Check(amqp_get_rpc_reply(c.get()), "confirm.select");
  std::string body(o.bytes, 'x');
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.delivery_mode = 2;  // persistent
  props.content_type = amqp_cstring_bytes("application/json");
  std::map<uint64_t, Clock::time_point> unconfirmed;  // delivery tag -> when it was due
  uint64_t tag = 0;
  std::vector<double> latencies;
  uint64_t confirmed = 0;
  while (true) {
    while (static_cast<int>(unconfirmed.size()) < o.window && more(tag)) {
      const Clock::time_point when = due(tag);
      if (when > Clock::now()) break;
      if (amqp_basic_publish(c.get(), 1, amqp_empty_bytes, amqp_cstring_bytes(o.queue.c_str()), 0,
                             0, &props, amqp_bytes_t{body.size(), body.data()}) != AMQP_STATUS_OK) {
        std::cerr << "rabbitmq-bench: publish failed\n";
        std::exit(1);
      }
      unconfirmed[++tag] = when;
    }
    if (unconfirmed.empty() && !more(tag)) break;
    amqp_frame_t frame;
    timeval tv{0, 1000};
    int rc = amqp_simple_wait_frame_noblock(c.get(), &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    if (rc != AMQP_STATUS_OK) {
      std::cerr << "rabbitmq-bench: waiting for confirms failed: " << amqp_error_string2(rc)
                << "\n";
      std::exit(1);
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      std::cerr << "rabbitmq-bench: the broker refused a message (nack)\n";
      std::exit(1);
    }
    if (frame.payload.method.id != AMQP_BASIC_ACK_METHOD) continue;
    auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
    const auto now = Clock::now();
    auto last = ack->multiple ? unconfirmed.upper_bound(ack->delivery_tag)
                              : unconfirmed.find(ack->delivery_tag);
    auto first = ack->multiple ? unconfirmed.begin() : last;
    if (!ack->multiple && last != unconfirmed.end()) ++last;
    for (auto it = first; it != last; ++it) {
      latencies.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      ++confirmed;
    }
    unconfirmed.erase(first, last);
  }
  std::lock_guard lock(mu);
  out.done += confirmed;
  out.latencies_ms.insert(out.latencies_ms.end(), latencies.begin(), latencies.end());
}

Figures Throughput(const Options& o) {
  Figures figures;
  std::mutex mu;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back([&] {
      Publish(
          o, [&](uint64_t) { return Clock::now() < end; }, [](uint64_t) { return Clock::now(); },
          figures, mu);
    });
  }
  for (auto& t : threads) t.join();
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return figures;
}

Figures AtFixedRate(const Options& o) {
  Figures figures;
  std::mutex mu;
  const auto start = Clock::now();
  const uint64_t per_connection =
      static_cast<uint64_t>(o.rate * o.seconds) / static_cast<uint64_t>(o.connections);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(o.connections) / o.rate));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    // Connections take turns: connection i's k-th message is due at (k * N + i) / rate.
    const auto offset =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / o.rate));
    threads.emplace_back([&, offset] {
      Publish(
          o, [&](uint64_t sent) { return sent < per_connection; },
          [&](uint64_t sent) { return start + offset + interval * static_cast<long>(sent); },
          figures, mu);
    });
  }
  for (auto& t : threads) t.join();
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return figures;
}

// `consumers` connections with manual acks, one per message, `window` prefetched each,
// until `total` are acked.
Figures ConsumeAndAck(const Options& o, int consumers, uint64_t total) {
  Figures figures;
  std::atomic<uint64_t> acked{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < consumers; ++i) {
    threads.emplace_back([&] {
      Connection c(o);
      amqp_basic_qos(c.get(), 1, 0, static_cast<uint16_t>(o.window), 0);
      Check(amqp_get_rpc_reply(c.get()), "basic.qos");
      amqp_basic_consume(c.get(), 1, amqp_cstring_bytes(o.queue.c_str()), amqp_empty_bytes, 0,
                         /*no_ack=*/0, 0, amqp_empty_table);
      Check(amqp_get_rpc_reply(c.get()), "basic.consume");
      while (acked.load() < total) {
        amqp_envelope_t envelope;
        amqp_maybe_release_buffers(c.get());
        timeval tv{0, 200000};
        amqp_rpc_reply_t r = amqp_consume_message(c.get(), &envelope, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) continue;  // a timeout: look at the count again
        amqp_basic_ack(c.get(), 1, envelope.delivery_tag, 0);
        amqp_destroy_envelope(&envelope);
        acked.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  figures.done = acked.load();
  figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rabbitmq-bench: dutyhub-bench's workload through RabbitMQ (durable queue, confirms, manual "
      "acks)"};
  Options o;
  app.add_option("--host", o.host);
  app.add_option("--port", o.port);
  app.add_option("--connections", o.connections)->check(CLI::Range(1, 64));
  app.add_option("--consumers", o.consumers,
                 "consumer connections acknowledging (dutyhub-bench: one per duty worker); default "
                 "--connections")
      ->check(CLI::Range(1, 64));
  app.add_option("--window", o.window)->check(CLI::Range(1, 1024));
  app.add_option("--seconds", o.seconds)->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate)->check(CLI::PositiveNumber);
  app.add_option("--bytes", o.bytes, "message size: dutyhub-bench's average notification");
  app.add_option("--queue-version", o.queue_version,
                 "the classic queue's store: 1 (3.10's default) or 2")
      ->check(CLI::IsMember({1, 2}));
  CLI11_PARSE(app, argc, argv);

  DeclareQueue(o);
  const Figures publish = Throughput(o);
  const Figures latency = AtFixedRate(o);
  // Consume what the throughput run stored, at most 100,000, as dutyhub-bench acknowledges.
  const uint64_t to_ack = std::min<uint64_t>(publish.done, 100000);
  const int consumers = o.consumers > 0 ? o.consumers : o.connections;
  const Figures acks = ConsumeAndAck(o, consumers, to_ack);
  DeclareQueue(o);  // leaves the queue empty
  std::cout << "{\"connections\": " << o.connections << ", \"window\": " << o.window
            << ", \"message_bytes\": " << o.bytes << ", \"queue_version\": " << o.queue_version
            << ", \"publish\": " << publish.Json() << ", \"fixed_rate\": " << o.rate
            << ", \"latency_at_fixed_rate\": " << latency.Json()
            << ", \"acknowledge\": " << acks.Json()
            << ", \"acknowledging_connections\": " << consumers << "}\n";
  return 0;
}
