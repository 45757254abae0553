#include "agents/client/hub_client.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

namespace dutyhub {

HubClient::HubClient(const std::string& endpoint, std::string as,
                     const std::optional<ClientKeys>& keys)
    : context_(1),
      socket_(context_, zmq::socket_type::dealer),
      monitor_(context_, zmq::socket_type::pair),
      as_(std::move(as)),
      curve_(keys.has_value()) {
  // With ZMQ_IMMEDIATE (below) a refused handshake looks like no broker at all: the socket
  // never becomes writable. Its monitor says what happened, so a person with a key the broker
  // does not know hears so at once, rather than "no broker" after the whole timeout.
  static std::atomic<uint64_t> monitors{0};
  const std::string monitor_endpoint =
      "inproc://dutyhub-client-handshake-" + std::to_string(monitors.fetch_add(1));
  if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint);
    monitored_ = true;
  }
  if (keys) {
    socket_.set(zmq::sockopt::curve_serverkey, keys->broker_public_key);
    socket_.set(zmq::sockopt::curve_publickey, keys->public_key);
    socket_.set(zmq::sockopt::curve_secretkey, keys->secret_key);
  }
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::heartbeat_ivl, 2000);
  socket_.set(zmq::sockopt::heartbeat_timeout, 6000);
  // Queue nothing for a broker that is not there yet beyond this request: a command that
  // times out must not deliver its request later behind the user's back.
  socket_.set(zmq::sockopt::immediate, true);
  socket_.connect(endpoint);
}

namespace {

Status NoBroker(std::chrono::milliseconds timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(timeout.count()) / 1000.0);
  return Status::Unavailable(std::string("no broker answered within ") + seconds + " s");
}

}  // namespace

std::optional<Status> HubClient::HandshakeRefusal() {
  // Every event waiting, oldest first (read at each Post, so none pile up): the last says how
  // things stand, a success after failures, once the broker took the key, clearing them.
  zmq::message_t event;
  while (monitored_ && monitor_.recv(event, zmq::recv_flags::dontwait)) {
    // Two frames: the event (uint16) and its value (uint32), then the endpoint.
    uint16_t kind = 0;
    if (event.size() >= 6) std::memcpy(&kind, event.data(), sizeof kind);
    zmq::message_t endpoint;
    while (monitor_.get(zmq::sockopt::rcvmore) && monitor_.recv(endpoint)) {
    }
    if (kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      refusal_.reset();
    } else if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      refusal_ = Status::PermissionDenied(
          "the broker refused this key at the handshake (it knows no agency or person by it): "
          "check --key (or DUTYHUB_KEY), or ask the hub's administrator to add its public key");
    } else {
      // The broker ended the handshake (ZeroMQ says no more): what this end can tell is
      // whether it offered a key.
      refusal_ = Status::Unavailable(
          curve_ ? "the broker ended the secure handshake: it may not be the broker this key "
                   "trusts; check --broker-key (or the key file's broker-public-key)"
                 : "the broker ended the handshake: it may want a key, and none was given: "
                   "--key FILE (or DUTYHUB_KEY)");
    }
  }
  // Said at once: a broker restarting in the middle of a handshake may be taken for one that
  // ended it, which only words the answer (UNAVAILABLE either way, and a caller retries).
  return refusal_;
}

Result<uint64_t> HubClient::Post(v1::Request request, std::chrono::milliseconds timeout) {
  const uint64_t id = next_correlation_id_++;
  request.set_correlation_id(id);
  request.set_as(as_);
  const std::string payload = request.SerializeAsString();
  // With ZMQ_IMMEDIATE the send waits for a connection; poll for writability first, and for
  // the handshake's failure, which no waiting mends.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  (void)HandshakeRefusal();  // what happened since the last Post
  for (bool first = true;; first = false) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLOUT, 0},
                               {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, monitored_ ? 2 : 1,
              first ? std::chrono::milliseconds(0) : std::max(left, std::chrono::milliseconds(0)));
    if (items[0].revents & ZMQ_POLLOUT) break;
    // Not connected now, and refused since the last success: that still stands.
    if (first && refusal_) return *refusal_;
    if (first) continue;
    if (monitored_ && (items[1].revents & ZMQ_POLLIN)) {
      if (std::optional<Status> refused = HandshakeRefusal()) return *refused;
      continue;
    }
    return NoBroker(timeout);
  }
  if (!socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait)) return NoBroker(timeout);
  return id;
}

std::optional<v1::Reply> HubClient::Next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    zmq::pollitem_t in_item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&in_item, 1, left);
    if (!(in_item.revents & ZMQ_POLLIN)) return std::nullopt;
    zmq::message_t message;
    if (!socket_.recv(message, zmq::recv_flags::dontwait)) continue;
    v1::Reply reply;
    if (!reply.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
      reply.mutable_status()->set_code(v1::Status::INTERNAL);
      reply.mutable_status()->set_message("the broker's answer is unreadable");
    }
    return reply;
  }
}

Result<v1::Reply> HubClient::Call(v1::Request request, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Result<uint64_t> id = Post(std::move(request), timeout);
  if (!id.ok()) return id.status();
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::optional<v1::Reply> reply = Next(std::max(left, std::chrono::milliseconds(0)));
    if (!reply) return NoBroker(timeout);
    // An answer to an earlier, timed-out request is passed over; id 0 is the broker saying
    // it could not read a request at all.
    if (reply->correlation_id() != *id && reply->correlation_id() != 0) continue;
    return *std::move(reply);
  }
}

}  // namespace dutyhub
