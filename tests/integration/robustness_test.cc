// What must survive: a kill -9 loses no confirmed notification or acknowledgement;
// garbage on the wire leaves the broker serving; a full pipeline is told to retry; a
// broken configuration stops the broker before it listens.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "hub.pb.h"
#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

constexpr const char* kMonday = "2026-11-23T16:00:00Z";

// The sample with a fresh id, so one sample can be sent many times as new notifications.
std::string WithId(const std::string& sample, int n) {
  std::string text = ReadFile(SamplePath(sample));
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return std::regex_replace(text, std::regex("\"id\": \"[0-9a-f-]+\""),
                            std::string("\"id\": \"") + id + "\"",
                            std::regex_constants::format_first_only);
}

TEST(Durability, KillNineLosesNothingConfirmed) {
  TempDir dir;
  auto start = [&] {
    auto broker =
        std::make_unique<BrokerProcess>(ConfigPath("northshire.yaml"), dir.path() / "data",
                                        std::vector<std::string>{"--simulated-clock", kMonday});
    EXPECT_TRUE(broker->Start()) << broker->log();
    return broker;
  };
  auto broker = start();
  std::vector<std::string> hv_north_items;
  for (int i = 1; i <= 20; ++i) {
    CommandResult r =
        broker->Cli("gwh-ed", {"send", "-"}, WithId("hospital-liaison-non-mobile-injury.json", i));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json sent = r.Json();
    for (const auto& d : sent["deliveries"]) {
      if (d["inbox"] == "hv-north") hv_north_items.push_back(d["delivery_id"]);
    }
  }
  ASSERT_EQ(hv_north_items.size(), 20u);
  ASSERT_EQ(broker->Cli("alice", {"ack", hv_north_items[3], "--note", "Seen; visiting"}).exit_code,
            0);
  ASSERT_EQ(broker->Cli("alice", {"show", hv_north_items[4]}).exit_code, 0);
  broker->Kill9();

  broker = start();
  json all = broker->Cli("alice", {"inbox", "hv-north", "--all"}).Json();
  ASSERT_EQ(all["items"].size(), 20u);
  std::set<std::string> ids;
  for (const auto& item : all["items"]) ids.insert(item["delivery_id"]);
  EXPECT_EQ(ids, std::set<std::string>(hv_north_items.begin(), hv_north_items.end()));
  json acked = broker->Cli("alice", {"ack", hv_north_items[3], "--note", "again"}).Json();
  EXPECT_EQ(acked["already_acknowledged"], true);
  EXPECT_EQ(acked["note"], "Seen; visiting");
  json shown = broker->Cli("alice", {"show", hv_north_items[4]}).Json();
  EXPECT_EQ(shown["history"][1]["event"], "OPENED");
  // A retry after the crash is recognised as the notification already stored.
  CommandResult retry =
      broker->Cli("gwh-ed", {"send", "-"}, WithId("hospital-liaison-non-mobile-injury.json", 7));
  EXPECT_EQ(retry.Json()["duplicate"], true);
  EXPECT_EQ(broker->Stop(), 0) << "SIGTERM finishes cleanly";
  // The store holds children's details: readable by the broker's own account only.
  for (const char* name : {"dutyhub.sqlite", "dutyhub.sqlite-wal"}) {
    auto path = dir.path() / "data" / name;
    if (!std::filesystem::exists(path)) continue;
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << name;
  }
}

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ =
        std::make_unique<BrokerProcess>(ConfigPath("northshire.yaml"), dir_.path() / "data",
                                        std::vector<std::string>{"--simulated-clock", kMonday});
    ASSERT_TRUE(broker_->Start()) << broker_->log();
  }

  // A raw DEALER, as a broken or hostile client would have.
  zmq::socket_t Connect() {
    zmq::socket_t s(context_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(broker_->endpoint());
    return s;
  }

  static std::optional<v1::Reply> Receive(zmq::socket_t& s, int timeout_ms = 3000) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    zmq::message_t m;
    (void)s.recv(m);
    v1::Reply reply;
    if (!reply.ParseFromArray(m.data(), static_cast<int>(m.size()))) return std::nullopt;
    return reply;
  }

  bool StillServing() { return broker_->Cli("alice", {"inbox", "hv-north"}).exit_code == 0; }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  zmq::context_t context_;
};

TEST_F(WireTest, GarbageFramesGetAnErrorAndLeaveTheBrokerServing) {
  zmq::socket_t s = Connect();
  std::mt19937 random(42);
  for (int i = 0; i < 50; ++i) {
    std::string junk(1 + random() % 2000, '\0');
    for (char& c : junk) c = static_cast<char>(random());
    s.send(zmq::buffer(junk));
  }
  int answered = 0;
  while (auto reply = Receive(s, 2000)) {
    EXPECT_NE(reply->status().code(), v1::Status::OK);
    if (++answered == 50) break;
  }
  EXPECT_EQ(answered, 50) << "every request gets an answer, garbage included";

  s.send(zmq::message_t(), zmq::send_flags::none);  // empty
  auto empty = Receive(s);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status().code(), v1::Status::INVALID_ARGUMENT);

  std::vector<zmq::message_t> frames;
  for (int i = 0; i < 100; ++i) frames.emplace_back(std::string("frame"));
  ASSERT_TRUE(zmq::send_multipart(s, frames));
  auto many = Receive(s);
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status().code(), v1::Status::INVALID_ARGUMENT);
  EXPECT_TRUE(StillServing());
}

TEST_F(WireTest, ASendWithoutANotificationIsToldWhichFieldToSet) {
  zmq::socket_t s = Connect();
  v1::Request request;
  request.set_correlation_id(7);
  request.set_as("gwh-ed");
  request.mutable_send();  // neither `notification` nor `notification_json`
  s.send(zmq::buffer(request.SerializeAsString()));
  auto reply = Receive(s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->correlation_id(), 7u);
  EXPECT_EQ(reply->status().code(), v1::Status::INVALID_ARGUMENT);
  ASSERT_EQ(reply->status().violations_size(), 1) << reply->status().message();
  EXPECT_EQ(reply->status().violations(0).field(), "notification");
  EXPECT_NE(reply->status().message().find("notification_json"), std::string::npos)
      << reply->status().message();
  EXPECT_TRUE(StillServing());
}

TEST_F(WireTest, EachPrincipalKeepsItsNewestWatchesOfAnInboxAndTheOldestGiveWay) {
  const auto watch = [&](const std::string& as, uint64_t correlation) {
    zmq::socket_t s = Connect();
    v1::Request request;
    request.set_correlation_id(correlation);
    request.set_as(as);
    request.mutable_watch()->set_inbox("hv-north");
    s.send(zmq::buffer(request.SerializeAsString()));
    auto started = Receive(s);
    EXPECT_TRUE(started && started->status().code() == v1::Status::OK);
    return s;
  };
  // Dan, who manages hv-north, watches first; then alice from twenty connections, as a
  // client reconnecting in a loop would (the broker cannot tell a dead one from a quiet one).
  zmq::socket_t dan = watch("dan", 100);
  std::vector<zmq::socket_t> alice;
  for (uint64_t i = 1; i <= 20; ++i) alice.push_back(watch("alice", i));
  ASSERT_EQ(
      broker_
          ->Cli("gwh-ed", {"send", SamplePath("hospital-liaison-non-mobile-injury.json").string()})
          .exit_code,
      0);
  auto to_dan = Receive(dan);
  ASSERT_TRUE(to_dan) << "another principal's watch gave way to alice's";
  EXPECT_TRUE(to_dan->has_event());
  EXPECT_EQ(to_dan->correlation_id(), 100u);
  for (size_t i = 4; i < alice.size(); ++i) {
    auto event = Receive(alice[i]);
    ASSERT_TRUE(event) << "alice's watch " << i + 1 << ", among her newest 16, got no event";
    EXPECT_EQ(event->correlation_id(), i + 1);
  }
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(Receive(alice[i], 300)) << "alice's watch " << i + 1 << " is still kept";
  }
  EXPECT_TRUE(StillServing());
}

// A watcher that does not read its events: once its queue is full the watch ends (said in
// the log), rather than going on with a silent gap. Renewed, as dutyhub watch renews it,
// it hears what it missed or that it may have missed some (Hub::Watch).
TEST_F(WireTest, AWatcherThatStopsReadingHasItsWatchEndedNotAGapInIt) {
  zmq::socket_t watcher(context_, zmq::socket_type::dealer);
  watcher.set(zmq::sockopt::linger, 0);
  watcher.set(zmq::sockopt::rcvhwm, 1);
  watcher.set(zmq::sockopt::rcvbuf, 1024);
  watcher.connect(broker_->endpoint());
  v1::Request watch;
  watch.set_correlation_id(1);
  watch.set_as("alice");
  watch.mutable_watch()->set_inbox("hv-north");
  watcher.send(zmq::buffer(watch.SerializeAsString()));
  ASSERT_TRUE(Receive(watcher));
  // Thousands of notifications for hv-north, in windows, while the watcher reads nothing.
  const std::string sample = ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json"));
  const std::string sample_id = json::parse(sample)["id"];
  // More than the broker's queue for the watcher (1,000) and the kernel's buffers between
  // them hold. Told to retry (the per-agency rate), each is sent again.
  zmq::socket_t sender = Connect();
  constexpr int kWindow = 64, kSent = 24000;
  int confirmed = 0, next = 0;
  std::vector<int> again;
  while (confirmed < kSent) {
    std::map<uint64_t, int> in_flight;
    for (int k = 0; k < kWindow && (!again.empty() || next < kSent); ++k) {
      int n = next;
      if (!again.empty()) {
        n = again.back();
        again.pop_back();
      } else {
        ++next;
      }
      v1::Request send;
      send.set_correlation_id(static_cast<uint64_t>(n) + 10);
      send.set_as("gwh-ed");
      std::string text = sample;
      text.replace(text.find(sample_id), sample_id.size(), Notifications::Id(9, n));
      send.mutable_send()->set_notification_json(text);
      sender.send(zmq::buffer(send.SerializeAsString()));
      in_flight[send.correlation_id()] = n;
    }
    for (size_t k = 0; k < in_flight.size(); ++k) {
      auto reply = Receive(sender);
      ASSERT_TRUE(reply) << "a publish went unanswered";
      if (reply->status().code() == v1::Status::OK) {
        ++confirmed;
      } else {
        ASSERT_EQ(reply->status().code(), v1::Status::UNAVAILABLE) << reply->status().message();
        again.push_back(in_flight.at(reply->correlation_id()));
      }
    }
    if (!again.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(Eventually(
      [&] { return broker_->log().find("it is not reading its events") != std::string::npos; },
      5000))
      << "the watcher's queue never filled: the test sent too few";
  // Everything queued before the watch ended, then nothing more.
  int events = 0;
  while (Receive(watcher, 500)) ++events;
  EXPECT_LT(events, kSent);
  ASSERT_EQ(
      broker_
          ->Cli("gwh-ed", {"send", SamplePath("hospital-liaison-non-mobile-injury.json").string()})
          .exit_code,
      0);
  EXPECT_FALSE(Receive(watcher, 1000)) << "the watch went on after events were dropped";
  // Renewed from the start: it is told it may have missed some.
  v1::Request renew = watch;
  renew.set_correlation_id(2);
  renew.mutable_watch()->set_resume(true);
  renew.mutable_watch()->set_after_seq(1);
  watcher.send(zmq::buffer(renew.SerializeAsString()));
  std::optional<v1::Reply> answer;
  while ((answer = Receive(watcher, 3000)) && !answer->has_watch()) {
  }
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->watch().missed());
}

TEST_F(WireTest, AnOversizeMessageClosesThatConnectionOnly) {
  zmq::socket_t big = Connect();
  std::string huge(2 << 20, 'x');  // twice the configured maximum
  big.send(zmq::buffer(huge));
  EXPECT_FALSE(Receive(big, 1000)) << "no answer: the connection was dropped";
  EXPECT_TRUE(StillServing());
}

// A notification's JSON of the whole bound (1 MiB) plus the request around it still fits
// the socket, so the sender hears why it is refused instead of waiting for an answer that
// never comes.
TEST_F(WireTest, ANotificationAtTheMessageBoundIsRefusedWithItsReasonNotDropped) {
  zmq::socket_t s = Connect();
  v1::Request request;
  request.set_correlation_id(11);
  request.set_as("gwh-ed");
  request.mutable_send()->set_notification_json(std::string((1 << 20) + 100, ' '));
  ASSERT_GT(request.ByteSizeLong(), size_t{1} << 20);
  s.send(zmq::buffer(request.SerializeAsString()));
  auto reply = Receive(s);
  ASSERT_TRUE(reply) << "dropped unanswered";
  EXPECT_EQ(reply->correlation_id(), 11u);
  EXPECT_EQ(reply->status().code(), v1::Status::INVALID_ARGUMENT);
  EXPECT_NE(reply->status().message().find("larger than 1 MiB"), std::string::npos)
      << reply->status().message();
}

// A crafted form can break one rule per byte (a packed list of unknown concerns): the
// answer lists a hundred and says how many more, and stays small.
TEST_F(WireTest, AMillionBrokenRulesAreAnsweredWithAHundredAndACount) {
  zmq::socket_t s = Connect();
  v1::Request request;
  request.set_correlation_id(12);
  request.set_as("gwh-ed");
  v1::Notification& form = *request.mutable_send()->mutable_notification();
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  ReadFile(SamplePath("hospital-liaison-school-age.json")), &form)
                  .ok());
  for (int i = 0; i < 900000; ++i) form.add_concerns(v1::Notification::CONCERN_UNSPECIFIED);
  ASSERT_LT(request.ByteSizeLong(), size_t{1} << 20);
  s.send(zmq::buffer(request.SerializeAsString()));
  auto reply = Receive(s, 10000);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status().code(), v1::Status::INVALID_ARGUMENT);
  ASSERT_EQ(reply->status().violations_size(), 101);
  EXPECT_NE(reply->status().violations(100).description().find("more broken rules"),
            std::string::npos);
  EXPECT_LT(reply->ByteSizeLong(), size_t{64} << 10);
  EXPECT_TRUE(StillServing());
}

TEST_F(WireTest, PipelinedRequestsAreMatchedByCorrelationId) {
  zmq::socket_t s = Connect();
  for (uint64_t i = 1; i <= 30; ++i) {
    v1::Request request;
    request.set_correlation_id(1000 + i);
    request.set_as("gwh-ed");
    request.mutable_send()->set_notification_json(
        WithId("hospital-liaison-non-mobile-injury.json", static_cast<int>(i)));
    s.send(zmq::buffer(request.SerializeAsString()));
  }
  std::set<uint64_t> answered;
  for (int i = 0; i < 30; ++i) {
    auto reply = Receive(s);
    ASSERT_TRUE(reply);
    answered.insert(reply->correlation_id());
    // With at most 64 in flight, 30 pipelined publishes are all confirmed, and each answer
    // is about the notification its request carried.
    EXPECT_EQ(reply->status().code(), v1::Status::OK) << reply->status().message();
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d",
                  static_cast<int>(reply->correlation_id() - 1000));
    EXPECT_EQ(reply->send().id(), id);
  }
  EXPECT_EQ(answered.size(), 30u);
  EXPECT_EQ(*answered.begin(), 1001u);
  EXPECT_EQ(*answered.rbegin(), 1030u);
}

TEST(Bounds, TooManyInFlightIsToldToRetryNeverDropped) {
  TempDir dir;
  // The Northshire configuration with one write in flight per connection.
  std::string config = ReadFile(ConfigPath("northshire.yaml"));
  config = std::regex_replace(config, std::regex("max_in_flight_per_connection: \\d+"),
                              "max_in_flight_per_connection: 1");
  std::filesystem::path path = dir.path() / "tight.yaml";
  std::ofstream(path) << config;
  BrokerProcess broker(path, dir.path() / "data", {"--simulated-clock", kMonday});
  ASSERT_TRUE(broker.Start()) << broker.log();
  zmq::context_t context;
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(broker.endpoint());
  std::vector<zmq::message_t> batch;
  for (int i = 1; i <= 40; ++i) {
    v1::Request request;
    request.set_correlation_id(static_cast<uint64_t>(i));
    request.set_as("gwh-ed");
    request.mutable_send()->set_notification_json(
        WithId("hospital-liaison-non-mobile-injury.json", i));
    s.send(zmq::buffer(request.SerializeAsString()), zmq::send_flags::dontwait);
  }
  int ok = 0, retry = 0;
  std::set<uint64_t> answered;
  for (int i = 0; i < 40; ++i) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    ASSERT_TRUE(item.revents & ZMQ_POLLIN) << "request " << i << " never answered";
    zmq::message_t m;
    (void)s.recv(m);
    v1::Reply reply;
    ASSERT_TRUE(reply.ParseFromArray(m.data(), static_cast<int>(m.size())));
    answered.insert(reply.correlation_id());
    if (reply.status().code() == v1::Status::OK) ++ok;
    if (reply.status().code() == v1::Status::UNAVAILABLE) ++retry;
  }
  EXPECT_EQ(answered.size(), 40u);
  EXPECT_EQ(ok + retry, 40);
  EXPECT_GE(ok, 1);
  EXPECT_GE(retry, 1) << "40 pipelined writes cannot all fit one slot";
  // What was confirmed is exactly what is in the inbox.
  json inbox = broker.Cli("alice", {"inbox", "hv-north"}).Json();
  EXPECT_EQ(static_cast<int>(inbox["items"].size()), ok);
}

// Northshire's configuration with a rate of 20 a second and a burst of 20 per share.
std::filesystem::path SlowConfig(const TempDir& dir) {
  std::string config = ReadFile(ConfigPath("northshire.yaml"));
  config =
      std::regex_replace(config, std::regex("rate_per_principal: \\d+"), "rate_per_principal: 20");
  config = std::regex_replace(config, std::regex("burst_per_principal: \\d+"),
                              "burst_per_principal: 20");
  std::filesystem::path path = dir.path() / "slow.yaml";
  std::ofstream(path) << config;
  return path;
}

// Sends `count` requests on one connection at once, the i-th (from 1) made by `make`, and
// counts the answers: every one answered, by status code; those told to slow down must say
// so.
std::map<v1::Status::Code, int> Flood(BrokerProcess& broker, int count,
                                      const std::function<void(int, v1::Request&)>& make) {
  zmq::context_t context;
  zmq::socket_t flood(context, zmq::socket_type::dealer);
  flood.set(zmq::sockopt::linger, 0);
  flood.connect(broker.endpoint());
  for (int i = 1; i <= count; ++i) {
    v1::Request request;
    request.set_correlation_id(static_cast<uint64_t>(i));
    make(i, request);
    flood.send(zmq::buffer(request.SerializeAsString()), zmq::send_flags::none);
  }
  std::map<v1::Status::Code, int> answers;
  for (int i = 0; i < count; ++i) {
    zmq::pollitem_t item{flood.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    EXPECT_TRUE(item.revents & ZMQ_POLLIN) << "request " << i << " never answered";
    if (!(item.revents & ZMQ_POLLIN)) break;
    zmq::message_t m;
    (void)flood.recv(m);
    v1::Reply reply;
    EXPECT_TRUE(reply.ParseFromArray(m.data(), static_cast<int>(m.size())));
    ++answers[reply.status().code()];
    if (reply.status().code() == v1::Status::UNAVAILABLE) {
      EXPECT_NE(reply.status().message().find("too many requests"), std::string::npos)
          << reply.status().message();
    }
  }
  return answers;
}

TEST(Bounds, AFloodFromOnePrincipalIsToldToRetryAndOthersAreStillServed) {
  TempDir dir;
  BrokerProcess broker(SlowConfig(dir), dir.path() / "data", {"--simulated-clock", kMonday});
  ASSERT_TRUE(broker.Start()) << broker.log();
  auto answers = Flood(broker, 200, [](int, v1::Request& request) {
    request.set_as("alice");
    request.mutable_inbox()->set_inbox("hv-north");
  });
  const int served = answers[v1::Status::OK], refused = answers[v1::Status::UNAVAILABLE];
  EXPECT_EQ(served + refused, 200) << "every request answered, none dropped";
  EXPECT_GE(served, 20);
  EXPECT_GE(refused, 100) << "a burst of 20, then about 20 a second";
  // Bob, meanwhile, is served at once.
  EXPECT_EQ(broker.Cli("bob", {"inbox", "hv-south"}).exit_code, 0);
}

TEST(Bounds, NamingSomeoneToActForOrAMadeUpNameGivesNoFreshShareOfTheRate) {
  TempDir dir;
  BrokerProcess broker(SlowConfig(dir), dir.path() / "data", {"--simulated-clock", kMonday});
  ASSERT_TRUE(broker.Start()) << broker.log();
  // Alice is no gateway: each request names another person, long, to act for. Each is
  // refused, and each spends alice's own share: the names are not kept one by one.
  auto acting = Flood(broker, 200, [](int i, v1::Request& request) {
    request.set_as("alice");
    request.set_on_behalf_of("person-" + std::to_string(i) + std::string(10000, 'x'));
    request.mutable_inbox()->set_inbox("hv-north");
  });
  EXPECT_EQ(acting[v1::Status::PERMISSION_DENIED] + acting[v1::Status::UNAVAILABLE], 200);
  EXPECT_GE(acting[v1::Status::UNAVAILABLE], 100)
      << "each new name acted for was given a fresh burst of its own";
  // Names the configuration does not know (--insecure-dev believes `as`) share one share.
  auto strangers = Flood(broker, 200, [](int i, v1::Request& request) {
    request.set_as("stranger-" + std::to_string(i));
    request.mutable_inbox()->set_inbox("hv-north");
  });
  EXPECT_EQ(strangers[v1::Status::PERMISSION_DENIED] + strangers[v1::Status::UNAVAILABLE], 200);
  EXPECT_GE(strangers[v1::Status::UNAVAILABLE], 100)
      << "each made-up name was given a fresh burst of its own";
  // Neither flood spent or refilled anyone else's.
  EXPECT_EQ(broker.Cli("bob", {"inbox", "hv-south"}).exit_code, 0);
}

TEST(Configuration, AMistakeStopsTheBrokerBeforeItListensNamingFileLineAndKey) {
  TempDir dir;
  std::string config = ReadFile(ConfigPath("northshire.yaml"));
  // Break one reference: hv-south's managers' inbox.
  size_t at = config.find("managers_inbox: hv-managers", config.find("hv-south:"));
  ASSERT_NE(at, std::string::npos);
  config.replace(at, std::string("managers_inbox: hv-managers").size(),
                 "managers_inbox: hv-managerz");
  int line = 1 + static_cast<int>(
                     std::count(config.begin(), config.begin() + static_cast<long>(at), '\n'));
  std::filesystem::path path = dir.path() / "broken.yaml";
  std::ofstream(path) << config;
  CommandResult r = RunCommand({DUTYHUB_BROKER_BIN, "--config", path.string(), "--data",
                                (dir.path() / "data").string(), "--insecure-dev"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path.string() + ":" + std::to_string(line) + ":"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("inboxes.hv-south.managers_inbox"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hv-managerz"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "broker.endpoint"));

  std::filesystem::path garbage = dir.path() / "garbage.yaml";
  std::ofstream(garbage) << "partnership: [unclosed\n";
  EXPECT_EQ(
      RunCommand({DUTYHUB_BROKER_BIN, "--config", garbage.string(), "--insecure-dev"}).exit_code,
      2);
  EXPECT_EQ(
      RunCommand({DUTYHUB_BROKER_BIN, "--config", "/nonexistent.yaml", "--insecure-dev"}).exit_code,
      2);
}

TEST(Configuration, InsecureDevIsRefusedOffLoopback) {
  TempDir dir;
  CommandResult r =
      RunCommand({DUTYHUB_BROKER_BIN, "--config", ConfigPath("northshire.yaml").string(), "--data",
                  dir.path().string(), "--listen", "tcp://0.0.0.0:5599", "--insecure-dev"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dutyhub::testing
