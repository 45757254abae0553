// dutyhub-web's side of the broker: requests on behalf of the person signed in, and the
// feed of inbox events the pages' live updates come from.
//
// The broker decides every permission itself (a gateway's `on_behalf_of` is judged as that
// person); this side only chooses whom to ask for. Thread-safe: any HTTP worker thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agents/client/hub_client.h"
#include "broker/status.h"
#include "hub.pb.h"

namespace dutyhub::web {

struct BrokerLink {
  std::string endpoint;
  std::string gateway;             // its principal in the broker's configuration
  std::optional<ClientKeys> keys;  // none: a broker in --insecure-dev
};

class Gateway {
 public:
  explicit Gateway(BrokerLink link) : link_(std::move(link)) {}

  // Asks the broker as `acting` (empty: as the gateway itself). UNAVAILABLE when the broker
  // does not answer in time; the broker's own status travels in the Reply otherwise.
  Result<v1::Reply> Call(v1::Request request, const std::string& acting,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const BrokerLink& link() const { return link_; }

 private:
  BrokerLink link_;
  std::mutex mutex_;
  // Idle connections: a HubClient serves one thread at a time, so each call borrows one.
  std::vector<std::unique_ptr<HubClient>> idle_;
};

// Watches every inbox at the broker, as the gateway itself, through one connection of its
// own, and hands each event to every page subscribed to that inbox. The watches are renewed
// every few seconds, so a restarted broker sends events again.
class EventFeed {
 public:
  explicit EventFeed(const BrokerLink& link);
  ~EventFeed();

  // A page's subscription to these inboxes (the person's own). Returns its id.
  uint64_t Subscribe(const std::set<std::string>& inboxes);
  void Unsubscribe(uint64_t id);
  // The events (JSON, ids only: docs/CLI.md's watch shape) for subscription `id` since the
  // last call, waiting up to `timeout` for one; at once, empty, once stopping.
  std::vector<std::string> Take(uint64_t id, std::chrono::milliseconds timeout);
  // Wakes every page's wait, for a quick shutdown.
  void Stop();
  bool stopping();

 private:
  struct Subscriber {
    std::set<std::string> inboxes;
    std::deque<std::string> events;
  };
  void Run();

  BrokerLink link_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Subscriber> subscribers_;
  std::thread thread_;
};

}  // namespace dutyhub::web
