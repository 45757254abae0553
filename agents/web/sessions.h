// Signed-in sessions: a random token in an HttpOnly, SameSite=Strict cookie names one,
// and every change must carry the session's CSRF token as well (a header the pages set).
// Sessions live in this process's memory: restarting dutyhub-web signs everyone out,
// which is the safe way round.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "broker/clock.h"

namespace dutyhub::web {

struct Session {
  std::string account;            // the name signed in with
  std::string acts_as;            // the broker's principal
  std::string csrf;               // must come back with every change
  std::set<std::string> inboxes;  // member of or manages: whose events it is sent
  TimeMs started = 0;
  TimeMs last_seen = 0;
};

// 32 random bytes, hex: for session and CSRF tokens.
std::string RandomToken();

// Equal in time independent of where they differ.
bool SameSecret(const std::string& a, const std::string& b);

class Sessions {
 public:
  Sessions(const Clock& clock, TimeMs idle, TimeMs longest)
      : clock_(clock), idle_(idle), longest_(longest) {}

  // A new session for `session`'s person (its csrf is made here); returns its token. An
  // account has at most kMostSessionsPerAccount at once: the one seen longest ago ends.
  std::string Start(Session session);
  static constexpr size_t kMostSessionsPerAccount = 20;
  // The live session of this token; nullopt when unknown, idle too long or too old. Seen
  // now (its idle time starts again) only with `activity`: a page's own refreshes (a timer,
  // a live event) are not someone at the screen, and must not keep it signed in.
  std::optional<Session> Find(const std::string& token, bool activity = true);
  // Whether the session is live, without counting this as activity (a live-update stream
  // must not keep an idle session signed in).
  bool Alive(const std::string& token);
  void End(const std::string& token);

 private:
  const Clock& clock_;
  TimeMs idle_;
  TimeMs longest_;
  std::mutex mutex_;
  std::map<std::string, Session> by_token_;
};

}  // namespace dutyhub::web
