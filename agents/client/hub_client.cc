#include "agents/client/hub_client.h"

#include <algorithm>
#include <cstdio>

namespace dutyhub {

HubClient::HubClient(const std::string& endpoint, std::string as,
                     const std::optional<ClientKeys>& keys)
    : context_(1), socket_(context_, zmq::socket_type::dealer), as_(std::move(as)) {
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

Result<uint64_t> HubClient::Post(v1::Request request, std::chrono::milliseconds timeout) {
  const uint64_t id = next_correlation_id_++;
  request.set_correlation_id(id);
  request.set_as(as_);
  const std::string payload = request.SerializeAsString();
  // With ZMQ_IMMEDIATE the send waits for a connection; poll for writability first.
  zmq::pollitem_t out_item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
  zmq::poll(&out_item, 1, timeout);
  if (!(out_item.revents & ZMQ_POLLOUT) ||
      !socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
    return NoBroker(timeout);
  }
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
