#include "agents/client/hub_client.h"

namespace dutyhub {

HubClient::HubClient(const std::string& endpoint, std::string as)
    : context_(1), socket_(context_, zmq::socket_type::dealer), as_(std::move(as)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::heartbeat_ivl, 2000);
  socket_.set(zmq::sockopt::heartbeat_timeout, 6000);
  // Queue nothing for a broker that is not there yet beyond this request: a command that
  // times out must not deliver its request later behind the user's back.
  socket_.set(zmq::sockopt::immediate, true);
  socket_.connect(endpoint);
}

Result<v1::Reply> HubClient::Call(v1::Request request, std::chrono::milliseconds timeout) {
  const uint64_t id = next_correlation_id_++;
  request.set_correlation_id(id);
  request.set_as(as_);
  const std::string payload = request.SerializeAsString();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // With ZMQ_IMMEDIATE the send waits for a connection; poll for writability first.
  zmq::pollitem_t out_item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
  zmq::poll(&out_item, 1, timeout);
  if (!(out_item.revents & ZMQ_POLLOUT) ||
      !socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
    return Status::Unavailable("no broker answered within " +
                               std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s");
  }
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    zmq::pollitem_t in_item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&in_item, 1, left);
    if (!(in_item.revents & ZMQ_POLLIN)) break;
    zmq::message_t message;
    if (!socket_.recv(message, zmq::recv_flags::dontwait)) continue;
    v1::Reply reply;
    if (!reply.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
      return Status::Internal("the broker's answer is unreadable");
    }
    // An answer to an earlier, timed-out request or a connection-level error (id 0 is
    // the broker saying it could not read a request at all).
    if (reply.correlation_id() != id && reply.correlation_id() != 0) continue;
    return reply;
  }
  return Status::Unavailable("no broker answered within " + std::to_string(timeout.count() / 1000) +
                             " s");
}

}  // namespace dutyhub
