// dutyhub-hl7: the hospital's HL7 adapter. The emergency department's system sends the
// liaison form as an HL7 v2.5 ADT message over MLLP; each is read, validated with the
// broker's own rules and stored in the adapter's durable outbox before the ACK (AA) goes
// back, so the hub being away never loses a form. A form that breaks a rule is answered
// AE with every broken rule, as is a message that cannot be read (naming the field); one
// that could not be stored, or that the hub refused when it was sent on, AR (HL7 table
// 0008). The same control id again is the same notification (AA, stored once). README.md
// beside this file is the contract for integration engineers.
//
// One thread serves every connection (a poll loop that owns them all); the outbox's sender
// runs on its own. Logs name control ids, notification ids, peers and field names only,
// never a child's details: messages are never logged.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <list>
#include <optional>
#include <string>

#include "agents/adapter/adapter_config.h"
#include "agents/hl7/hl7_message.h"
#include "agents/hl7/mllp.h"

namespace {

constexpr int kExitConfiguration = 2;
constexpr size_t kMostConnections = 64;  // a hospital has a handful of interface engines
constexpr int kFramesPerTurn = 32;       // answered per connection before the others' turn
constexpr int kPollMs = 200;             // how soon a signal is noticed
// A full house gives way to a new connection: one quiet for this long goes, one that never
// sent a whole message first (a scanner's, a half-configured engine's), else the quietest.
// Otherwise 64 connections opened and left idle would lock the interface engine out when it
// reconnects. An engine's connection closed so is no loss: it reconnects and resends.
constexpr auto kQuietEnoughToClose = std::chrono::seconds(5);
// A message begun and not finished this long after its first byte is abandoned (its
// sender will have given up on the ACK long since), and the connection closed: counted
// from the message's start, so a byte every few seconds does not keep it open.
constexpr auto kMostForOneMessage = std::chrono::seconds(30);

using Moment = std::chrono::steady_clock::time_point;

std::atomic<bool> g_stop{false};

extern "C" void OnSignal(int) { g_stop.store(true); }

int Fail(const std::string& message) {
  std::cerr << "dutyhub-hl7: " << message << "\n";
  return kExitConfiguration;
}

std::string Describe(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
    port = ntohs(v4.sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
  port = ntohs(v6.sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

// A listening socket on `address`, or a sentence saying why not.
dutyhub::Result<int> Listen(const dutyhub::ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc =
          getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &found);
      rc != 0) {
    return dutyhub::Status::InvalidArgument("cannot resolve " + address.host + ": " +
                                            gai_strerror(rc));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0)
    return dutyhub::Status::InvalidArgument("cannot listen on " + address.host + ":" +
                                            std::to_string(address.port) + ": " + error);
  return fd;
}

// What may be logged of a control id: letters, digits and . _ - only, else nothing.
std::string ControlIdForLog(const std::string& id) {
  const bool plain =
      !id.empty() && id.size() <= 64 &&
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
          std::string::npos;
  return plain ? id : "(not shown)";
}

std::string Fields(const dutyhub::Status& status) {
  std::string fields;
  for (const dutyhub::Violation& v : status.violations())
    fields += (fields.empty() ? "" : ", ") + v.field;
  return fields;
}

struct Connection {
  int fd = -1;
  std::string peer;
  dutyhub::MllpDecoder decoder;
  std::string unsent;      // framed ACKs not yet written
  bool peer_done = false;  // the peer closed its side: close once the ACKs are out
  bool broken = false;
  Moment last_active = std::chrono::steady_clock::now();  // bytes read or written
  std::optional<Moment> frame_started;  // while a message is part-read: when it began
  bool sent_a_message = false;          // a whole one, answered or not
};

// The answer to one framed message: read, validate, store, ACK.
class LiaisonDesk {
 public:
  LiaisonDesk(dutyhub::Outbox& outbox, const dutyhub::Clock& clock)
      : outbox_(outbox), clock_(clock) {}

  std::string Answer(const dutyhub::Result<std::string>& frame, const std::string& peer) {
    std::optional<dutyhub::Hl7Header> header;
    dutyhub::Ack ack;
    if (!frame.ok()) {
      spdlog::warn("from {}: {}", peer, frame.status().message());
      ack = dutyhub::ErrorAck(frame.status());
    } else if (auto form = dutyhub::ParseLiaisonForm(*frame); !form.ok()) {
      header = dutyhub::ReadHl7Header(*frame);
      spdlog::warn("from {}: control id {} not readable as a liaison form: {}", peer,
                   ControlIdForLog(header ? header->control_id : ""), Fields(form.status()));
      ack = dutyhub::ErrorAck(form.status());
    } else {
      header = form->header;
      ack = Store(std::move(form->notification), ControlIdForLog(header->control_id), peer);
    }
    const std::string id = "DH" + std::to_string(clock_.Now()) + "-" + std::to_string(++acks_);
    return dutyhub::MllpFrame(dutyhub::BuildAck(header, ack, id, clock_.Now()));
  }

 private:
  dutyhub::Ack Store(dutyhub::v1::Notification notification, const std::string& control_id,
                     const std::string& peer) {
    const std::string id = notification.id();
    auto accepted = outbox_.Accept(std::move(notification));
    if (accepted.ok()) {
      spdlog::info(
          "from {}: control id {} {} notification {}", peer, control_id,
          accepted->duplicate ? "again (a retry): already in the outbox as" : "accepted as", id);
      return dutyhub::AcceptedAck(id, accepted->duplicate);
    }
    const dutyhub::Status& status = accepted.status();
    if (status.code() == dutyhub::Code::kInvalidArgument) {
      spdlog::warn("from {}: control id {} answered AE, breaking {} rule(s): {}", peer, control_id,
                   status.violations().size(), Fields(status));
      return dutyhub::BrokenRulesAck(status);
    }
    if (status.code() == dutyhub::Code::kPermissionDenied) {
      // Sent before, taken (AA) and then refused by the hub: the engine hears it now.
      spdlog::warn("from {}: control id {} again: notification {} was refused by the hub ({})",
                   peer, control_id, id, dutyhub::CodeName(status.code()));
      return dutyhub::NotTakenAck(status);
    }
    // Not stored: AR, so the sender keeps the message and sends it again.
    spdlog::error("from {}: control id {} could not be stored in the outbox ({}): answered AR",
                  peer, control_id, dutyhub::CodeName(status.code()));
    return dutyhub::NotTakenAck(
        dutyhub::Status::Unavailable("the adapter could not store the form: send it again later"));
  }

  dutyhub::Outbox& outbox_;
  const dutyhub::Clock& clock_;
  uint64_t acks_ = 0;
};

void ReadFrom(Connection& c) {
  char buffer[65536];
  const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
  if (n == 0) {
    if (c.decoder.in_frame())
      spdlog::warn("{} hung up in the middle of a message; it was dropped", c.peer);
    c.peer_done = true;
    return;
  }
  if (n < 0) {
    c.broken = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return;
  }
  c.last_active = std::chrono::steady_clock::now();
  const size_t before = c.decoder.waiting();
  c.decoder.Feed(std::string_view(buffer, static_cast<size_t>(n)));
  const bool completed = c.decoder.waiting() > before;
  c.sent_a_message = c.sent_a_message || completed;
  if (!c.decoder.in_frame()) {
    c.frame_started.reset();
  } else if (completed || !c.frame_started) {
    c.frame_started = c.last_active;  // a new message began in this read
  }
}

void WriteTo(Connection& c) {
  while (!c.unsent.empty()) {
    const ssize_t n = send(c.fd, c.unsent.data(), c.unsent.size(), MSG_NOSIGNAL);
    if (n < 0) {
      c.broken = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
      return;
    }
    c.unsent.erase(0, static_cast<size_t>(n));
    c.last_active = std::chrono::steady_clock::now();
  }
}

// Answers the frames read so far, in order, a few at a time, writing each ACK as it goes.
// It stops while the peer is not reading its ACKs (the kernel's buffer is full), so answers
// never pile up, and after kFramesPerTurn, so one busy connection does not hold up others:
// the reactor comes back for the rest.
void Pump(Connection& c, LiaisonDesk& desk) {
  for (int answered = 0; !c.broken; ++answered) {
    WriteTo(c);
    if (!c.unsent.empty() || answered == kFramesPerTurn) return;
    auto frame = c.decoder.Next();
    if (!frame) return;
    c.unsent += desk.Answer(*frame, c.peer);
  }
}

void AcceptFrom(int listener, std::list<Connection>& connections) {
  while (true) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&address), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections.size() >= kMostConnections) {
      const Moment now = std::chrono::steady_clock::now();
      auto quietest = connections.end();
      for (auto it = connections.begin(); it != connections.end(); ++it) {
        if (now - it->last_active < kQuietEnoughToClose) continue;
        if (quietest == connections.end() ||
            std::pair(it->sent_a_message, it->last_active) <
                std::pair(quietest->sent_a_message, quietest->last_active)) {
          quietest = it;
        }
      }
      if (quietest == connections.end()) {
        spdlog::warn("{} refused: already {} connections, all busy", Describe(address),
                     connections.size());
        close(fd);
        continue;
      }
      spdlog::warn(
          "{} closed, quiet for {} s, to make room for {}", quietest->peer,
          std::chrono::duration_cast<std::chrono::seconds>(now - quietest->last_active).count(),
          Describe(address));
      close(quietest->fd);
      connections.erase(quietest);
    }
    Connection& added = connections.emplace_back();
    added.fd = fd;
    added.peer = Describe(address);
    spdlog::info("{} connected", connections.back().peer);
  }
}

// The reactor: until SIGTERM or SIGINT, every connection's reads, answers and writes.
void Serve(int listener, LiaisonDesk& desk) {
  std::list<Connection> connections;
  std::vector<pollfd> fds;
  while (!g_stop.load()) {
    fds.assign(1, {listener, POLLIN, 0});
    bool more = false;  // frames waiting to be answered: come straight back
    for (const Connection& c : connections) {
      const bool idle = c.decoder.waiting() == 0 && c.unsent.empty();
      more = more || (c.decoder.waiting() > 0 && c.unsent.empty());
      short events = 0;
      if (!c.peer_done && idle) events |= POLLIN;  // read more only once all is answered
      if (!c.unsent.empty()) events |= POLLOUT;
      fds.push_back({c.fd, events, 0});
    }
    if (poll(fds.data(), fds.size(), more ? 0 : kPollMs) < 0) continue;  // a signal: check g_stop
    size_t i = 1;
    for (Connection& c : connections) {
      if (fds[i++].revents & (POLLIN | POLLHUP | POLLERR)) ReadFrom(c);
      Pump(c, desk);
    }
    const Moment now = std::chrono::steady_clock::now();
    connections.remove_if([now](const Connection& c) {
      if (c.frame_started && now - *c.frame_started > kMostForOneMessage) {
        spdlog::warn("{} sent part of a message and nothing more for {} s: it was dropped", c.peer,
                     std::chrono::duration_cast<std::chrono::seconds>(kMostForOneMessage).count());
        close(c.fd);
        return true;
      }
      const bool done = c.broken || (c.peer_done && c.unsent.empty() && c.decoder.waiting() == 0);
      if (done) {
        spdlog::info("{} disconnected", c.peer);
        close(c.fd);
      }
      return done;
    });
    if (fds[0].revents & POLLIN) AcceptFrom(listener, connections);
  }
  for (Connection& c : connections) close(c.fd);
}

}  // namespace

int main(int argc, char** argv) {
  // The outbox holds children's details: nobody but the adapter's own account reads it.
  umask(077);
  CLI::App app{
      "dutyhub-hl7: takes the hospital's liaison forms as HL7 v2.5 messages over MLLP, keeps "
      "them in a durable outbox and forwards them to dutyhub; answers each with an HL7 ACK"};
  std::string config_path;
  app.add_option("--config", config_path, "the adapter's configuration (YAML, see example.yaml)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitConfiguration;
  }

  auto config = dutyhub::LoadAdapterConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (config->listen.empty())
    return Fail(config_path + ": listen: missing required key (HOST:PORT)");
  auto address = dutyhub::ParseListen(config->listen);
  if (!address) return Fail(config_path + ": listen: expected HOST:PORT, e.g. 127.0.0.1:2575");
  auto options = dutyhub::OutboxOptionsFor(*config);
  if (!options.ok()) return Fail(options.status().message());
  if (!options->keys) {
    spdlog::warn(
        "INSECURE DEVELOPMENT MODE: sending as {} without a key; only a broker in --insecure-dev "
        "takes this. Never use it with real data.",
        config->insecure_as);
  }
  auto listener = Listen(*address);
  if (!listener.ok()) return Fail(config_path + ": listen: " + listener.status().message());
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(*listener, reinterpret_cast<sockaddr*>(&bound), &length);
  if (!dutyhub::IsLoopbackHost(address->host)) {
    spdlog::warn(
        "listening beyond loopback: anyone who reaches {} sends as {}; keep it on the hospital's "
        "network behind its firewall",
        config->listen, config->agency);
  }

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  dutyhub::SystemClock clock;
  auto opened = dutyhub::Outbox::Open(std::move(*options), clock);
  if (!opened.ok()) return Fail(config->outbox + ": " + opened.status().message());
  dutyhub::Outbox& outbox = **opened;
  outbox.OnReceiptChanged([](const dutyhub::Receipt& receipt) {
    spdlog::info("notification {} is {} after {} attempt(s)", receipt.id, receipt.state,
                 receipt.attempts);
  });
  outbox.Start();
  spdlog::info("dutyhub-hl7 for {} listening for MLLP on {}; outbox {}; broker {}", config->agency,
               Describe(bound), config->outbox, config->broker);

  LiaisonDesk desk(outbox, clock);
  Serve(*listener, desk);
  close(*listener);
  spdlog::info("stopping: no new messages; the outbox sender finishes its attempt");
  outbox.Stop();
  spdlog::info("dutyhub-hl7 stopped; {} notification(s) still waiting in the outbox for the broker",
               outbox.pending());
  return 0;
}
