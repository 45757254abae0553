// dutyhub-web's HTTP side: sign-in, the JSON API the pages call, the pages themselves,
// live updates (server-sent events) and /metrics. Every question about a notification goes
// to the broker on behalf of the person signed in; the broker decides what they may see.
//
// Threads: httplib's worker threads call the handlers; everything here is thread-safe.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agents/web/accounts.h"
#include "agents/web/devices.h"
#include "agents/web/gateway.h"
#include "agents/web/sessions.h"
#include "agents/web/web_config.h"
#include "broker/clock.h"

namespace dutyhub::web {

// Whether a request is someone at the screen: false for the refreshes a page makes by itself,
// which it marks `X-Dutyhub-Refresh: background` (app.js), and for its live-update stream
// (/api/events), so an unattended duty-room screen still signs out after `idle_minutes`.
bool CountsAsActivity(const httplib::Request& req);

class WebApp {
 public:
  // REQUIRES: `accounts` loaded; `clock` outlives this.
  WebApp(const WebConfig& config, Accounts& accounts, const Clock& clock);
  ~WebApp();

  // Adds every route to `server`.
  void Register(httplib::Server& server);
  // Ends the live-update streams at once, so the server can stop.
  void Stop();

 private:
  struct Signed {
    std::string token;
    Session session;
  };
  // The session this request belongs to: its cookie's, or for single sign-on the trusted
  // proxy's user (a session is started for them, its cookie set on `res`).
  std::optional<Signed> SessionOf(const httplib::Request& req, httplib::Response& res);
  // The session, and for a change its CSRF token checked; answers 401/403 itself when not.
  std::optional<Signed> Require(const httplib::Request& req, httplib::Response& res, bool change);
  // Starts a session for `account` (asking the broker who they are); its cookie is set.
  Result<Signed> StartSession(const Account& account, httplib::Response& res);
  // Asks the broker for `acting`; answers `res` with the error when there is one.
  std::optional<v1::Reply> Ask(v1::Request request, const std::string& acting,
                               httplib::Response& res);
  // The address of the client's computer: the connection's, or behind the configured
  // reverse proxies the one they name (client_address.h).
  std::string ClientOf(const httplib::Request& req) const;
  // The broker's time (simulated in the demo), for "due in" on the pages.
  int64_t BrokerNow();

  void SignIn(const httplib::Request& req, httplib::Response& res);
  void SignOut(const httplib::Request& req, httplib::Response& res);
  void Me(const httplib::Request& req, httplib::Response& res);
  void InboxItems(const httplib::Request& req, httplib::Response& res);
  void Item(const httplib::Request& req, httplib::Response& res);
  void Acknowledge(const httplib::Request& req, httplib::Response& res);
  void Transfer(const httplib::Request& req, httplib::Response& res);
  void ManagerSummary(const httplib::Request& req, httplib::Response& res);
  void ReportCsv(const httplib::Request& req, httplib::Response& res);
  void NotificationStatus(const httplib::Request& req, httplib::Response& res);
  void Events(const httplib::Request& req, httplib::Response& res);
  void Metrics(const httplib::Request& req, httplib::Response& res);

  const WebConfig& config_;
  Accounts& accounts_;
  Sessions sessions_;
  Gateway gateway_;
  EventFeed feed_;
  const std::string cookie_name_;
  const std::string device_cookie_name_;
  KnownDevices devices_;  // a key of this process's: a restart makes every browser unknown
  std::mutex streams_mutex_;
  int streams_ = 0;                                // live pages' event streams
  std::map<std::string, int> streams_by_session_;  // and each session's
};

}  // namespace dutyhub::web
