// dutyhub-web through the real processes: a broker with CURVE on and the web gateway with
// its own key, asked over HTTP as a browser would. Every endpoint's permissions for people,
// managers, agency staff and nobody; sign-in, lock-out, sign-out, CSRF; the live event
// stream; /metrics; single sign-on through a trusted proxy; and the broker refusing
// anyone but a configured gateway who claims to act for someone else.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "agents/client/hub_client.h"
#include "broker/keys.h"
#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

struct Answer {
  int status = 0;
  json body;
  std::string text;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A browser's cookie jar and CSRF token for one signed-in person.
class Browser {
 public:
  explicit Browser(int port) : port_(port) {}

  // As the pages do, with the CSRF token once signed in (opening an item needs it).
  Answer Get(const std::string& path, httplib::Headers extra = {}) {
    if (!csrf_.empty()) extra.emplace("X-CSRF-Token", csrf_);
    return Send("GET", path, "", std::move(extra));
  }
  // Without the token: what another site's link or image would send.
  Answer GetWithoutToken(const std::string& path) { return Send("GET", path, "", {}); }
  // A change: the CSRF token goes with it unless `csrf` is false.
  Answer Post(const std::string& path, const json& body, bool csrf = true) {
    httplib::Headers extra;
    if (csrf && !csrf_.empty()) extra.emplace("X-CSRF-Token", csrf_);
    return Send("POST", path, body.dump(), std::move(extra));
  }
  Answer SignIn(const std::string& account, const std::string& password) {
    Answer a =
        Send("POST", "/api/sign-in", json{{"account", account}, {"password", password}}.dump(), {});
    if (a.status == 200) csrf_ = a.body["csrf"].get<std::string>();
    return a;
  }
  Answer Send(const std::string& method, const std::string& path, const std::string& body,
              httplib::Headers extra, const std::string& content_type = "application/json") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds(10));
    if (!jar_.empty()) extra.emplace("Cookie", cookie());
    httplib::Result res = method == "POST" ? client.Post(path, extra, body, content_type.c_str())
                                           : client.Get(path, extra);
    Answer answer;
    if (!res) return answer;
    answer.status = res->status;
    answer.text = res->body;
    answer.headers = res->headers;
    answer.body = json::parse(res->body, nullptr, false);
    for (size_t i = 0; i < res->get_header_value_count("Set-Cookie"); ++i) {
      const std::string set = res->get_header_value("Set-Cookie", i);
      const std::string pair = set.substr(0, set.find(';'));
      const size_t equals = pair.find('=');
      if (equals == std::string::npos) continue;
      const bool gone = set.find("Max-Age=0") != std::string::npos;
      Keep(pair.substr(0, equals), gone ? "" : pair.substr(equals + 1));
    }
    return answer;
  }
  // What it sends as its Cookie header: each cookie it holds, first set first.
  std::string cookie() const {
    std::string header;
    for (const auto& [name, value] : jar_)
      header += (header.empty() ? "" : "; ") + name + "=" + value;
    return header;
  }
  std::string Cookie(const std::string& name) const {
    for (const auto& [held, value] : jar_) {
      if (held == name) return value;
    }
    return "";
  }
  // As a browser stores a Set-Cookie; an empty value removes it.
  void Keep(const std::string& name, const std::string& value) {
    auto held =
        std::find_if(jar_.begin(), jar_.end(), [&](const auto& c) { return c.first == name; });
    if (held == jar_.end()) {
      if (!value.empty()) jar_.emplace_back(name, value);
    } else if (value.empty()) {
      jar_.erase(held);
    } else {
      held->second = value;
    }
  }

 private:
  int port_;
  std::vector<std::pair<std::string, std::string>> jar_;
  std::string csrf_;
};

constexpr char kPassword[] = "a long demo password";

// A sign-in sent from `source`, as from another computer: any 127.x address reaches the
// loopback listener, and the gateway sees it as the connection's address. With
// `forwarded_for`, as a reverse proxy at `source` sends it on (X-Forwarded-For).
Answer SignInFrom(const std::string& source, int port, const std::string& account,
                  const std::string& password, const std::string& forwarded_for = "") {
  Answer answer;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return answer;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return answer;
  }
  const std::string body = json{{"account", account}, {"password", password}}.dump();
  const std::string request =
      "POST /api/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nConnection: close\r\n" +
      (forwarded_for.empty() ? "" : "X-Forwarded-For: " + forwarded_for + "\r\n") +
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string reply;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char chunk[4096];
    for (ssize_t n; (n = recv(fd, chunk, sizeof chunk, 0)) > 0;) reply.append(chunk, n);
  }
  close(fd);
  // "HTTP/1.1 403 Forbidden\r\n...\r\n\r\n{...}"
  const size_t space = reply.find(' ');
  const size_t end = reply.find("\r\n\r\n");
  if (space == std::string::npos || end == std::string::npos) return answer;
  answer.status = std::atoi(reply.c_str() + space + 1);
  answer.text = reply.substr(end + 4);
  answer.body = json::parse(answer.text, nullptr, false);
  return answer;
}

class WebGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = dir_.path() / "keys";
    std::vector<std::string> principals = NorthshirePrincipals();
    principals.push_back("web");
    MakeKeys(keys_, principals);
    broker_ = std::make_unique<BrokerProcess>(
        ConfigPath("northshire.yaml"), dir_.path() / "data",
        std::vector<std::string>{"--simulated-clock", "2026-11-23T16:00:00Z"});
    broker_->UseKeys(keys_);
    ASSERT_TRUE(broker_->Start()) << broker_->log();
    // Every valid sample, as its agency (samples/README.md says where each goes).
    for (const auto& [sample, agency] : std::vector<std::pair<std::string, std::string>>{
             {"hospital-liaison-non-mobile-injury.json", "gwh-ed"},
             {"hospital-liaison-school-age.json", "gwh-ed"},
             {"mash-request-home-visit.json", "northshire-mash"},
             {"scbu-discharge-mental-health-no-meeting.json", "gwh-scbu"}}) {
      CommandResult sent = broker_->Cli(agency, {"send", SamplePath(sample).string()});
      ASSERT_EQ(sent.exit_code, 0) << sent.err;
      const json reply = sent.Json();
      for (const auto& d : reply["deliveries"])
        delivery_[d["inbox"].get<std::string>() + "/" + sample] = d["delivery_id"];
      notification_[sample] = reply["id"];
    }
    CommandResult hash =
        RunCommand({DUTYHUB_WEB_BIN, "hash-password"}, std::string(kPassword) + "\n");
    ASSERT_EQ(hash.exit_code, 0) << hash.err;
    std::string h = hash.out.substr(0, hash.out.find('\n'));
    ASSERT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
    std::ofstream(dir_.path() / "accounts.yaml")
        << "accounts:\n"
        << "  alice: {password: \"" << h << "\"}\n"
        << "  bob: {password: \"" << h << "\"}\n"
        << "  dan: {password: \"" << h << "\"}\n"
        << "  frank: {password: \"" << h << "\"}\n"
        << "  gwh-ed-liaison: {acts_as: gwh-ed, password: \"" << h << "\"}\n";
    std::ofstream(dir_.path() / "metrics.token") << "a-metrics-token-of-some-length\n";
  }

  // dutyhub-web against this broker, with `extra` lines of configuration.
  void StartWeb(const std::string& extra = "",
                const std::string& lockout = "{failures: 3, minutes: 15}",
                bool metrics_token = true) {
    std::ofstream(dir_.path() / "web.yaml")
        << "listen: 127.0.0.1:0\n"
        << "broker: " << broker_->endpoint() << "\n"
        << "gateway: web\n"
        << "key: " << (keys_ / "web.key").string() << "\n"
        << "accounts: " << (dir_.path() / "accounts.yaml").string() << "\n"
        << "lockout: " << lockout << "\n"
        << (metrics_token ? "metrics_token_file: " + (dir_.path() / "metrics.token").string()
                          : std::string("# no metrics token: this machine's scraper only"))
        << "\n"
        << extra;
    web_ = std::make_unique<AdapterProcess>(DUTYHUB_WEB_BIN, dir_.path() / "web.yaml", "web",
                                            "dutyhub-web listening on http://127.0.0.1:");
    ASSERT_TRUE(web_->Start()) << web_->log();
  }

  Browser SignedIn(const std::string& account) {
    Browser b(web_->port());
    Answer a = b.SignIn(account, kPassword);
    EXPECT_EQ(a.status, 200) << account << ": " << a.text;
    return b;
  }

  void TearDown() override {
    if (web_) ExpectNoPersonalDetails(web_->log(), "dutyhub-web's log");
  }

  TempDir dir_;
  std::filesystem::path keys_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<AdapterProcess> web_;
  std::map<std::string, std::string> delivery_;      // "inbox/sample.json" -> delivery id
  std::map<std::string, std::string> notification_;  // "sample.json" -> notification id
};

TEST_F(WebGateway, NobodySignedInGetsNothingButTheSignInPage) {
  StartWeb();
  Browser nobody(web_->port());
  const std::string item = delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json");
  for (const std::string& path :
       {std::string("/api/me"), std::string("/api/inboxes/hv-north"), "/api/items/" + item,
        std::string("/api/manager"), std::string("/api/report.csv"),
        "/api/notifications/" + notification_.at("hospital-liaison-non-mobile-injury.json"),
        std::string("/api/events")}) {
    Answer a = nobody.Get(path);
    EXPECT_EQ(a.status, 401) << path;
    EXPECT_EQ(a.text.find("Moss"), std::string::npos) << path;
  }
  EXPECT_EQ(nobody.Post("/api/items/" + item + "/acknowledge", {{"note", "x"}}).status, 401);
  EXPECT_EQ(nobody.Post("/api/items/" + item + "/transfer", {{"to_inbox", "mash"}, {"reason", "x"}})
                .status,
            401);
  EXPECT_EQ(nobody.Post("/api/sign-out", json::object()).status, 401);
  // The pages themselves load (they ask the API, which asks for a sign-in).
  Answer page = nobody.Get("/inbox/hv-north");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.text.find("/static/app.js"), std::string::npos);
  EXPECT_NE(page.Header("Content-Security-Policy"), std::string(""));
  EXPECT_EQ(nobody.Get("/static/app.js").status, 200);
}

TEST_F(WebGateway, SignInSetsAStrictHttpOnlyCookieAndSignOutEndsTheSession) {
  StartWeb();
  Browser alice(web_->port());
  Answer in = alice.SignIn("alice", kPassword);
  ASSERT_EQ(in.status, 200) << in.text;
  const std::string cookie = in.Header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "plain HTTP on loopback: not Secure";
  Answer me = alice.Get("/api/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.body["acts_as"], "alice");
  EXPECT_EQ(me.body["member_of"], json::array({"hv-north"}));
  EXPECT_EQ(me.body["csrf"], in.body["csrf"]);
  EXPECT_EQ(alice.Post("/api/sign-out", json::object(), /*csrf=*/false).status, 403)
      << "sign-out needs the token too";
  const std::string session_cookie = alice.cookie();
  ASSERT_EQ(session_cookie.rfind("dutyhub_session=", 0), 0u) << session_cookie;
  EXPECT_EQ(alice.Post("/api/sign-out", json::object()).status, 200);
  // The old session cookie is worthless now, even replayed: the server ended the session.
  Browser replay(web_->port());
  EXPECT_EQ(replay.Send("GET", "/api/me", "", {{"Cookie", session_cookie}}).status, 401);
  // And a cookie sent twice (one planted beside the real one) is no session at all.
  Browser bob = SignedIn("bob");
  EXPECT_EQ(bob.Get("/api/me").status, 200);
  EXPECT_EQ(
      replay.Send("GET", "/api/me", "", {{"Cookie", bob.cookie() + "; dutyhub_session=planted"}})
          .status,
      401);
}

TEST_F(WebGateway, WrongPasswordsFromAnotherComputerDoNotLockTheOwnerOutAtHers) {
  StartWeb();
  for (int i = 0; i < 3; ++i) {
    Answer wrong = SignInFrom("127.0.0.2", web_->port(), "bob", "a guess");
    ASSERT_EQ(wrong.status, 403) << wrong.text;
  }
  Answer there = SignInFrom("127.0.0.2", web_->port(), "bob", kPassword);
  EXPECT_EQ(there.status, 403) << "locked from that address, whatever the password";
  EXPECT_NE(there.text.find("from this address are locked"), std::string::npos) << there.text;
  EXPECT_EQ(SignedIn("bob").Get("/api/me").status, 200) << "bob's own computer, 127.0.0.1";
  EXPECT_EQ(SignInFrom("127.0.0.3", web_->port(), "bob", kPassword).status, 200)
      << "a third computer";
  EXPECT_NE(web_->log().find("sign-in refused from 127.0.0.2"), std::string::npos)
      << "the log names where refused sign-ins came from";
}

// Two wrong passwords for `account` from each of two other computers: with the lock-out
// below (3 from one address, 4 from anywhere), none is locked alone and the account is
// locked everywhere.
void GuessFromTwoOtherComputers(int port, const std::string& account) {
  for (const char* from : {"127.0.0.2", "127.0.0.3"}) {
    for (int i = 0; i < 2; ++i) ASSERT_EQ(SignInFrom(from, port, account, "a guess").status, 403);
  }
}

TEST_F(WebGateway, FailuresFromManyAddressesTogetherLockTheAccountEverywhereAtItsCeiling) {
  StartWeb("", "{failures: 3, minutes: 15, account_failures: 4}");
  ASSERT_NO_FATAL_FAILURE(GuessFromTwoOtherComputers(web_->port(), "bob"));
  Answer own = Browser(web_->port()).SignIn("bob", kPassword);
  EXPECT_EQ(own.status, 403) << "four in a row from anywhere: locked at his own computer too";
  EXPECT_NE(own.text.find("this account is locked"), std::string::npos) << own.text;
  EXPECT_EQ(SignedIn("alice").Get("/api/me").status, 200) << "another account is not locked";
}

// Bob's own browser, where he signed in before, while guesses from other computers have
// locked his account everywhere (devices.h).
TEST_F(WebGateway, AKnownBrowserSignsInWhileTheCeilingLocksTheAccountEverywhere) {
  StartWeb("", "{failures: 3, minutes: 15, account_failures: 4}");
  Browser bobs(web_->port());
  Answer first = bobs.SignIn("bob", kPassword);
  ASSERT_EQ(first.status, 200) << first.text;
  std::string set;
  for (const auto& [name, value] : first.headers) {
    if (name == "Set-Cookie" && value.rfind("dutyhub_device=", 0) == 0) set = value;
  }
  EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
  EXPECT_NE(set.find("Max-Age=15811200"), std::string::npos) << "half a year: " << set;
  const std::string token = bobs.Cookie("dutyhub_device");
  ASSERT_FALSE(token.empty()) << set;
  ASSERT_NO_FATAL_FAILURE(GuessFromTwoOtherComputers(web_->port(), "bob"));
  Answer elsewhere = Browser(web_->port()).SignIn("bob", kPassword);
  EXPECT_EQ(elsewhere.status, 403) << "a browser bob never signed in on";
  EXPECT_NE(elsewhere.text.find("this account is locked"), std::string::npos) << elsewhere.text;
  Answer own = bobs.SignIn("bob", kPassword);
  EXPECT_EQ(own.status, 200) << "his own browser: " << own.text;
  EXPECT_EQ(bobs.Get("/api/me").body["acts_as"], "bob");
  // Dated again, the same browser's id: "<account>.<device id>.<made>.<MAC>".
  auto device_id = [](const std::string& t) { return t.substr(0, t.find('.', t.find('.') + 1)); };
  EXPECT_EQ(device_id(bobs.Cookie("dutyhub_device")), device_id(token));
  // A token changed by a character, or another account's, is not his.
  Browser forged(web_->port());
  std::string changed = token;
  changed.back() = changed.back() == '0' ? '1' : '0';
  forged.Keep("dutyhub_device", changed);
  EXPECT_EQ(forged.SignIn("bob", kPassword).status, 403);
  Browser alices = SignedIn("alice");
  ASSERT_FALSE(alices.Cookie("dutyhub_device").empty());
  EXPECT_EQ(alices.SignIn("bob", kPassword).status, 403) << "alice's browser is not bob's";
  EXPECT_NE(web_->log().find("bob signed in (acting as bob) from 127.0.0.1 on a browser known "
                             "to the account"),
            std::string::npos);
  EXPECT_NE(web_->log().find("sign-in refused from 127.0.0.1\n"), std::string::npos)
      << "a browser not known is logged as such";
}

// Behind a reverse proxy on this machine (127.0.0.1), which names each client in
// X-Forwarded-For: failures count by the client's computer, not the proxy's one address.
TEST_F(WebGateway, BehindAReverseProxyFailuresCountByTheComputerItNames) {
  StartWeb("reverse_proxies: [127.0.0.1]\n");
  constexpr char kStranger[] = "203.0.113.7";
  constexpr char kBobsDesk[] = "198.51.100.20";
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(SignInFrom("127.0.0.1", web_->port(), "bob", "a guess", kStranger).status, 403);
  Answer there = SignInFrom("127.0.0.1", web_->port(), "bob", kPassword, kStranger);
  EXPECT_EQ(there.status, 403) << "the stranger's computer is locked out";
  EXPECT_NE(there.text.find("from this address are locked"), std::string::npos) << there.text;
  Answer spoofed = SignInFrom("127.0.0.1", web_->port(), "bob", kPassword,
                              std::string(kBobsDesk) + ", " + kStranger);
  EXPECT_EQ(spoofed.status, 403) << "writing bob's address in front does not make it his";
  EXPECT_EQ(SignInFrom("127.0.0.1", web_->port(), "bob", kPassword, kBobsDesk).status, 200)
      << "bob at his own desk, through the same proxy";
  EXPECT_NE(web_->log().find(std::string("sign-in refused from ") + kStranger), std::string::npos)
      << "the log names the client, not the proxy";
  // A connection that is not the proxy cannot name another computer: its own address counts.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(SignInFrom("127.0.0.2", web_->port(), "alice", "a guess",
                         "192.0.2." + std::to_string(i + 1))
                  .status,
              403);
  }
  EXPECT_EQ(SignInFrom("127.0.0.2", web_->port(), "alice", kPassword, "192.0.2.9").status, 403)
      << "three failures from 127.0.0.2, whatever it said it forwarded";
}

TEST_F(WebGateway, WithoutATokenMetricsThroughAReverseProxyAreNotThisMachines) {
  StartWeb("reverse_proxies: [127.0.0.1]\n", "{failures: 3, minutes: 15}",
           /*metrics_token=*/false);
  Browser scraper(web_->port());
  EXPECT_EQ(scraper.Get("/metrics").status, 200) << "this machine's own scraper";
  EXPECT_EQ(scraper.Get("/metrics", {{"X-Forwarded-For", "203.0.113.7"}}).status, 401)
      << "a computer elsewhere, through the proxy on this machine";
  EXPECT_EQ(scraper.Get("/metrics", {{"X-Forwarded-For", "127.0.0.1"}}).status, 200)
      << "this machine's scraper through the proxy";
}

TEST_F(WebGateway, WrongPasswordsLockTheAccountAndBadBodiesAreRefusedWithAReason) {
  StartWeb();
  Browser b(web_->port());
  EXPECT_EQ(b.SignIn("bob", "wrong one").status, 403);
  EXPECT_EQ(b.SignIn("mallory", kPassword).status, 403) << "an unknown name";
  EXPECT_EQ(b.SignIn("bob", "wrong two").status, 403);
  Answer third = b.SignIn("bob", "wrong three");
  EXPECT_EQ(third.status, 403);
  EXPECT_NE(third.text.find("locked"), std::string::npos) << third.text;
  Answer right = b.SignIn("bob", kPassword);
  EXPECT_EQ(right.status, 403) << "locked, whatever the password";
  EXPECT_NE(right.text.find("locked"), std::string::npos);
  EXPECT_EQ(SignedIn("alice").Get("/api/me").status, 200) << "another account is not locked";
  // Not JSON, not an object, a missing field, a form post: each named.
  Answer form = b.Send("POST", "/api/sign-in", "account=alice&password=x", {},
                       "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 400);
  EXPECT_NE(form.text.find("application/json"), std::string::npos);
  EXPECT_EQ(b.Send("POST", "/api/sign-in", "{not json", {}).status, 400);
  Answer missing = b.Send("POST", "/api/sign-in", R"({"account": "alice"})", {});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["error"]["violations"][0]["field"], "password");
  EXPECT_EQ(b.Send("POST", "/api/sign-in", std::string(100000, 'x'), {}).status, 413) << "oversize";
  // Nothing of what was typed reaches the log.
  EXPECT_EQ(web_->log().find("mallory"), std::string::npos);
  EXPECT_EQ(web_->log().find("wrong"), std::string::npos);
}

TEST_F(WebGateway, ADutyWorkerSeesActsOnAndTransfersOnlyHerOwnInboxesItems) {
  StartWeb();
  Browser alice = SignedIn("alice");
  Answer list = alice.Get("/api/inboxes/hv-north");
  ASSERT_EQ(list.status, 200) << list.text;
  ASSERT_EQ(list.body["items"].size(), 2u);
  EXPECT_EQ(list.body["items"][0]["priority"], "IMMEDIATE") << "earliest due first";
  EXPECT_EQ(list.body["now"], "2026-11-23T16:00:00Z") << "the broker's (simulated) time";
  EXPECT_EQ(alice.Get("/api/inboxes/hv-south").status, 403);
  EXPECT_EQ(alice.Get("/api/inboxes/no-such-inbox").status, 404);

  const std::string mine = delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json");
  const std::string bobs = delivery_.at("hv-south/mash-request-home-visit.json");
  // Opening is audited: a link from another site (no CSRF token) opens nothing.
  Answer forged = alice.GetWithoutToken("/api/items/" + mine);
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(forged.text.find("Moss"), std::string::npos);
  Answer item = alice.Get("/api/items/" + mine);
  ASSERT_EQ(item.status, 200);
  EXPECT_EQ(item.body["history"].size(), 2u)
      << "delivered, and this one opening: the forged one left no trace";
  EXPECT_EQ(item.body["notification"]["child"]["family_name"], "Moss") << "the whole form, for her";
  EXPECT_EQ(item.body["notification"]["father_status"], "RECORDED");
  EXPECT_EQ(item.body["history"].back()["event"], "OPENED");
  EXPECT_EQ(item.body["history"].back()["by"], "alice") << "audited as alice, not as the gateway";
  EXPECT_EQ(item.body["history"].back()["via"], "web") << "and that it came through the web pages";
  EXPECT_TRUE(item.body["history"].front()["via"].is_null())
      << "the hub's own delivery came through nothing";
  Answer theirs = alice.Get("/api/items/" + bobs);
  EXPECT_EQ(theirs.status, 403);
  EXPECT_EQ(theirs.text.find("Price"), std::string::npos);
  EXPECT_EQ(alice.Get("/api/items/00000000-0000-4000-8000-000000000000").status, 404);

  // Acknowledge: the token is required; a note is required; then it is done, once.
  EXPECT_EQ(
      alice.Post("/api/items/" + mine + "/acknowledge", {{"note", "Visiting today"}}, false).status,
      403);
  Answer empty = alice.Post("/api/items/" + mine + "/acknowledge", {{"note", "  "}});
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body["error"]["violations"][0]["field"], "note");
  EXPECT_EQ(alice.Post("/api/items/" + mine + "/acknowledge", {{"note", 42}}).status, 400)
      << "wrong type";
  Answer ack = alice.Post("/api/items/" + mine + "/acknowledge", {{"note", "Visiting today"}});
  ASSERT_EQ(ack.status, 200) << ack.text;
  EXPECT_EQ(ack.body["acknowledged_by"], "alice");
  Answer again = alice.Post("/api/items/" + mine + "/acknowledge", {{"note", "Visiting today"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.body["already_acknowledged"].get<bool>())
      << "a replayed acknowledgement changes nothing";
  EXPECT_EQ(alice.Post("/api/items/" + bobs + "/acknowledge", {{"note", "not mine"}}).status, 403);
  EXPECT_EQ(alice.Get("/api/inboxes/hv-north").body["items"].size(), 1u);
  // The broker's own record: acknowledged by alice, through the gateway.
  EXPECT_EQ(
      broker_
          ->Cli("gwh-ed", {"status", notification_.at("hospital-liaison-non-mobile-injury.json")})
          .Json()["deliveries"][0]["acknowledged_by"],
      "alice");
  // At the command line the same person's opening says no gateway; the chain holds both.
  json shown = broker_->Cli("alice", {"show", mine}).Json();
  EXPECT_TRUE(shown["history"].back()["via"].is_null()) << shown["history"].back();
  EXPECT_EQ(shown["history"][shown["history"].size() - 2]["event"], "ACKNOWLEDGED");
  EXPECT_EQ(shown["history"][shown["history"].size() - 2]["via"], "web");
  json verify = broker_->Cli("frank", {"audit", "verify"}).Json();
  EXPECT_TRUE(verify["intact"].get<bool>()) << verify;

  // Transfer the other one: to a real inbox with a reason, or refused with what is wrong.
  const std::string scbu = delivery_.at("hv-north/scbu-discharge-mental-health-no-meeting.json");
  EXPECT_EQ(alice
                .Post("/api/items/" + scbu + "/transfer",
                      {{"to_inbox", "hv-south"}, {"reason", "moved"}}, false)
                .status,
            403);
  EXPECT_EQ(alice.Post("/api/items/" + scbu + "/transfer", {{"to_inbox", "hv-south"}}).status, 400);
  EXPECT_EQ(alice
                .Post("/api/items/" + scbu + "/transfer",
                      {{"to_inbox", "hv-nowhere"}, {"reason", "moved"}})
                .status,
            404);
  Answer moved = alice.Post("/api/items/" + scbu + "/transfer",
                            {{"to_inbox", "hv-south"}, {"reason", "family moved south"}});
  ASSERT_EQ(moved.status, 200) << moved.text;
  EXPECT_EQ(moved.body["inbox"], "hv-south");
  EXPECT_EQ(alice.Get("/api/inboxes/hv-north").body["items"].size(), 0u);
  EXPECT_EQ(SignedIn("bob").Get("/api/inboxes/hv-south").body["items"].size(), 2u);
}

TEST_F(WebGateway, ManagersSeeTheirInboxesFiguresAndTheReportOthersDoNot) {
  StartWeb();
  CommandResult later = broker_->Cli("frank", {"admin", "advance-clock", "20m"});
  ASSERT_EQ(later.exit_code, 0) << later.err;
  Browser dan = SignedIn("dan");
  Answer summary = dan.Get("/api/manager");
  ASSERT_EQ(summary.status, 200) << summary.text;
  std::set<std::string> inboxes;
  for (const auto& i : summary.body["inboxes"]) inboxes.insert(i["inbox"].get<std::string>());
  EXPECT_EQ(inboxes, (std::set<std::string>{"hv-north", "hv-south", "school-nursing"}));
  ASSERT_EQ(summary.body["overdue"].size(), 1u) << summary.text;
  EXPECT_EQ(summary.body["overdue"][0]["delivery_id"],
            delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json"));
  EXPECT_EQ(summary.body["overdue"][0]["escalation_level"], 1);
  for (const auto& i : summary.body["inboxes"]) {
    if (i["inbox"] == "hv-north") {
      EXPECT_EQ(i["outstanding"], 2);
      EXPECT_EQ(i["overdue"], 1);
      EXPECT_EQ(i["by_level"], json({{"0", 1}, {"1", 1}})) << i;
    }
  }
  EXPECT_TRUE(summary.body["last_7_days"]["inboxes"].is_array());
  EXPECT_TRUE(summary.body["last_30_days"]["inboxes"].is_array());
  Answer csv = dan.Get("/api/report.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("Content-Type").rfind("text/csv", 0), 0u);
  EXPECT_NE(csv.Header("Content-Disposition").find("attachment"), std::string::npos);
  EXPECT_NE(csv.text.find("hv-north"), std::string::npos);
  EXPECT_EQ(csv.text.find("mash,"), std::string::npos) << "dan does not manage the MASH";
  // Managers read the status of what reached their inboxes; others do not.
  EXPECT_EQ(
      dan.Get("/api/notifications/" + notification_.at("hospital-liaison-non-mobile-injury.json"))
          .status,
      200);
  Browser alice = SignedIn("alice");
  for (const std::string& path :
       {std::string("/api/manager"), std::string("/api/report.csv"),
        "/api/notifications/" + notification_.at("hospital-liaison-non-mobile-injury.json")}) {
    EXPECT_EQ(alice.Get(path).status, 403) << path;
  }
  EXPECT_EQ(dan.Get("/api/inboxes/mash").status, 403);
}

TEST_F(WebGateway, AgencyStaffFindTheirOwnNotificationsReceiptsAndNothingElse) {
  StartWeb();
  Browser staff = SignedIn("gwh-ed-liaison");
  Answer me = staff.Get("/api/me");
  EXPECT_EQ(me.body["kind"], "agency");
  Answer status = staff.Get("/api/notifications/" +
                            notification_.at("hospital-liaison-non-mobile-injury.json"));
  ASSERT_EQ(status.status, 200) << status.text;
  std::set<std::string> inboxes;
  for (const auto& d : status.body["deliveries"]) inboxes.insert(d["inbox"].get<std::string>());
  EXPECT_EQ(inboxes, (std::set<std::string>{"hv-north", "mash"}));
  EXPECT_EQ(staff
                .Get("/api/notifications/" +
                     notification_.at("scbu-discharge-mental-health-no-meeting.json"))
                .status,
            404)
      << "another agency's notification is not found";
  EXPECT_EQ(staff.Get("/api/notifications/not-an-id").status, 404);
  for (const std::string& path :
       {std::string("/api/inboxes/hv-north"),
        "/api/items/" + delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json"),
        std::string("/api/manager"), std::string("/api/report.csv")}) {
    Answer a = staff.Get(path);
    EXPECT_EQ(a.status, 403) << path;
    EXPECT_EQ(a.text.find("Moss"), std::string::npos) << path;
  }
  EXPECT_EQ(
      staff
          .Post("/api/items/" + delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json") +
                    "/acknowledge",
                {{"note", "x"}})
          .status,
      403);
}

TEST_F(WebGateway, ANewItemReachesTheLivePageOfItsInboxOnly) {
  StartWeb();
  Browser alice = SignedIn("alice");
  Browser bob = SignedIn("bob");
  std::mutex mu;  // the streams append while the test reads
  auto stream = [&](const Browser& who, std::string& into, std::atomic<bool>& stop) {
    httplib::Client client("127.0.0.1", web_->port());
    client.set_read_timeout(std::chrono::seconds(20));
    client.Get("/api/events", {{"Cookie", who.cookie()}}, [&](const char* data, size_t size) {
      std::lock_guard lock(mu);
      into.append(data, size);
      return !stop.load();
    });
  };
  auto seen = [&](const std::string& of, const std::string& text) {
    std::lock_guard lock(mu);
    return of.find(text) != std::string::npos;
  };
  std::string alices, bobs;
  std::atomic<bool> stop{false};
  std::thread a([&] { stream(alice, alices, stop); });
  std::thread b([&] { stream(bob, bobs, stop); });
  // The feed asks the broker to watch once a page subscribes; give it that moment, then
  // send again until the event arrives (a send before the watch started is not an event).
  std::string body = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
  int n = 0;
  bool arrived = Eventually(
      [&] {
        std::string copy = body;
        char id[40];
        std::snprintf(id, sizeof id, "6f1c2a7e-3b4d-4e5f-8a9b-%012d", ++n);
        copy.replace(copy.find("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01"), 36, id);
        std::ofstream(dir_.path() / "again.json") << copy;
        broker_->Cli("gwh-ed", {"send", (dir_.path() / "again.json").string()});
        return seen(alices, "\"inbox\":\"hv-north\"");
      },
      15000);
  stop = true;
  // Wake both streams so they notice: one more item for hv-north, and one for hv-south.
  std::string copy = body;
  copy.replace(copy.find("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01"), 36,
               "6f1c2a7e-3b4d-4e5f-8a9b-999999999999");
  std::ofstream(dir_.path() / "again.json") << copy;
  broker_->Cli("gwh-ed", {"send", (dir_.path() / "again.json").string()});
  std::string south = ReadFile(SamplePath("mash-request-home-visit.json"));
  south.replace(south.find("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a03"), 36,
                "6f1c2a7e-3b4d-4e5f-8a9b-999999999998");
  std::ofstream(dir_.path() / "south.json") << south;
  broker_->Cli("northshire-mash", {"send", (dir_.path() / "south.json").string()});
  a.join();
  b.join();
  EXPECT_TRUE(arrived) << alices;
  EXPECT_NE(alices.find("event: item"), std::string::npos);
  EXPECT_NE(alices.find("\"event\":\"NEW\""), std::string::npos);
  EXPECT_EQ(alices.find("Moss"), std::string::npos) << "events carry ids only";
  EXPECT_EQ(bobs.find("hv-north"), std::string::npos) << "bob is not told of hv-north's items";
  EXPECT_NE(bobs.find("\"inbox\":\"hv-south\""), std::string::npos)
      << "but of his own inbox's: " << bobs;
}

TEST_F(WebGateway, MetricsWantTheTokenAndCountPublishesRejectionsAndOutstandingItems) {
  StartWeb();
  CommandResult bad =
      broker_->Cli("gwh-ed", {"send", SamplePath("invalid-nhs-number.json").string()});
  EXPECT_EQ(bad.exit_code, 3);
  // Keys that are no field of the form, which a sender may misspell without end, count under
  // one label: the series stay few, and no key is quoted.
  for (const std::string key : {"nicknamea", "nicknameb"}) {
    std::string form = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
    form.replace(form.find("\"summary\":"), 10, "\"" + key + "\": 1, \"summary\":");
    std::ofstream(dir_.path() / (key + ".json")) << form;
    EXPECT_EQ(broker_->Cli("gwh-ed", {"send", (dir_.path() / (key + ".json")).string()}).exit_code,
              3);
  }
  Browser scraper(web_->port());
  EXPECT_EQ(scraper.Get("/metrics").status, 401);
  EXPECT_EQ(
      scraper.Get("/metrics", {{"Authorization", "Bearer wrong-token-of-some-length"}}).status,
      401);
  Answer m = scraper.Get("/metrics", {{"Authorization", "Bearer a-metrics-token-of-some-length"}});
  ASSERT_EQ(m.status, 200) << m.text;
  EXPECT_NE(m.text.find("dutyhub_publishes_total 4\n"), std::string::npos) << m.text;
  EXPECT_NE(m.text.find("dutyhub_rejections_total{reason=\"invalid\"} 3\n"), std::string::npos)
      << m.text;
  EXPECT_NE(m.text.find("dutyhub_rejected_fields_total{field=\"(not a field of the form)\"} 2\n"),
            std::string::npos)
      << m.text;
  EXPECT_EQ(m.text.find("nickname"), std::string::npos);
  EXPECT_NE(m.text.find("dutyhub_rejected_fields_total{field=\"child.nhs_number\"} 1\n"),
            std::string::npos)
      << m.text;
  EXPECT_NE(m.text.find("dutyhub_outstanding_items{inbox=\"hv-north\",level=\"0\"} 2\n"),
            std::string::npos)
      << m.text;
  EXPECT_NE(m.text.find("dutyhub_store_commit_seconds_count "), std::string::npos);
  EXPECT_NE(m.text.find("dutyhub_engine_lag_seconds "), std::string::npos);
  EXPECT_EQ(m.text.find("Moss"), std::string::npos);
  // An acknowledgement shows in the time-to-acknowledge histogram.
  Browser alice = SignedIn("alice");
  ASSERT_EQ(
      alice
          .Post("/api/items/" + delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json") +
                    "/acknowledge",
                {{"note", "seen"}})
          .status,
      200);
  m = scraper.Get("/metrics", {{"Authorization", "Bearer a-metrics-token-of-some-length"}});
  EXPECT_NE(m.text.find("dutyhub_time_to_acknowledge_seconds_count 1\n"), std::string::npos)
      << m.text;
}

TEST_F(WebGateway, LivePagesAreBoundedPerSessionSoEveryoneElseIsStillServed) {
  StartWeb();
  Browser alice = SignedIn("alice");
  std::atomic<bool> stop{false};
  std::vector<std::thread> streams;
  std::atomic<int> refused{0};
  for (int i = 0; i < 6; ++i) {
    streams.emplace_back([&] {
      httplib::Client client("127.0.0.1", web_->port());
      client.set_read_timeout(std::chrono::seconds(20));
      auto res = client.Get("/api/events", {{"Cookie", alice.cookie()}},
                            [&](const char*, size_t) { return !stop.load(); });
      if (res && res->status == 503) refused.fetch_add(1);
    });
  }
  EXPECT_TRUE(Eventually([&] { return refused.load() == 2; }, 10000))
      << "4 streams a session, the rest refused";
  EXPECT_EQ(SignedIn("bob").Get("/api/inboxes/hv-south").status, 200) << "others are still served";
  stop = true;
  // One more event ends the held streams' waits.
  broker_->Cli("gwh-ed", {"send", SamplePath("hospital-liaison-school-age.json").string()});
  std::string copy = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
  copy.replace(copy.find("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01"), 36,
               "6f1c2a7e-3b4d-4e5f-8a9b-777777777777");
  std::ofstream(dir_.path() / "wake.json") << copy;
  broker_->Cli("gwh-ed", {"send", (dir_.path() / "wake.json").string()});
  for (auto& t : streams) t.join();
}

TEST_F(WebGateway, UnderTlsTheSessionCookieIsSecure) {
  const std::filesystem::path cert = dir_.path() / "web.crt", key = dir_.path() / "web.pem";
  CommandResult made =
      RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                  "-subj", "/CN=127.0.0.1", "-keyout", key.string(), "-out", cert.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::ofstream(dir_.path() / "web.yaml")
      << "listen: 127.0.0.1:0\nbroker: " << broker_->endpoint()
      << "\ngateway: web\nkey: " << (keys_ / "web.key").string()
      << "\naccounts: " << (dir_.path() / "accounts.yaml").string()
      << "\ntls: {certificate: " << cert.string() << ", private_key: " << key.string() << "}\n";
  web_ = std::make_unique<AdapterProcess>(DUTYHUB_WEB_BIN, dir_.path() / "web.yaml", "web",
                                          "dutyhub-web listening on https://127.0.0.1:");
  ASSERT_TRUE(web_->Start()) << web_->log();
  httplib::SSLClient client("127.0.0.1", web_->port());
  client.enable_server_certificate_verification(false);  // a certificate made for this test
  auto res = client.Post("/api/sign-in", json{{"account", "alice"}, {"password", kPassword}}.dump(),
                         "application/json");
  ASSERT_TRUE(res) << "no answer over TLS";
  EXPECT_EQ(res->status, 200) << res->body;
  const std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("Secure"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.rfind("__Host-dutyhub_session=", 0), 0u)
      << "no other host may plant it: " << cookie;
  // And the browser is told to come back over HTTPS only, on every answer.
  EXPECT_EQ(res->get_header_value("Strict-Transport-Security"), "max-age=31536000");
  auto page = client.Get("/sign-in");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Strict-Transport-Security"), "max-age=31536000");
  // And plain HTTP to the same port gets nothing.
  httplib::Client plain("127.0.0.1", web_->port());
  plain.set_read_timeout(std::chrono::seconds(3));
  auto in_clear = plain.Get("/healthz");
  EXPECT_TRUE(!in_clear || in_clear->status != 200);
}

TEST_F(WebGateway, ATrustedProxysUserHeaderSignsInItsConfiguredAccountOnly) {
  // The proxy's address as a socket taking both kinds would show it: the same computer as
  // this test's 127.0.0.1, so it is believed.
  StartWeb("trusted_proxy: {header: X-Remote-User, from: [\"::1\", \"::ffff:127.0.0.1\"]}\n");
  Browser sso(web_->port());
  Answer me = sso.Get("/api/me", {{"X-Remote-User", "dan"}});
  ASSERT_EQ(me.status, 200) << me.text;
  EXPECT_EQ(me.body["acts_as"], "dan");
  EXPECT_EQ(sso.Get("/api/manager", {{"X-Remote-User", "dan"}}).status, 200);
  // The session cookie it was given is dan's; another user's header starts their own.
  Answer other = sso.Get("/api/me", {{"X-Remote-User", "alice"}});
  EXPECT_EQ(other.body["acts_as"], "alice");
  EXPECT_EQ(Browser(web_->port()).Get("/api/me", {{"X-Remote-User", "mallory"}}).status, 401);
  // A page's own refresh starts no session from the header (a screen left open would be
  // signed in again each time its session ran out); someone clicking does.
  Browser screen(web_->port());
  EXPECT_EQ(screen
                .Get("/api/inboxes/hv-north",
                     {{"X-Remote-User", "alice"}, {"X-Dutyhub-Refresh", "background"}})
                .status,
            401);
  EXPECT_EQ(screen.Get("/api/inboxes/hv-north", {{"X-Remote-User", "alice"}}).status, 200);
  // Changes still need the CSRF token.
  Answer post =
      sso.Send("POST",
               "/api/items/" + delivery_.at("hv-north/hospital-liaison-non-mobile-injury.json") +
                   "/acknowledge",
               R"({"note": "x"})", {{"X-Remote-User", "alice"}});
  EXPECT_EQ(post.status, 403);
}

TEST_F(WebGateway, TheBrokerBelievesOnBehalfOfOnlyFromTheConfiguredGatewayKey) {
  auto call = [&](const std::string& key_name, const std::string& acting, v1::Request request) {
    auto keys = ReadKeyFile((keys_ / (key_name + ".key")).string());
    EXPECT_TRUE(keys.ok());
    auto broker_key = ReadPublicKey((keys_ / "broker.pub").string());
    HubClient client(broker_->endpoint(), "",
                     ClientKeys{keys->public_key, keys->secret_key, *broker_key});
    request.set_on_behalf_of(acting);
    auto reply = client.Call(request, std::chrono::seconds(5));
    EXPECT_TRUE(reply.ok());
    return reply.ok() ? reply->status().code() : v1::Status::INTERNAL;
  };
  v1::Request inbox;
  inbox.mutable_inbox()->set_inbox("hv-north");
  EXPECT_EQ(call("web", "alice", inbox), v1::Status::OK);
  EXPECT_EQ(call("bob", "alice", inbox), v1::Status::PERMISSION_DENIED)
      << "a person claiming to be another";
  EXPECT_EQ(call("gwh-ed", "alice", inbox), v1::Status::PERMISSION_DENIED)
      << "an agency claiming to be a person";
  EXPECT_EQ(call("web", "bob", inbox), v1::Status::PERMISSION_DENIED)
      << "the gateway acts only as bob may";
  EXPECT_EQ(call("web", "", inbox), v1::Status::PERMISSION_DENIED)
      << "the gateway itself reads no inbox";
  v1::Request clock;
  clock.mutable_advance_clock()->set_by_ms(3600000);
  EXPECT_EQ(call("web", "frank", clock), v1::Status::PERMISSION_DENIED)
      << "no administration through a gateway";
  v1::Request send;
  send.mutable_send()->set_notification_json(
      ReadFile(SamplePath("hospital-liaison-school-age.json")));
  EXPECT_EQ(call("web", "gwh-ed", send), v1::Status::PERMISSION_DENIED)
      << "a web page never publishes";
  EXPECT_EQ(call("web", "", send), v1::Status::PERMISSION_DENIED);
  EXPECT_EQ(broker_->Cli("sam", {"inbox", "school-nursing"}).Json()["items"].size(), 1u)
      << "nothing was stored";
}

}  // namespace
}  // namespace dutyhub::testing
