#include "agents/web/gateway.h"

#include <spdlog/spdlog.h>

#include "agents/cli/render.h"

namespace dutyhub::web {
namespace {

constexpr size_t kMostIdleConnections = 16;
constexpr size_t kMostQueuedPerPage = 1000;  // a page that stops reading loses the oldest
constexpr auto kRenewWatches = std::chrono::seconds(10);

std::unique_ptr<HubClient> Connect(const BrokerLink& link) {
  return std::make_unique<HubClient>(link.endpoint, link.gateway, link.keys);
}

}  // namespace

Result<v1::Reply> Gateway::Call(v1::Request request, const std::string& acting,
                                std::chrono::milliseconds timeout) {
  std::unique_ptr<HubClient> client;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) client = Connect(link_);
  if (!acting.empty()) request.set_on_behalf_of(acting);
  Result<v1::Reply> reply = client->Call(std::move(request), timeout);
  std::lock_guard lock(mutex_);
  // A connection whose call timed out may still get that late answer; HubClient skips
  // answers to other correlation ids, so it is safe to reuse.
  if (idle_.size() < kMostIdleConnections) idle_.push_back(std::move(client));
  return reply;
}

EventFeed::EventFeed(const BrokerLink& link) : link_(link), thread_([this] { Run(); }) {}

EventFeed::~EventFeed() {
  Stop();
  thread_.join();
}

void EventFeed::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
}

bool EventFeed::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

uint64_t EventFeed::Subscribe(const std::set<std::string>& inboxes) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  subscribers_[id].inboxes = inboxes;
  return id;
}

void EventFeed::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(id);
}

std::vector<std::string> EventFeed::Take(uint64_t id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto ready = [&] {
    auto it = subscribers_.find(id);
    return stopping_ || it == subscribers_.end() || !it->second.events.empty();
  };
  changed_.wait_for(lock, timeout, ready);
  std::vector<std::string> out;
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return out;
  out.assign(it->second.events.begin(), it->second.events.end());
  it->second.events.clear();
  return out;
}

void EventFeed::Run() {
  std::unique_ptr<HubClient> client = Connect(link_);
  std::vector<std::string> inboxes;  // every configured inbox, once the broker has said
  auto renewed = std::chrono::steady_clock::time_point{};
  while (!stopping()) {
    if (std::chrono::steady_clock::now() - renewed > kRenewWatches) {
      renewed = std::chrono::steady_clock::now();
      if (inboxes.empty()) {
        v1::Request who;
        who.mutable_who_am_i();
        auto reply = client->Call(who, std::chrono::seconds(2));
        if (reply.ok() && reply->has_who_am_i()) {
          inboxes.assign(reply->who_am_i().inboxes().begin(), reply->who_am_i().inboxes().end());
        } else {
          renewed = {};  // the broker is not there yet: ask again next time round
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
      }
      for (const std::string& inbox : inboxes) {
        v1::Request request;
        request.mutable_watch()->set_inbox(inbox);
        if (!client->Post(std::move(request), std::chrono::seconds(1)).ok()) {
          spdlog::warn("events: cannot ask the broker to watch inbox {}", inbox);
        }
      }
    }
    std::optional<v1::Reply> reply = client->Next(std::chrono::milliseconds(200));
    if (!reply) continue;
    if (reply->status().code() != v1::Status::OK) {
      spdlog::warn("events: the broker refused a watch: {}", reply->status().message());
      continue;
    }
    if (!reply->has_event()) continue;  // the OK that starts a watch
    const v1::WatchEvent& event = reply->event();
    const std::string text = cli::EventJson(event).dump();
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, subscriber] : subscribers_) {
        if (!subscriber.inboxes.count(event.inbox())) continue;
        if (subscriber.events.size() >= kMostQueuedPerPage) subscriber.events.pop_front();
        subscriber.events.push_back(text);
      }
    }
    changed_.notify_all();
  }
}

}  // namespace dutyhub::web
