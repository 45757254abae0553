// The broker's reactor: one thread that owns the ROUTER socket, answers reads at once,
// hands writes to the Writer and sends their answers when they come back committed.
//
// Bounds: ZeroMQ's MAXMSGSIZE closes a connection that sends a larger frame; at most
// `max_in_flight_per_connection` writes wait per connection and `max_in_flight_total` in
// all, and one more is answered UNAVAILABLE (retry) rather than queued without limit or
// dropped. What MAXMSGSIZE does not bound is a message of many frames: libzmq hands a
// multipart message over whole, so an authenticated peer can make the broker hold one
// such message in memory before it is refused. The systemd unit's MemoryMax caps that;
// CURVE keeps it to known peers.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "broker/auth.h"
#include "broker/config.h"
#include "broker/hub.h"
#include "broker/writer.h"

namespace dutyhub {

class Server {
 public:
  // With `zap` (CURVE on): the ROUTER is a CURVE server with `secret_key` (Z85), every
  // connection is authenticated by `zap`, and each request's principal is the key's
  // owner. Without it (--insecure-dev): the principal is the request's `as`.
  Server(zmq::context_t& context, const BrokerSettings& settings, Hub& hub, Writer& writer,
         ZapHandler* zap, const std::string& secret_key);

  // Binds the ROUTER; returns the endpoint actually bound (the port resolved when the
  // configured one ends in :*), or UNAVAILABLE when it cannot bind.
  Result<std::string> Bind(const std::string& endpoint);

  // Serves until `stop` becomes true, then answers every write still in flight and
  // returns. REQUIRES: Bind succeeded.
  void Run(const std::atomic<bool>& stop);

 private:
  void OnRequest();
  // Takes one request from the ROUTER: the first payload frame; any further frames are
  // read and dropped (the request is then refused). False when nothing was waiting.
  bool Receive(std::string& routing_id, zmq::message_t& payload, size_t& frames);
  // Spends one of the share's tokens (Hub::RateShare); false when its rate is used up.
  bool WithinRate(const std::string& share);
  void OnWriteDone();
  // What became of a message to a client.
  enum class Sent { kSent, kQueueFull, kGone };
  Sent SendTo(const std::string& routing_id, const v1::Reply& reply);
  // False when the connection is gone (an answer its queue could not take is dropped: the
  // client retries with the same id and gets the same answer from the store).
  bool Answer(const std::string& routing_id, const v1::Reply& reply) {
    return SendTo(routing_id, reply) != Sent::kGone;
  }
  // Starts (or refreshes) `routing_id`'s watch of `inbox`, within kMostWatchesPerPrincipal.
  void Watch(const std::string& inbox, const std::string& routing_id, const std::string& principal,
             uint64_t correlation_id);
  // Sends committed events to the connections watching their inboxes.
  void Publish(std::vector<v1::WatchEvent>& events);
  void AnswerError(const std::string& routing_id, uint64_t correlation_id, const Status& status);

  const BrokerSettings settings_;
  Hub& hub_;
  Writer& writer_;
  zmq::socket_t router_;
  std::map<std::string, int> in_flight_;  // writes waiting, per connection
  struct Watcher {
    uint64_t correlation_id = 0;  // what its watch request carried
    std::string principal;
    uint64_t since = 0;  // the order watches were made in: the oldest gives way first
  };
  // Per inbox and principal, at most this many connections watch at once (the web gateway
  // uses one for every inbox; a person may run a few `dutyhub watch`). A watch renewed is
  // as new as a fresh one; `dutyhub watch` renews only after 10 s without an event, so a
  // person's 17th watch of a busy inbox may end her oldest.
  static constexpr size_t kMostWatchesPerPrincipal = 16;
  // Room for a request's own fields around the largest payload max_message_bytes allows.
  static constexpr int64_t kRequestEnvelopeBytes = 64 * 1024;
  // inbox -> (connection -> its watch)
  std::map<std::string, std::map<std::string, Watcher>> watchers_;
  uint64_t watches_made_ = 0;
  ZapHandler* zap_;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  std::map<std::string, Bucket> buckets_;  // per share of the rate (Hub::RateShare)
  int total_in_flight_ = 0;
};

}  // namespace dutyhub
