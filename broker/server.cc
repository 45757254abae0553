#include "broker/server.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "broker/log_sink.h"

namespace dutyhub {

Server::Server(zmq::context_t& context, const BrokerSettings& settings, Hub& hub, Writer& writer,
               ZapHandler* zap, const std::string& secret_key)
    : settings_(settings),
      hub_(hub),
      writer_(writer),
      router_(context, zmq::socket_type::router),
      zap_(zap) {
  if (zap_ != nullptr) {
    router_.set(zmq::sockopt::curve_server, true);
    router_.set(zmq::sockopt::curve_secretkey, secret_key);
    router_.set(zmq::sockopt::zap_domain, "dutyhub");
  }
  // max_message_bytes bounds what a request carries; the request's own fields come on top,
  // so a notification's JSON of exactly the bound is refused by validation with its reason,
  // not dropped by the socket unanswered.
  router_.set(zmq::sockopt::maxmsgsize, settings_.max_message_bytes + kRequestEnvelopeBytes);
  // ZMTP heartbeats: a peer that stops answering is dropped (its writes still finish).
  router_.set(zmq::sockopt::heartbeat_ivl, settings_.heartbeat_interval_ms);
  router_.set(zmq::sockopt::heartbeat_timeout, settings_.heartbeat_timeout_ms);
  router_.set(zmq::sockopt::heartbeat_ttl, settings_.heartbeat_timeout_ms);
  // Fail a send to a vanished peer at once instead of queueing it nowhere; the peer
  // retries with the same id and gets the same answer.
  router_.set(zmq::sockopt::router_mandatory, true);
  router_.set(zmq::sockopt::linger, 1000);
}

Result<std::string> Server::Bind(const std::string& endpoint) {
  try {
    router_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot listen on " + endpoint + ": " + e.what());
  }
  return router_.get(zmq::sockopt::last_endpoint);
}

void Server::Run(const std::atomic<bool>& stop) {
  std::vector<zmq::pollitem_t> items = {
      {router_.handle(), 0, ZMQ_POLLIN, 0},
      {writer_.done_socket().handle(), 0, ZMQ_POLLIN, 0},
  };
  if (zap_ != nullptr) items.push_back({zap_->socket().handle(), 0, ZMQ_POLLIN, 0});
  while (!stop.load() || total_in_flight_ > 0) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (items[1].revents & ZMQ_POLLIN) OnWriteDone();
    if (zap_ != nullptr && (items[2].revents & ZMQ_POLLIN)) zap_->OnRequest();
    // Once stopping, take no new requests; finish and answer the ones in flight.
    if (!stop.load() && (items[0].revents & ZMQ_POLLIN)) OnRequest();
    FlushLog();  // this turn's lines, in one write (broker/log_sink.h)
  }
}

bool Server::Receive(std::string& routing_id, zmq::message_t& payload, size_t& frames) {
  zmq::message_t identity;
  if (!router_.recv(identity, zmq::recv_flags::dontwait)) return false;
  routing_id = identity.to_string();
  frames = 0;
  bool more = identity.more();
  while (more) {
    // The rest of a message arrives with its first frame: these never wait.
    zmq::message_t frame;
    if (!router_.recv(frame, zmq::recv_flags::none)) break;
    more = frame.more();
    if (++frames == 1) payload = std::move(frame);
  }
  return true;
}

void Server::OnRequest() {
  // Drain a bounded number per wake-up so finished writes are answered promptly too.
  for (int i = 0; i < 256; ++i) {
    std::string routing_id;
    zmq::message_t payload;
    size_t frames = 0;
    if (!Receive(routing_id, payload, frames)) return;
    if (frames != 1) {
      AnswerError(
          routing_id, 0,
          Status::InvalidArgument("a request is exactly one frame holding a dutyhub.v1.Request"));
      continue;
    }
    v1::Request request;
    if (payload.size() == 0 ||
        !request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      AnswerError(routing_id, 0,
                  Status::InvalidArgument("unreadable request: not a dutyhub.v1.Request"));
      continue;
    }
    // Promise 6: with CURVE the principal is the authenticated key's owner, whatever the
    // request claims; only --insecure-dev believes `as`.
    std::string principal = request.as();
    if (zap_ != nullptr) {
      const char* user = payload.gets("User-Id");
      principal = user != nullptr ? user : "";
    }
    // A gateway's requests count against each person it acts for, so one person's script
    // through the web pages cannot use up everyone else's share. Anyone else who names
    // someone spends their own share, and the hub then refuses them.
    if (!WithinRate(hub_.RateShare(principal, request.on_behalf_of()))) {
      AnswerError(routing_id, request.correlation_id(),
                  Status::Unavailable("too many requests from '" + principal + "' (at most " +
                                      std::to_string(settings_.rate_per_principal) +
                                      " a second): retry later"));
      continue;
    }
    const uint64_t correlation = request.correlation_id();
    Outcome outcome = hub_.Handle(std::move(request), principal);  // `request` is empty after this
    if (auto* reply = std::get_if<v1::Reply>(&outcome)) {
      reply->set_correlation_id(correlation);
      Answer(routing_id, *reply);
      continue;
    }
    if (auto* subscription = std::get_if<Subscription>(&outcome)) {
      // A repeated watch from the same connection refreshes it (clients resend it to
      // survive a broker restart); it never doubles the events.
      // What it missed first, then the answer that says up to where (the watcher takes
      // every later event with a seq up to it for a repeat), then the new ones. All on this
      // thread, before any other commit's events are published: nothing between the
      // replay's read and the subscription is lost, and a commit both read and published
      // reaches the watcher twice, the second time a repeat by its seq.
      Watch(subscription->inbox, routing_id, principal, correlation);
      for (v1::WatchEvent& event : subscription->replayed) {
        v1::Reply reply;
        reply.set_correlation_id(correlation);
        reply.mutable_status()->set_code(v1::Status::OK);
        *reply.mutable_event() = std::move(event);
        if (!Answer(routing_id, reply)) break;
      }
      v1::Reply ok;
      ok.set_correlation_id(correlation);
      ok.mutable_status()->set_code(v1::Status::OK);
      *ok.mutable_watch() = subscription->started;
      Answer(routing_id, ok);
      continue;
    }
    // Two bounds on what waits for the writer: per connection, and for the whole broker,
    // so that many connections cannot queue without limit either.
    if (total_in_flight_ >= settings_.max_in_flight_total) {
      AnswerError(routing_id, correlation,
                  Status::Unavailable("the broker is busy (" + std::to_string(total_in_flight_) +
                                      " requests waiting): retry later"));
      continue;
    }
    int& waiting = in_flight_[routing_id];
    if (waiting >= settings_.max_in_flight_per_connection) {
      AnswerError(routing_id, correlation,
                  Status::Unavailable("too many requests in flight on this connection (at most " +
                                      std::to_string(settings_.max_in_flight_per_connection) +
                                      "): wait for answers, then retry"));
      continue;
    }
    ++waiting;
    ++total_in_flight_;
    auto write = std::make_unique<PendingWrite>();
    write->routing_id = std::move(routing_id);
    write->correlation_id = correlation;
    write->job = std::move(std::get<WriteJob>(outcome));
    writer_.Submit(std::move(write));
  }
}

bool Server::WithinRate(const std::string& share) {
  const auto now = std::chrono::steady_clock::now();
  // Keys are configured names only (Hub::RateShare): made-up names share one bucket, so
  // neither a flood of them nor long ones grow this map, and none refills another's.
  auto [it, added] = buckets_.try_emplace(share);
  Bucket& bucket = it->second;
  if (added) {
    bucket.tokens = settings_.burst_per_principal;
  } else {
    double seconds = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min<double>(settings_.burst_per_principal,
                                     bucket.tokens + seconds * settings_.rate_per_principal);
  }
  bucket.refilled = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

void Server::OnWriteDone() {
  std::vector<std::unique_ptr<PendingWrite>> answered;
  while (std::unique_ptr<PendingWrite> write = writer_.TakeDone()) {
    if (write->routing_id.empty()) {
      Publish(write->events);
      continue;
    }
    --total_in_flight_;
    auto it = in_flight_.find(write->routing_id);
    if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
    // Said here, not on the writer's thread, which every commit waits for; and written out
    // before any answer below, so a line in the log never lags the confirmation it describes.
    if (write->reply.status().code() == v1::Status::OK && !write->job.log_line.empty()) {
      spdlog::info("{}", write->job.log_line);
    } else if (write->reply.status().code() != v1::Status::OK && write->job.refused) {
      write->job.refused(write->reply);
    }
    answered.push_back(std::move(write));
  }
  FlushLog();
  for (std::unique_ptr<PendingWrite>& write : answered) {
    write->reply.set_correlation_id(write->correlation_id);
    Answer(write->routing_id, write->reply);
  }
}

void Server::AnswerError(const std::string& routing_id, uint64_t correlation_id,
                         const Status& status) {
  v1::Reply reply = ErrorReply(status);
  reply.set_correlation_id(correlation_id);
  Answer(routing_id, reply);
}

Server::Sent Server::SendTo(const std::string& routing_id, const v1::Reply& reply) {
  std::string payload = reply.SerializeAsString();
  try {
    zmq::send_result_t sent =
        router_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (sent) sent = router_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    if (!sent) {
      spdlog::warn("a client is not reading its answers; answer {} dropped",
                   reply.correlation_id());
      return Sent::kQueueFull;
    }
    return Sent::kSent;
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the client went away. It retries with the same id and gets the same
    // answer from the store, so nothing is lost by not delivering this one.
    spdlog::debug("answer {} not delivered: {}", reply.correlation_id(), e.what());
    return Sent::kGone;
  }
}

void Server::Watch(const std::string& inbox, const std::string& routing_id,
                   const std::string& principal, uint64_t correlation_id) {
  auto& watching = watchers_[inbox];
  auto [it, added] = watching.try_emplace(routing_id);
  it->second.correlation_id = correlation_id;
  it->second.since = ++watches_made_;  // a refreshed watch is as new as a fresh one
  if (!added) return;
  it->second.principal = principal;
  // A connection that went away is only noticed when an event to it fails, so a client
  // reconnecting in a loop to a quiet inbox would grow this without end: each principal
  // keeps its newest few connections per inbox, and its oldest gives way.
  size_t theirs = 0;
  auto oldest = watching.end();
  for (auto w = watching.begin(); w != watching.end(); ++w) {
    if (w->second.principal != principal) continue;
    ++theirs;
    if (oldest == watching.end() || w->second.since < oldest->second.since) oldest = w;
  }
  if (theirs > kMostWatchesPerPrincipal) watching.erase(oldest);
}

void Server::Publish(std::vector<v1::WatchEvent>& events) {
  for (v1::WatchEvent& event : events) {
    auto watching = watchers_.find(event.inbox());
    if (watching == watchers_.end()) continue;
    // An acknowledgement's event comes without its notification's id (the writer does not
    // read the notification for it): read here, only for an inbox someone watches.
    if (event.notification_id().empty())
      event.set_notification_id(hub_.NotificationIdOf(event.delivery_id()));
    for (auto it = watching->second.begin(); it != watching->second.end();) {
      v1::Reply reply;
      reply.set_correlation_id(it->second.correlation_id);
      reply.mutable_status()->set_code(v1::Status::OK);
      *reply.mutable_event() = event;
      const Sent sent = SendTo(it->first, reply);
      if (sent == Sent::kSent) {
        ++it;
        continue;
      }
      // An event its queue could not take ends the watch, never silently leaves a gap in
      // it: the watcher, hearing nothing, renews it from the last seq it saw and is given
      // what it missed, or told it may have missed some (Hub::Watch).
      if (sent == Sent::kQueueFull)
        spdlog::warn("the watch of {} by {} ended: it is not reading its events", event.inbox(),
                     it->second.principal);
      it = watching->second.erase(it);
    }
  }
}

}  // namespace dutyhub
