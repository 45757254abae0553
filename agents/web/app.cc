#include "agents/web/app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "agents/cli/render.h"
#include "agents/web/client_address.h"
#include "agents/web/metrics.h"
#include "agents/web/static_files.h"
#include "broker/time_text.h"

namespace dutyhub::web {
namespace {

using nlohmann::json;

// With Secure cookies the name carries the __Host- prefix: the browser then takes it only
// from this host, over TLS, for the whole site, so a sibling subdomain cannot plant one.
constexpr char kCookie[] = "dutyhub_session";
constexpr char kSecureCookie[] = "__Host-dutyhub_session";
// A known browser's tokens (devices.h), kept for half a year; renewed at each sign-in.
constexpr char kDeviceCookie[] = "dutyhub_device";
constexpr char kSecureDeviceCookie[] = "__Host-dutyhub_device";
constexpr int64_t kDeviceCookieSeconds = KnownDevices::kLongestKnownMs / 1000;
// Each live page holds one of the 64 HTTP workers: at most this many, so requests always
// find a worker; a page refused a stream still refreshes its list every 30 s.
constexpr int kMostStreams = 40;
constexpr int kMostStreamsPerSession = 4;
constexpr size_t kMostBodyBytes = 64 * 1024;  // a note or a reason, never a notification

std::string Dump(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

int HttpStatusFor(v1::Status::Code code) {
  switch (code) {
    case v1::Status::OK:
      return 200;
    case v1::Status::INVALID_ARGUMENT:
      return 400;
    case v1::Status::PERMISSION_DENIED:
      return 403;
    case v1::Status::NOT_FOUND:
      return 404;
    case v1::Status::UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

void ReplyJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(Dump(body), "application/json");
}

void ReplyError(httplib::Response& res, v1::Status::Code code, const std::string& message,
                const std::vector<std::pair<std::string, std::string>>& violations = {}) {
  v1::Status status;
  status.set_code(code);
  status.set_message(message);
  for (const auto& [field, description] : violations) {
    auto* v = status.add_violations();
    v->set_field(field);
    v->set_description(description);
  }
  ReplyJson(res, cli::ErrorJson(status), HttpStatusFor(code));
}

void ReplyStatus(httplib::Response& res, const v1::Status& status) {
  ReplyJson(res, cli::ErrorJson(status), HttpStatusFor(status.code()));
}

// The cookie's value, or empty when it is missing or sent more than once (a planted second
// cookie of the same name is never guessed between).
std::string CookieValue(const httplib::Request& req, const std::string& name) {
  std::string value;
  int seen = 0;
  for (size_t h = 0; h < req.get_header_value_count("Cookie"); ++h) {
    const std::string header = req.get_header_value("Cookie", h);
    size_t at = 0;
    while (at < header.size()) {
      size_t end = header.find(';', at);
      if (end == std::string::npos) end = header.size();
      std::string part = header.substr(at, end - at);
      part.erase(0, part.find_first_not_of(' '));
      if (part.rfind(name + "=", 0) == 0) {
        value = part.substr(name.size() + 1);
        ++seen;
      }
      at = end + 1;
    }
  }
  return seen == 1 ? value : "";
}

// REQUIRES: `address` in CanonicalAddress's spelling (WebApp::ClientOf's), where an
// IPv4-mapped loopback address is already 127.x.
bool IsLoopbackPeer(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1";
}

// A JSON object body, or an answer saying what is wrong with it. Changes come from the
// pages' own script as JSON: a cross-site form cannot send that content type, which with
// SameSite=Strict cookies and the CSRF header makes three locks on the door.
std::optional<json> JsonBody(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
    ReplyError(res, v1::Status::INVALID_ARGUMENT, "send the body as application/json");
    return std::nullopt;
  }
  if (req.body.size() > kMostBodyBytes) {
    ReplyError(res, v1::Status::INVALID_ARGUMENT, "the body is too large");
    return std::nullopt;
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    ReplyError(res, v1::Status::INVALID_ARGUMENT, "the body is not a JSON object");
    return std::nullopt;
  }
  return body;
}

std::optional<std::string> TextField(const json& body, const char* field, httplib::Response& res) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string()) {
    ReplyError(res, v1::Status::INVALID_ARGUMENT, std::string(field) + " is required",
               {{field, "give it as a string"}});
    return std::nullopt;
  }
  return it->get<std::string>();
}

// The partnership's calendar date `days` before the day of `ms`: where a report's period
// starts ("the last 7 days" is today and the six before).
std::string DateDaysBefore(int64_t ms, int days) { return FormatLocalDate(ms - days * kDayMs); }

void SecurityHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
}

}  // namespace

WebApp::WebApp(const WebConfig& config, Accounts& accounts, const Clock& clock)
    : config_(config),
      accounts_(accounts),
      sessions_(clock, config.idle_minutes * kMinuteMs, config.longest_hours * kHourMs),
      gateway_(BrokerLink{config.broker, config.gateway, config.keys}),
      feed_(gateway_.link()),
      cookie_name_(config.secure_cookies ? kSecureCookie : kCookie),
      device_cookie_name_(config.secure_cookies ? kSecureDeviceCookie : kDeviceCookie),
      devices_(clock) {}

WebApp::~WebApp() { Stop(); }

void WebApp::Stop() { feed_.Stop(); }

std::optional<v1::Reply> WebApp::Ask(v1::Request request, const std::string& acting,
                                     httplib::Response& res) {
  Result<v1::Reply> reply = gateway_.Call(std::move(request), acting);
  if (!reply.ok()) {
    ReplyError(res, v1::Status::UNAVAILABLE,
               "the hub did not answer in time: reload the page to see whether it was done, then "
               "try again");
    return std::nullopt;
  }
  if (reply->status().code() != v1::Status::OK) {
    ReplyStatus(res, reply->status());
    return std::nullopt;
  }
  return std::move(*reply);
}

int64_t WebApp::BrokerNow() {
  v1::Request ping;
  ping.mutable_ping();
  auto reply = gateway_.Call(ping, "");
  if (reply.ok() && reply->has_ping()) return reply->ping().now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<WebApp::Signed> WebApp::StartSession(const Account& account, httplib::Response& res) {
  v1::Request who;
  who.mutable_who_am_i();
  Result<v1::Reply> reply = gateway_.Call(who, account.acts_as);
  if (!reply.ok()) return reply.status();
  if (reply->status().code() != v1::Status::OK) {
    return Status::PermissionDenied("the hub does not know this account's person: " +
                                    reply->status().message());
  }
  const v1::WhoAmIReply& me = reply->who_am_i();
  Session session;
  session.account = account.name;
  session.acts_as = account.acts_as;
  session.inboxes.insert(me.member_of().begin(), me.member_of().end());
  session.inboxes.insert(me.manages().begin(), me.manages().end());
  std::string token = sessions_.Start(session);
  std::string cookie = cookie_name_ + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  if (config_.secure_cookies) cookie += "; Secure";
  res.set_header("Set-Cookie", cookie);
  auto started = sessions_.Find(token);
  if (!started) return Status::Internal("the session ended as it started");
  return Signed{token, *started};
}

bool CountsAsActivity(const httplib::Request& req) {
  // A page's live-update stream (an EventSource, which sends no headers of its own choosing)
  // reconnects by itself: never someone at the screen either.
  if (req.path == "/api/events") return false;
  return req.get_header_value("X-Dutyhub-Refresh") != "background";
}

std::optional<WebApp::Signed> WebApp::SessionOf(const httplib::Request& req,
                                                httplib::Response& res) {
  const std::string token = CookieValue(req, cookie_name_);
  std::optional<Session> session = sessions_.Find(token, CountsAsActivity(req));
  if (config_.proxy_header.empty()) {
    if (!session) return std::nullopt;
    return Signed{token, *session};
  }
  // Single sign-on: believe the header only from the proxy's own addresses, and only for a
  // configured account; a session started for someone else is not theirs.
  const std::optional<std::string> peer = CanonicalAddress(req.remote_addr);
  const bool from_proxy = peer && std::find(config_.proxy_from.begin(), config_.proxy_from.end(),
                                            *peer) != config_.proxy_from.end();
  const std::string user = from_proxy ? req.get_header_value(config_.proxy_header) : "";
  if (user.empty()) {
    if (!session) return std::nullopt;
    return Signed{token, *session};
  }
  if (session && session->account == user) return Signed{token, *session};
  // A page's own refresh starts no session: else an unattended screen behind single sign-on
  // would be signed in again every time its session ran out. Someone at it signs in again.
  if (!CountsAsActivity(req)) return std::nullopt;
  const Account* account = accounts_.Find(user);
  if (account == nullptr) return std::nullopt;
  auto started = StartSession(*account, res);
  if (!started.ok()) return std::nullopt;
  return *started;
}

std::optional<WebApp::Signed> WebApp::Require(const httplib::Request& req, httplib::Response& res,
                                              bool change) {
  auto signed_in = SessionOf(req, res);
  if (!signed_in) {
    ReplyJson(res, json{{"error", {{"code", "UNAUTHENTICATED"}, {"message", "sign in first"}}}},
              401);
    return std::nullopt;
  }
  if (change && !SameSecret(req.get_header_value("X-CSRF-Token"), signed_in->session.csrf)) {
    ReplyError(res, v1::Status::PERMISSION_DENIED,
               "this change did not carry the page's CSRF token: reload the page and try again");
    return std::nullopt;
  }
  return signed_in;
}

std::string WebApp::ClientOf(const httplib::Request& req) const {
  if (config_.reverse_proxies.empty())
    return CanonicalAddress(req.remote_addr).value_or(req.remote_addr);
  std::vector<std::string> forwarded;
  for (size_t h = 0; h < req.get_header_value_count("X-Forwarded-For"); ++h)
    forwarded.push_back(req.get_header_value("X-Forwarded-For", h));
  return ClientAddress(req.remote_addr, forwarded, config_.reverse_proxies);
}

void WebApp::SignIn(const httplib::Request& req, httplib::Response& res) {
  auto body = JsonBody(req, res);
  if (!body) return;
  auto name = TextField(*body, "account", res);
  if (!name) return;
  auto password = TextField(*body, "password", res);
  if (!password) return;
  // Failures count by the client's address. Behind a reverse proxy not listed in
  // `reverse_proxies` that is the proxy's, and the lock-out is then the whole account's.
  const std::string from = ClientOf(req);
  // A browser where this account signed in before is counted on its own (devices.h).
  const std::string device_cookie = CookieValue(req, device_cookie_name_);
  const std::optional<std::string> device = devices_.Recognise(device_cookie, *name);
  bool as_known_browser = false;
  Result<Account> account = accounts_.SignIn(*name, *password, from, device, &as_known_browser);
  const char* const on = as_known_browser ? " on a browser known to the account" : "";
  if (!account.ok()) {
    // The account name a person typed is not logged: it could be anything they typed.
    spdlog::info("sign-in refused from {}{}", from, on);
    return ReplyError(res, v1::Status::PERMISSION_DENIED, account.status().message());
  }
  auto started = StartSession(*account, res);
  if (!started.ok()) {
    return ReplyError(res, static_cast<v1::Status::Code>(started.status().code()),
                      started.status().message());
  }
  // Empty only for a name too long for any cookie: the browser then stays unknown.
  if (std::string tokens = devices_.Remember(device_cookie, account->name); !tokens.empty()) {
    std::string known =
        device_cookie_name_ + "=" + tokens +
        "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(kDeviceCookieSeconds);
    if (config_.secure_cookies) known += "; Secure";
    res.set_header("Set-Cookie", known);
  }
  spdlog::info("{} signed in (acting as {}) from {}{}", account->name, account->acts_as, from, on);
  ReplyJson(res, json{{"account", account->name},
                      {"acts_as", account->acts_as},
                      {"csrf", started->session.csrf}});
}

void WebApp::SignOut(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, /*change=*/true);
  if (!signed_in) return;
  sessions_.End(signed_in->token);
  std::string cookie = cookie_name_ + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (config_.secure_cookies) cookie += "; Secure";
  res.set_header("Set-Cookie", cookie);
  spdlog::info("{} signed out", signed_in->session.account);
  ReplyJson(res, json{{"signed_out", true}});
}

void WebApp::Me(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  v1::Request who;
  who.mutable_who_am_i();
  auto reply = Ask(who, signed_in->session.acts_as, res);
  if (!reply) return;
  const v1::WhoAmIReply& me = reply->who_am_i();
  const char* kind = me.kind() == v1::WhoAmIReply::AGENCY ? "agency" : "person";
  ReplyJson(res, json{{"account", signed_in->session.account},
                      {"acts_as", me.principal()},
                      {"kind", kind},
                      {"role", me.role()},
                      {"partnership", me.partnership()},
                      {"member_of", me.member_of()},
                      {"manages", me.manages()},
                      {"inboxes", me.inboxes()},
                      {"csrf", signed_in->session.csrf},
                      {"now", FormatTimestamp(BrokerNow())}});
}

void WebApp::InboxItems(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  v1::Request request;
  request.mutable_inbox()->set_inbox(req.matches[1]);
  request.mutable_inbox()->set_all(req.get_param_value("all") == "1");
  auto reply = Ask(request, signed_in->session.acts_as, res);
  if (!reply) return;
  json out = cli::InboxJson(reply->inbox());
  out["now"] = FormatTimestamp(BrokerNow());
  ReplyJson(res, out);
}

void WebApp::Item(const httplib::Request& req, httplib::Response& res) {
  // Opening is recorded in the audit, so it is treated as a change: with the CSRF token
  // only, so no other site can make a browser "open" an item in its owner's name.
  auto signed_in = Require(req, res, true);
  if (!signed_in) return;
  v1::Request request;
  request.mutable_show()->set_delivery_id(req.matches[1]);
  auto reply = Ask(request, signed_in->session.acts_as, res);
  if (!reply) return;
  json out = cli::ShowJson(reply->show());
  out["now"] = FormatTimestamp(BrokerNow());
  ReplyJson(res, out);
}

void WebApp::Acknowledge(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, true);
  if (!signed_in) return;
  auto body = JsonBody(req, res);
  if (!body) return;
  auto note = TextField(*body, "note", res);
  if (!note) return;
  v1::Request request;
  request.mutable_ack()->set_delivery_id(req.matches[1]);
  request.mutable_ack()->set_note(*note);
  auto reply = Ask(request, signed_in->session.acts_as, res);
  if (!reply) return;
  ReplyJson(res, cli::AckJson(reply->ack()));
}

void WebApp::Transfer(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, true);
  if (!signed_in) return;
  auto body = JsonBody(req, res);
  if (!body) return;
  auto to = TextField(*body, "to_inbox", res);
  if (!to) return;
  auto reason = TextField(*body, "reason", res);
  if (!reason) return;
  v1::Request request;
  request.mutable_transfer()->set_delivery_id(req.matches[1]);
  request.mutable_transfer()->set_to_inbox(*to);
  request.mutable_transfer()->set_reason(*reason);
  auto reply = Ask(request, signed_in->session.acts_as, res);
  if (!reply) return;
  ReplyJson(res, cli::TransferJson(reply->transfer()));
}

void WebApp::ManagerSummary(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  const std::string& acting = signed_in->session.acts_as;
  v1::Request overdue;
  overdue.mutable_overdue();
  auto overdue_reply = Ask(overdue, acting, res);  // PERMISSION_DENIED for anyone not a manager
  if (!overdue_reply) return;
  const int64_t now = overdue_reply->overdue().now_ms();
  json out;
  out["now"] = FormatTimestamp(now);
  out["overdue"] = cli::OverdueJson(overdue_reply->overdue())["items"];
  v1::ReportReply thirty_days;
  for (const auto& [key, days] :
       std::map<std::string, int>{{"last_7_days", 6}, {"last_30_days", 29}}) {
    v1::Request report;
    report.mutable_report()->set_from_date(DateDaysBefore(now, days));
    auto reply = Ask(report, acting, res);
    if (!reply) return;
    out[key] = cli::ReportJson(reply->report());
    if (days == 29) thirty_days = reply->report();
  }
  // Outstanding and overdue by inbox and level: counted by the broker in the report (all
  // of them, however many), so the page costs three requests however many inboxes it covers.
  json inboxes = json::array();
  for (const v1::InboxReport& report : thirty_days.inboxes()) {
    json levels = json::object();
    for (int level = 0; level < report.waiting_at_level_size(); ++level) {
      if (report.waiting_at_level(level) > 0)
        levels[std::to_string(level)] = report.waiting_at_level(level);
    }
    inboxes.push_back({{"inbox", report.inbox()},
                       {"outstanding", report.waiting()},
                       {"overdue", report.waiting_overdue()},
                       {"by_level", levels}});
  }
  out["inboxes"] = inboxes;
  ReplyJson(res, out);
}

void WebApp::ReportCsv(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  v1::Request report;
  report.mutable_report()->set_from_date(req.get_param_value("from"));
  report.mutable_report()->set_to_date(req.get_param_value("to"));
  report.mutable_report()->set_inbox(req.get_param_value("inbox"));
  auto reply = Ask(report, signed_in->session.acts_as, res);
  if (!reply) return;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Disposition", "attachment; filename=\"dutyhub-report.csv\"");
  res.set_content(cli::ReportCsv(reply->report()), "text/csv; charset=utf-8");
}

void WebApp::NotificationStatus(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  v1::Request status;
  status.mutable_status()->set_notification_id(req.matches[1]);
  auto reply = Ask(status, signed_in->session.acts_as, res);
  if (!reply) return;
  ReplyJson(res, cli::StatusJson(reply->status_reply()));
}

void WebApp::Events(const httplib::Request& req, httplib::Response& res) {
  auto signed_in = Require(req, res, false);
  if (!signed_in) return;
  const std::string token = signed_in->token;
  {
    std::lock_guard lock(streams_mutex_);
    int& mine = streams_by_session_[token];
    if (streams_ >= kMostStreams || mine >= kMostStreamsPerSession) {
      if (mine == 0) streams_by_session_.erase(token);
      return ReplyError(
          res, v1::Status::UNAVAILABLE,
          "too many live pages are open: this one refreshes every 30 seconds instead");
    }
    ++mine;
    ++streams_;
  }
  const uint64_t id = feed_.Subscribe(signed_in->session.inboxes);
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");  // a proxy in front must not hold events back
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, id, token](size_t, httplib::DataSink& sink) {
        // The stream ends with the session: a signed-out page receives nothing more.
        std::vector<std::string> events = feed_.Take(id, std::chrono::seconds(15));
        if (feed_.stopping() || !sessions_.Alive(token)) {
          sink.done();
          return true;
        }
        std::string chunk;
        for (const std::string& event : events) chunk += "event: item\ndata: " + event + "\n\n";
        if (chunk.empty()) chunk = ": still here\n\n";  // keeps proxies from closing it
        return sink.write(chunk.data(), chunk.size());
      },
      [this, id, token](bool) {
        feed_.Unsubscribe(id);
        std::lock_guard lock(streams_mutex_);
        --streams_;
        if (--streams_by_session_[token] <= 0) streams_by_session_.erase(token);
      });
}

void WebApp::Metrics(const httplib::Request& req, httplib::Response& res) {
  // Without a token, only this machine's own scraper; with one, whoever presents it. A
  // request through a reverse proxy on this machine is its client's, not this machine's.
  const bool allowed =
      config_.metrics_token.empty()
          ? IsLoopbackPeer(ClientOf(req))
          : SameSecret(req.get_header_value("Authorization"), "Bearer " + config_.metrics_token);
  if (!allowed) {
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content("give the metrics token as Authorization: Bearer TOKEN (metrics_token_file)\n",
                    "text/plain");
    return;
  }
  v1::Request request;
  request.mutable_metrics();
  auto reply = gateway_.Call(request, "");
  if (!reply.ok() || reply->status().code() != v1::Status::OK) {
    res.status = 503;
    res.set_content("the hub is not answering\n", "text/plain");
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(PrometheusText(reply->metrics()), "text/plain; version=0.0.4; charset=utf-8");
}

void WebApp::Register(httplib::Server& server) {
  server.set_payload_max_length(kMostBodyBytes);
  // Served over TLS itself: browsers are told to come back only over HTTPS for a year, so a
  // look-alike sign-in page on plain http:// on the hospital's network gets nowhere. (Not
  // includeSubDomains: the hospital's other hosts are not ours to decide for. Behind a TLS
  // proxy, the proxy sends it.)
  const bool https = !config_.tls_certificate.empty();
  server.set_post_routing_handler([https](const httplib::Request&, httplib::Response& res) {
    SecurityHeaders(res);
    if (https) res.set_header("Strict-Transport-Security", "max-age=31536000");
  });
  auto bind = [this](void (WebApp::*handler)(const httplib::Request&, httplib::Response&)) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      (this->*handler)(req, res);
    };
  };
  server.Post("/api/sign-in", bind(&WebApp::SignIn));
  server.Post("/api/sign-out", bind(&WebApp::SignOut));
  server.Get("/api/me", bind(&WebApp::Me));
  server.Get(R"(/api/inboxes/([A-Za-z0-9_.-]+))", bind(&WebApp::InboxItems));
  server.Get(R"(/api/items/([A-Za-z0-9-]+))", bind(&WebApp::Item));
  server.Post(R"(/api/items/([A-Za-z0-9-]+)/acknowledge)", bind(&WebApp::Acknowledge));
  server.Post(R"(/api/items/([A-Za-z0-9-]+)/transfer)", bind(&WebApp::Transfer));
  server.Get("/api/manager", bind(&WebApp::ManagerSummary));
  server.Get("/api/report.csv", bind(&WebApp::ReportCsv));
  server.Get(R"(/api/notifications/([A-Za-z0-9-]+))", bind(&WebApp::NotificationStatus));
  server.Get("/api/events", bind(&WebApp::Events));
  server.Get("/metrics", bind(&WebApp::Metrics));
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  // The pages: one document whose script draws the page its path names.
  for (const StaticFile& file : StaticFiles()) {
    server.Get(file.path, [&file](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(file.content), file.content_type);
    });
  }
  const StaticFile* page = FindStaticFile("/static/app.html");
  auto serve_page = [page](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(page->content), page->content_type);
  };
  for (const char* path : {"/", "/sign-in", R"(/inbox/[A-Za-z0-9_.-]+)", R"(/items/[A-Za-z0-9-]+)",
                           "/manager", "/sender", R"(/sender/[A-Za-z0-9-]+)"}) {
    server.Get(path, serve_page);
  }
}

}  // namespace dutyhub::web
