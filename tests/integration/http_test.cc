// The HTTP adapter end to end: real dutyhub-http processes, one per agency as in real life,
// each with its own outbox in a temporary folder, in front of a real dutyhub-broker
// (--insecure-dev, the Northshire configuration, a simulated Monday afternoon), spoken to
// with an HTTP client as an agency system would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

constexpr const char* kMondayAfternoon = "2026-11-23T16:00:00Z";
// The outbox sends, and fetches receipts every second, in the background: poll, bounded.
constexpr int kWaitMs = 15000;

struct Expected {
  std::string file;
  std::string sender;
  std::string priority;
  std::set<std::string> inboxes;  // every inbox it must reach, exactly
};

// samples/README.md under the Northshire configuration, in office hours.
const std::vector<Expected> kValidSamples = {
    {"hospital-liaison-non-mobile-injury.json", "gwh-ed", "IMMEDIATE", {"hv-north", "mash"}},
    {"hospital-liaison-school-age.json", "gwh-ed", "ROUTINE", {"school-nursing"}},
    {"mash-request-home-visit.json", "northshire-mash", "URGENT", {"hv-south"}},
    {"mash-request-gp-information.json", "northshire-mash", "ROUTINE", {"gp-J81034"}},
    {"scbu-discharge-mental-health-no-meeting.json",
     "gwh-scbu",
     "URGENT",
     {"hv-north", "gp-J81012", "perinatal-mh"}},
    {"scbu-discharge-unknown-area.json", "gwh-scbu", "ROUTINE", {"triage"}},
    {"mash-request-unborn-midwifery.json", "northshire-mash", "URGENT", {"triage"}},
};

const std::vector<std::string> kAgencies = {"gwh-ed", "gwh-scbu", "northshire-mash"};

struct HttpAnswer {
  int status = 0;  // 0: no answer at all
  json body;
  std::string content_type;
};

HttpAnswer Call(int port, const std::string& method, const std::string& path,
                const std::string& body = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  httplib::Result res =
      method == "POST" ? client.Post(path, body, "application/json") : client.Get(path);
  HttpAnswer answer;
  if (!res) return answer;
  answer.status = res->status;
  answer.body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  answer.content_type = res->get_header_value("Content-Type");
  return answer;
}

// One dutyhub-http process.
class HttpAdapter : public AdapterProcess {
 public:
  explicit HttpAdapter(std::filesystem::path config)
      : AdapterProcess(DUTYHUB_HTTP_BIN, std::move(config), "http",
                       "listening on http://127.0.0.1:") {}

  HttpAnswer Post(const std::string& body) const {
    return Call(port(), "POST", "/v1/notifications", body);
  }
  HttpAnswer Receipt(const std::string& id) const {
    return Call(port(), "GET", "/v1/notifications/" + id);
  }

  // Polls the receipt until `done` holds; the last receipt either way.
  json WaitForReceipt(const std::string& id, const std::function<bool(const json&)>& done) const {
    json last;
    Eventually(
        [&] {
          HttpAnswer answer = Receipt(id);
          last = answer.body;
          return answer.status == 200 && done(last);
        },
        kWaitMs);
    return last;
  }
};

// The agency system's end of the callback: records every POST it is sent.
class CallbackReceiver {
 public:
  CallbackReceiver() {
    server_.Post("/receipts", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(json::parse(req.body, nullptr, /*allow_exceptions=*/false));
      content_types_.push_back(req.get_header_value("Content-Type"));
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing to a server not yet running.
    Eventually([this] { return server_.is_running(); }, 5000);
  }
  ~CallbackReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/receipts"; }
  std::vector<json> Received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  std::vector<std::string> ContentTypes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<json> received_;
  std::vector<std::string> content_types_;
};

// The receipt's copy in `inbox`, or null.
json DeliveryIn(const json& receipt, const std::string& inbox) {
  if (!receipt.is_object() || !receipt.contains("deliveries")) return nullptr;
  for (const auto& d : receipt["deliveries"]) {
    if (d["inbox"] == inbox) return d;
  }
  return nullptr;
}

class HttpAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(
        ConfigPath("northshire.yaml"), dir_.path() / "data",
        std::vector<std::string>{"--simulated-clock", kMondayAfternoon});
    ASSERT_TRUE(broker_->Start()) << broker_->log();
  }

  std::filesystem::path WriteConfig(const std::string& agency,
                                    const std::string& callback_url = "") {
    std::filesystem::path path = dir_.path() / (agency + ".yaml");
    std::ofstream out(path);
    out << "agency: " << agency << "\n"
        << "broker: " << broker_->endpoint() << "\n"
        << "insecure_as: " << agency << "\n"
        << "outbox: " << (dir_.path() / (agency + "-outbox.sqlite")).string() << "\n"
        << "listen: 127.0.0.1:0\n";
    if (!callback_url.empty()) out << "callback_url: " << callback_url << "\n";
    return path;
  }

  HttpAdapter& StartAdapter(const std::string& agency, const std::string& callback_url = "") {
    auto adapter = std::make_unique<HttpAdapter>(WriteConfig(agency, callback_url));
    EXPECT_TRUE(adapter->Start()) << adapter->log();
    adapters_[agency] = std::move(adapter);
    return *adapters_[agency];
  }

  // How many items in `inbox` carry `notification_id` (frank manages every inbox).
  int CountIn(const std::string& inbox, const std::string& notification_id) const {
    json listed = broker_->Cli("frank", {"inbox", inbox, "--all"}).Json();
    int count = 0;
    if (!listed.contains("items")) return -1;
    for (const auto& item : listed["items"]) count += item["notification_id"] == notification_id;
    return count;
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::map<std::string, std::unique_ptr<HttpAdapter>> adapters_;
};

TEST_F(HttpAdapterTest, EverySampleThroughItsAgencysAdapterReachesItsInboxesOnce) {
  for (const std::string& agency : kAgencies) StartAdapter(agency);
  std::map<std::string, std::string> ids;  // file -> id
  for (const Expected& e : kValidSamples) {
    SCOPED_TRACE(e.file);
    HttpAnswer answer = adapters_[e.sender]->Post(ReadFile(SamplePath(e.file)));
    ASSERT_EQ(answer.status, 202) << answer.body.dump();
    EXPECT_EQ(answer.content_type, "application/json");
    EXPECT_EQ(answer.body["id"], json::parse(ReadFile(SamplePath(e.file)))["id"]);
    EXPECT_EQ(answer.body["duplicate"], false);
    EXPECT_TRUE(answer.body["state"] == "PENDING" || answer.body["state"] == "SENT")
        << answer.body.dump();
    ids[e.file] = answer.body["id"];
  }
  for (const Expected& e : kValidSamples) {
    SCOPED_TRACE(e.file);
    const std::string& id = ids[e.file];
    for (const std::string& inbox : e.inboxes) {
      EXPECT_TRUE(Eventually([&] { return CountIn(inbox, id) == 1; }, kWaitMs))
          << "never reached " << inbox;
    }
    // The receipt says the same, once the outbox has fetched it from the broker.
    HttpAdapter& adapter = *adapters_[e.sender];
    json receipt = adapter.WaitForReceipt(
        id, [](const json& r) { return r["state"] == "SENT" && r.contains("deliveries"); });
    ASSERT_EQ(receipt["state"], "SENT") << receipt.dump();
    EXPECT_EQ(receipt["id"], id);
    EXPECT_EQ(receipt["from"], e.sender);
    EXPECT_EQ(receipt["priority"], e.priority);
    EXPECT_GE(receipt["attempts"].get<int>(), 1);
    std::set<std::string> inboxes;
    for (const auto& d : receipt["deliveries"]) {
      inboxes.insert(d["inbox"].get<std::string>());
      EXPECT_EQ(d["state"], "DELIVERED");
      EXPECT_TRUE(d["acknowledged_by"].is_null());
    }
    EXPECT_EQ(inboxes, e.inboxes);

    // A retry is the same 202, marked a duplicate, and makes no second item.
    HttpAnswer again = adapter.Post(ReadFile(SamplePath(e.file)));
    EXPECT_EQ(again.status, 202);
    EXPECT_EQ(again.body["id"], id);
    EXPECT_EQ(again.body["duplicate"], true);
    EXPECT_EQ(again.body["state"], "SENT");
  }
  for (const Expected& e : kValidSamples) {
    for (const std::string& inbox : e.inboxes)
      EXPECT_EQ(CountIn(inbox, ids[e.file]), 1) << e.file << " in " << inbox;
  }

  // SIGTERM stops it cleanly; started again on the same outbox, it still knows every
  // notification, and a retry is still a duplicate.
  HttpAdapter& ed = *adapters_["gwh-ed"];
  ASSERT_EQ(ed.Stop(), 0) << ed.log();
  HttpAdapter& restarted = StartAdapter("gwh-ed");
  const std::string first = ids[kValidSamples[0].file];
  HttpAnswer again = restarted.Post(ReadFile(SamplePath(kValidSamples[0].file)));
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body["duplicate"], true);
  EXPECT_EQ(again.body["state"], "SENT");
  EXPECT_EQ(restarted.Receipt(first).body["from"], "gwh-ed");
  EXPECT_EQ(CountIn("hv-north", first), 1);

  for (const std::string& agency : kAgencies) {
    HttpAdapter& adapter = *adapters_[agency];
    EXPECT_EQ(adapter.Stop(), 0) << agency;
    ExpectNoPersonalDetails(adapter.log(), "the adapter log");
  }
  EXPECT_NE(adapters_["gwh-scbu"]->log().find("accepted notification"), std::string::npos)
      << "the log does say what happened";
}

TEST_F(HttpAdapterTest, TheSameIdWithOtherContentsIsRefusedAndTheFirstStands) {
  HttpAdapter& adapter = StartAdapter("gwh-ed");
  const std::string text = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
  const json form = json::parse(text);
  const std::string id = form["id"];
  ASSERT_EQ(adapter.Post(text).status, 202);
  // Written differently, the same notification: a retry.
  json respelt = form;
  respelt["child"]["nhs_number"] = "9993395633";
  HttpAnswer retry = adapter.Post(respelt.dump());
  EXPECT_EQ(retry.status, 202) << retry.body.dump();
  EXPECT_EQ(retry.body["duplicate"], true);
  // Other contents under its id: refused naming the id, so the sender knows it is not sent.
  json corrected = form;
  corrected["summary"] = "Corrected: the bruise is on the right side of the neck.";
  HttpAnswer refused = adapter.Post(corrected.dump());
  ASSERT_EQ(refused.status, 400) << refused.body.dump();
  const json& error = refused.body["error"];
  EXPECT_EQ(error["code"], "INVALID_ARGUMENT");
  ASSERT_EQ(error["violations"].size(), 1u) << refused.body.dump();
  EXPECT_EQ(error["violations"][0]["field"], "id");
  EXPECT_NE(error["message"].get<std::string>().find("needs an id of its own"), std::string::npos);
  // A higher priority is other contents too (the adapter routes nothing), and a form that
  // also breaks a rule hears every reason at once.
  json raised = form;
  raised["priority"] = "IMMEDIATE";
  HttpAnswer higher = adapter.Post(raised.dump());
  EXPECT_EQ(higher.status, 400) << higher.body.dump();
  json broken = corrected;
  broken["child"]["nhs_number"] = "9993395634";  // a wrong check digit
  HttpAnswer both = adapter.Post(broken.dump());
  ASSERT_EQ(both.status, 400) << both.body.dump();
  std::set<std::string> fields;
  for (const auto& v : both.body["error"]["violations"]) fields.insert(v["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"id", "child.nhs_number"})) << both.body.dump();
  // The first reaches its inbox, once, with what it said.
  ASSERT_TRUE(Eventually([&] { return CountIn("hv-north", id) == 1; }, kWaitMs));
  json listed = broker_->Cli("frank", {"inbox", "hv-north", "--all"}).Json();
  ASSERT_EQ(listed["items"].size(), 1u);
  json shown = broker_->Cli("frank", {"show", listed["items"][0]["delivery_id"]}).Json();
  EXPECT_EQ(shown["notification"]["summary"], form["summary"]);
  EXPECT_EQ(adapter.Stop(), 0) << adapter.log();
}

// 202 is "in the outbox"; the hub may still refuse the form when it is sent on (the MASH's
// system may not send a liaison form). The receipt says so, and so does a retry: the hub's
// refusal (403 here), not 202 "duplicate".
TEST_F(HttpAdapterTest, ARetryOfAFormTheHubRefusedHearsTheRefusal) {
  HttpAdapter& mash = StartAdapter("northshire-mash");
  const std::string text = ReadFile(SamplePath("hospital-liaison-school-age.json"));
  ASSERT_EQ(mash.Post(text).status, 202);
  HttpAnswer retry;
  ASSERT_TRUE(Eventually(
      [&] {
        retry = mash.Post(text);
        return retry.status != 202;
      },
      kWaitMs))
      << retry.body.dump();
  EXPECT_EQ(retry.status, 403) << retry.body.dump();
  EXPECT_EQ(retry.body["error"]["code"], "PERMISSION_DENIED") << retry.body.dump();
  EXPECT_NE(retry.body["error"]["message"].get<std::string>().find("the hub refused notification"),
            std::string::npos)
      << retry.body.dump();
  EXPECT_EQ(CountIn("school-nursing", json::parse(text)["id"]), 0);
  EXPECT_EQ(mash.Stop(), 0) << mash.log();
}

// STYLE.md: after a failed fsync what is on disk is unknown, so nothing more is confirmed
// until a restart, at the adapter's outbox as at the broker. (The failure is injected with
// tests/fault/fail_fsync.cc, preloaded into the adapter alone.)
TEST_F(HttpAdapterTest, AFailedFsyncOfTheOutboxStopsEveryAcceptanceUntilRestart) {
  const std::filesystem::path trigger = dir_.path() / "fail-fsync-now";
  setenv("LD_PRELOAD", DUTYHUB_FAIL_FSYNC_LIB, 1);
  setenv("DUTYHUB_FAIL_FSYNC_WHEN", trigger.c_str(), 1);
  auto adapter = std::make_unique<HttpAdapter>(WriteConfig("gwh-ed"));
  const bool started = adapter->Start();
  unsetenv("LD_PRELOAD");
  unsetenv("DUTYHUB_FAIL_FSYNC_WHEN");
  ASSERT_TRUE(started) << adapter->log();
  Notifications notifications;
  auto post = [&](HttpAdapter& to, int n) {
    return to.Post(notifications.With(Notifications::Id(7, n)));
  };
  ASSERT_EQ(post(*adapter, 0).status, 202);
  std::ofstream(trigger) << "now\n";
  HttpAnswer failed = post(*adapter, 1);
  EXPECT_EQ(failed.status, 503) << failed.body.dump();
  std::filesystem::remove(trigger);
  // The disk "works" again, but after a failed sync its state is unknown: still nothing.
  for (int n = 2; n < 4; ++n) {
    HttpAnswer refused = post(*adapter, n);
    EXPECT_EQ(refused.status, 503) << n;
    EXPECT_NE(refused.body.dump().find("until it is restarted"), std::string::npos)
        << refused.body.dump();
  }
  EXPECT_NE(adapter->log().find("nothing more is accepted until the adapter is restarted"),
            std::string::npos);
  adapter->Stop();
  // Restarted: it accepts again, and what it confirmed before reaches its inbox.
  HttpAdapter& restarted = StartAdapter("gwh-ed");
  EXPECT_EQ(post(restarted, 2).status, 202);
  EXPECT_TRUE(
      Eventually([&] { return CountIn("school-nursing", Notifications::Id(7, 0)) == 1; }, kWaitMs));
  EXPECT_TRUE(
      Eventually([&] { return CountIn("school-nursing", Notifications::Id(7, 2)) == 1; }, kWaitMs));
  EXPECT_EQ(restarted.Stop(), 0) << restarted.log();
}

TEST_F(HttpAdapterTest, InvalidSamplesAreRefusedAtTheAdapterWithTheBrokersViolations) {
  for (const std::string& agency : kAgencies) StartAdapter(agency);
  struct Case {
    std::string file, sender;
  };
  for (const Case& c :
       std::vector<Case>{{"invalid-nhs-number.json", "gwh-ed"},
                         {"invalid-father-recorded-but-absent.json", "northshire-mash"},
                         {"invalid-many-errors.json", "gwh-scbu"},
                         {"invalid-not-json.txt", "gwh-ed"}}) {
    SCOPED_TRACE(c.file);
    CommandResult at_broker = broker_->Cli(c.sender, {"send", SamplePath(c.file).string()});
    ASSERT_EQ(at_broker.exit_code, 3) << at_broker.err;
    std::set<std::string> broker_fields;
    for (const auto& v : at_broker.Json()["error"].value("violations", json::array())) {
      broker_fields.insert(v["field"].get<std::string>());
    }

    HttpAnswer answer = adapters_[c.sender]->Post(ReadFile(SamplePath(c.file)));
    ASSERT_EQ(answer.status, 400) << answer.body.dump();
    EXPECT_EQ(answer.content_type, "application/json");
    const json& error = answer.body["error"];
    EXPECT_EQ(error["code"], "INVALID_ARGUMENT");
    EXPECT_FALSE(error["message"].get<std::string>().empty());
    std::set<std::string> fields;
    for (const auto& v : error.value("violations", json::array())) {
      fields.insert(v["field"].get<std::string>());
      EXPECT_FALSE(v["description"].get<std::string>().empty());
    }
    EXPECT_EQ(fields, broker_fields);
    if (c.file != "invalid-not-json.txt") {
      EXPECT_FALSE(fields.empty());
      // Stored nowhere: the adapter has no receipt for it.
      std::string id = json::parse(ReadFile(SamplePath(c.file)))["id"];
      EXPECT_EQ(adapters_[c.sender]->Receipt(id).status, 404);
    }
  }

  // A value of the wrong shape and a key that is no field, which may be a child's name: both
  // named to the sender, the key's name never in the adapter's log.
  std::string misshapen = ReadFile(SamplePath("hospital-liaison-school-age.json"));
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"child\": {", "\"child\": {\"ava_moss\": 1, "}, {"\"ROUTINE\"", "\"HIGH\""}}) {
    misshapen.replace(misshapen.find(from), from.size(), to);
  }
  HttpAnswer shaped = adapters_["gwh-ed"]->Post(misshapen);
  ASSERT_EQ(shaped.status, 400) << shaped.body.dump();
  std::set<std::string> shaped_fields;
  for (const auto& v : shaped.body["error"]["violations"]) shaped_fields.insert(v["field"]);
  EXPECT_EQ(shaped_fields, (std::set<std::string>{"priority", "child.ava_moss"}))
      << shaped.body.dump();

  // Too large to be a notification; an id never accepted; not an endpoint.
  HttpAnswer large = adapters_["gwh-ed"]->Post(std::string(2 << 20, ' '));
  EXPECT_EQ(large.status, 413);
  EXPECT_EQ(large.body["error"]["code"], "INVALID_ARGUMENT");
  HttpAnswer unknown = adapters_["gwh-ed"]->Receipt("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(Call(adapters_["gwh-ed"]->port(), "GET", "/v2/elsewhere").status, 404);

  // Nothing reached any inbox, and every adapter still serves.
  for (const char* inbox :
       {"hv-north", "hv-south", "mash", "triage", "perinatal-mh", "gp-J81012"}) {
    EXPECT_EQ(broker_->Cli("frank", {"inbox", inbox, "--all"}).Json()["items"].size(), 0u) << inbox;
  }
  for (const std::string& agency : kAgencies) {
    HttpAdapter& adapter = *adapters_[agency];
    EXPECT_EQ(adapter.Receipt("00000000-0000-4000-8000-000000000000").status, 404);
    EXPECT_EQ(adapter.Stop(), 0) << agency;
    ExpectNoPersonalDetails(adapter.log(), "the adapter log");
    EXPECT_EQ(adapter.log().find("ava_moss"), std::string::npos) << adapter.log();
  }
  EXPECT_NE(adapters_["gwh-ed"]->log().find("priority, (not a field of the form)"),
            std::string::npos)
      << adapters_["gwh-ed"]->log();
}

TEST_F(HttpAdapterTest, AlicesAcknowledgementAppearsInTheReceiptAndReachesTheCallback) {
  CallbackReceiver receiver;
  HttpAdapter& ed = StartAdapter("gwh-ed", receiver.url());
  HttpAnswer accepted = ed.Post(ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json")));
  ASSERT_EQ(accepted.status, 202) << accepted.body.dump();
  const std::string id = accepted.body["id"];

  json receipt =
      ed.WaitForReceipt(id, [](const json& r) { return !DeliveryIn(r, "hv-north").is_null(); });
  json item = DeliveryIn(receipt, "hv-north");
  ASSERT_FALSE(item.is_null()) << receipt.dump();
  const std::string delivery_id = item["delivery_id"];

  ASSERT_EQ(broker_->Cli("alice", {"show", delivery_id}).exit_code, 0);
  broker_->Cli("alice", {"admin", "advance-clock", "5m"});
  CommandResult acked =
      broker_->Cli("alice", {"ack", delivery_id, "--note", "Visiting today at 2pm"});
  ASSERT_EQ(acked.exit_code, 0) << acked.err;
  const json ack = acked.Json();

  receipt = ed.WaitForReceipt(id, [](const json& r) {
    json copy = DeliveryIn(r, "hv-north");
    return copy.is_object() && copy["acknowledged_by"] == "alice";
  });
  item = DeliveryIn(receipt, "hv-north");
  ASSERT_FALSE(item.is_null()) << receipt.dump();
  EXPECT_EQ(item["state"], "ACKNOWLEDGED");
  EXPECT_EQ(item["acknowledged_by"], "alice");
  EXPECT_EQ(item["acknowledged_at"], ack["acknowledged_at"]);
  EXPECT_EQ(item["acknowledged_at"], "2026-11-23T16:05:00Z");
  EXPECT_EQ(item["note"], "Visiting today at 2pm");
  EXPECT_EQ(item["opened_by"], json::array({"alice"}));
  EXPECT_EQ(DeliveryIn(receipt, "mash")["state"], "DELIVERED")
      << "the MASH's copy is still outstanding";

  // The agency system was told without asking: a POST of the same receipt to its URL.
  json told;
  EXPECT_TRUE(Eventually(
      [&] {
        for (const json& body : receiver.Received()) {
          json copy = DeliveryIn(body, "hv-north");
          if (copy.is_object() && body["id"] == id && copy["acknowledged_by"] == "alice") {
            told = body;
            return true;
          }
        }
        return false;
      },
      kWaitMs))
      << receiver.Received().size() << " callbacks, none with alice's acknowledgement";
  EXPECT_EQ(DeliveryIn(told, "hv-north")["note"], "Visiting today at 2pm");
  EXPECT_EQ(DeliveryIn(told, "hv-north")["acknowledged_at"], "2026-11-23T16:05:00Z");
  EXPECT_EQ(told["state"], "SENT");
  EXPECT_EQ(told["from"], "gwh-ed");
  for (const std::string& type : receiver.ContentTypes()) EXPECT_EQ(type, "application/json");

  EXPECT_EQ(ed.Stop(), 0);
  ExpectNoPersonalDetails(ed.log(), "the adapter log");
}

TEST_F(HttpAdapterTest, HelpAndABadConfigurationStopBeforeListening) {
  CommandResult help = RunCommand({DUTYHUB_HTTP_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--config"), std::string::npos);
  EXPECT_EQ(RunCommand({DUTYHUB_HTTP_BIN}).exit_code, 2) << "--config is required";

  std::filesystem::path bad = dir_.path() / "bad.yaml";
  std::ofstream(bad) << "agency: gwh-ed\ninsecure_as: gwh-ed\noutbox: "
                     << (dir_.path() / "o.sqlite").string()
                     << "\nlisten: 127.0.0.1:0\nlisten_port: 80\n";
  CommandResult unknown_key = RunCommand({DUTYHUB_HTTP_BIN, "--config", bad.string()});
  EXPECT_EQ(unknown_key.exit_code, 2);
  EXPECT_NE(unknown_key.err.find(bad.string() + ":5: listen_port"), std::string::npos)
      << unknown_key.err;

  std::ofstream(bad) << "agency: gwh-ed\ninsecure_as: gwh-ed\noutbox: "
                     << (dir_.path() / "o.sqlite").string() << "\n";
  CommandResult no_listen = RunCommand({DUTYHUB_HTTP_BIN, "--config", bad.string()});
  EXPECT_EQ(no_listen.exit_code, 2);
  EXPECT_NE(no_listen.err.find("listen"), std::string::npos) << no_listen.err;

  std::ofstream(bad) << "agency: gwh-ed\ninsecure_as: gwh-ed\noutbox: "
                     << (dir_.path() / "o.sqlite").string()
                     << "\nlisten: 127.0.0.1:0\ncallback_url: ftp://example\n";
  CommandResult bad_callback = RunCommand({DUTYHUB_HTTP_BIN, "--config", bad.string()});
  EXPECT_EQ(bad_callback.exit_code, 2);
  EXPECT_NE(bad_callback.err.find("callback_url"), std::string::npos) << bad_callback.err;
}

}  // namespace
}  // namespace dutyhub::testing
