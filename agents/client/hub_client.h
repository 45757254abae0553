// A connection to the broker for the command line and, later, the adapters: one DEALER
// socket, requests matched to answers by correlation id.
//
// Not thread-safe: one HubClient per thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "broker/status.h"
#include "hub.pb.h"

namespace dutyhub {

// A client's CURVE identity and the broker it trusts (all Z85).
struct ClientKeys {
  std::string public_key;
  std::string secret_key;
  std::string broker_public_key;
};

class HubClient {
 public:
  // Connects lazily (ZeroMQ reconnects by itself). With `keys`, the connection is CURVE:
  // the broker knows the client by its key and the client talks only to that broker.
  // Without, `as` is the principal claimed to a broker in --insecure-dev.
  HubClient(const std::string& endpoint, std::string as,
            const std::optional<ClientKeys>& keys = std::nullopt);

  // Sends `request` (its correlation id is set here) and waits up to `timeout` for its
  // answer. UNAVAILABLE when none came; PERMISSION_DENIED, at once, when the broker refused
  // this key at the handshake; UNAVAILABLE, at once, saying which key to check, when the
  // broker ended the handshake (no key for a broker that wants one, or the wrong broker
  // key). The
  // broker's status otherwise travels in the reply, so a Result that is ok may still hold an
  // error Reply.
  Result<v1::Reply> Call(v1::Request request, std::chrono::milliseconds timeout);

  // For a stream of answers (watch): sends without waiting and returns the correlation id.
  Result<uint64_t> Post(v1::Request request, std::chrono::milliseconds timeout);
  // The next answer for any request, or nullopt when none came within `timeout`.
  std::optional<v1::Reply> Next(std::chrono::milliseconds timeout);

 private:
  // A refusal the handshake reported (the socket's monitor), or nullopt while none has.
  std::optional<Status> HandshakeRefusal();

  zmq::context_t context_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;  // the handshake's failures, as ZeroMQ reports them on `socket_`
  std::string as_;
  bool curve_ = false;
  bool monitored_ = false;         // the monitor started (ZeroMQ may refuse one)
  std::optional<Status> refusal_;  // the handshake's last failure, since its last success
  uint64_t next_correlation_id_ = 1;
};

}  // namespace dutyhub
