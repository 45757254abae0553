#include "agents/web/sessions.h"

#include <sodium.h>

namespace dutyhub::web {

std::string RandomToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sessions::Start(Session session) {
  const TimeMs now = clock_.Now();
  session.csrf = RandomToken();
  session.started = now;
  session.last_seen = now;
  std::string token = RandomToken();
  std::lock_guard lock(mutex_);
  // Sweep the expired ones now and then, so memory follows the people signed in; and
  // keep each account's newest few, so that a script without a cookie jar behind single
  // sign-on (each request a new session) cannot grow them without end.
  size_t theirs = 0;
  auto oldest = by_token_.end();
  for (auto it = by_token_.begin(); it != by_token_.end();) {
    bool expired = now - it->second.last_seen > idle_ || now - it->second.started > longest_;
    if (expired) {
      it = by_token_.erase(it);
      continue;
    }
    if (it->second.account == session.account) {
      ++theirs;
      if (oldest == by_token_.end() || it->second.last_seen < oldest->second.last_seen) oldest = it;
    }
    ++it;
  }
  if (theirs >= kMostSessionsPerAccount) by_token_.erase(oldest);
  by_token_[token] = std::move(session);
  return token;
}

std::optional<Session> Sessions::Find(const std::string& token, bool activity) {
  if (token.empty()) return std::nullopt;
  const TimeMs now = clock_.Now();
  std::lock_guard lock(mutex_);
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  if (now - it->second.last_seen > idle_ || now - it->second.started > longest_) {
    by_token_.erase(it);
    return std::nullopt;
  }
  if (activity) it->second.last_seen = now;
  return it->second;
}

bool Sessions::Alive(const std::string& token) {
  const TimeMs now = clock_.Now();
  std::lock_guard lock(mutex_);
  auto it = by_token_.find(token);
  return it != by_token_.end() && now - it->second.last_seen <= idle_ &&
         now - it->second.started <= longest_;
}

void Sessions::End(const std::string& token) {
  std::lock_guard lock(mutex_);
  by_token_.erase(token);
}

}  // namespace dutyhub::web
