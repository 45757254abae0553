// The HL7 adapter end to end: a real dutyhub-hl7 process with its own outbox in a temporary
// folder, in front of a real dutyhub-broker (--insecure-dev, the Northshire configuration,
// a simulated Monday afternoon), spoken to over TCP as the hospital's interface engine
// would: MLLP framing written here byte by byte, not with the adapter's own code.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

using nlohmann::json;

constexpr const char* kMondayAfternoon = "2026-11-23T16:00:00Z";
constexpr int kWaitMs = 15000;  // the outbox sends in the background
constexpr const char* kSampleControlId = "GWHED-20261123-000118";

bool WaitUntil(const std::function<bool()>& done, int timeout_ms = kWaitMs) {
  return Eventually(done, timeout_ms);
}

std::string Sample() { return ReadFile(SamplePath("hospital-liaison-non-mobile-injury.hl7")); }

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "the sample no longer holds what the test changes";
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string WithControlId(const std::string& message, const std::string& control_id) {
  return Replaced(message, kSampleControlId, control_id);
}

// One dutyhub-hl7 process. What it writes goes to the suite's log folder, so the check at
// the end of the suite reads it for a child's details too.
class Hl7Adapter : public AdapterProcess {
 public:
  explicit Hl7Adapter(std::filesystem::path config)
      : AdapterProcess(DUTYHUB_HL7_BIN, std::move(config), "hl7",
                       "listening for MLLP on 127.0.0.1:") {}
};

// The hospital's end of one MLLP connection.
class MllpClient {
 public:
  explicit MllpClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~MllpClient() { close(fd_); }
  bool connected() const { return connected_; }

  bool SendRaw(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  bool Send(const std::string& message) { return SendRaw("\x0b" + message + "\x1c\x0d"); }

  // The next framed answer without its framing; empty when none came within 10 s.
  std::string Receive() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const size_t start = buffer_.find('\x0b');
      const size_t end = buffer_.find("\x1c\x0d");
      if (start != std::string::npos && end != std::string::npos && end > start) {
        std::string message = buffer_.substr(start + 1, end - start - 1);
        buffer_.erase(0, end + 2);
        return message;
      }
      pollfd fd{fd_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return "";
  }

  // Sends one message and reads its ACK.
  std::string Exchange(const std::string& message) { return Send(message) ? Receive() : ""; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// An ACK's MSA and ERR segments, split into fields.
struct AckSeen {
  std::string code;                 // MSA-1
  std::string control_id;           // MSA-2
  std::string text;                 // MSA-3
  std::vector<std::string> errors;  // each ERR segment whole
};

AckSeen ReadAck(const std::string& ack) {
  AckSeen seen;
  std::stringstream in(ack);
  for (std::string segment; std::getline(in, segment, '\r');) {
    if (segment.rfind("MSA|", 0) == 0) {
      std::stringstream fields(segment);
      std::string field;
      std::vector<std::string> parts;
      while (std::getline(fields, field, '|')) parts.push_back(field);
      parts.resize(4);
      seen.code = parts[1];
      seen.control_id = parts[2];
      seen.text = parts[3];
    } else if (segment.rfind("ERR|", 0) == 0) {
      seen.errors.push_back(segment);
    }
  }
  return seen;
}

// The notification id an AA names ("Accepted as notification <id>").
std::string AcceptedId(const AckSeen& ack) {
  const size_t at = ack.text.rfind(' ');
  return at == std::string::npos ? "" : ack.text.substr(at + 1);
}

bool AnyErrorHolds(const AckSeen& ack, const std::string& text) {
  for (const std::string& e : ack.errors) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

class Hl7AdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(
        ConfigPath("northshire.yaml"), dir_.path() / "data",
        std::vector<std::string>{"--simulated-clock", kMondayAfternoon});
    ASSERT_TRUE(broker_->Start()) << broker_->log();
    adapter_ = AdapterFor("gwh-ed");
    ASSERT_TRUE(adapter_->Start()) << adapter_->log();
  }

  // An adapter (not started) sending as `agency`, with an outbox of its own.
  std::unique_ptr<Hl7Adapter> AdapterFor(const std::string& agency) {
    const std::filesystem::path config = dir_.path() / (agency + "-hl7.yaml");
    std::ofstream(config) << "agency: " << agency << "\n"
                          << "broker: " << broker_->endpoint() << "\n"
                          << "insecure_as: " << agency << "\n"
                          << "outbox: " << (dir_.path() / (agency + "-outbox.sqlite")).string()
                          << "\n"
                          << "listen: 127.0.0.1:0\n";
    return std::make_unique<Hl7Adapter>(config);
  }

  // The items in `inbox` (frank manages every inbox).
  json Items(const std::string& inbox) const {
    json listed = broker_->Cli("frank", {"inbox", inbox, "--all"}).Json();
    return listed.contains("items") ? listed["items"] : json::array();
  }

  int CountIn(const std::string& inbox, const std::string& notification_id) const {
    int count = 0;
    for (const auto& item : Items(inbox)) count += item["notification_id"] == notification_id;
    return count;
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<Hl7Adapter> adapter_;
};

TEST_F(Hl7AdapterTest, ALiaisonFormOverMllpReachesTheInboxesTheJsonSampleReaches) {
  MllpClient hospital(adapter_->port());
  ASSERT_TRUE(hospital.connected());
  AckSeen ack = ReadAck(hospital.Exchange(Sample()));
  ASSERT_EQ(ack.code, "AA") << ack.text;
  EXPECT_EQ(ack.control_id, kSampleControlId);
  EXPECT_TRUE(ack.errors.empty());
  const std::string id = AcceptedId(ack);
  ASSERT_EQ(id.size(), 36u) << ack.text;

  // hub_test: hv-north and mash, raised to IMMEDIATE, due in 15 minutes.
  for (const std::string inbox : {"hv-north", "mash"}) {
    ASSERT_TRUE(WaitUntil([&] { return CountIn(inbox, id) == 1; })) << "never reached " << inbox;
    json item = Items(inbox)[0];
    EXPECT_EQ(item["priority"], "IMMEDIATE");
    EXPECT_EQ(item["from"], "gwh-ed");
    EXPECT_EQ(item["type"], "HOSPITAL_LIAISON");
    EXPECT_EQ(item["due_at"], "2026-11-23T16:15:00Z");
  }
  CommandResult status = broker_->Cli("gwh-ed", {"status", id});
  std::set<std::string> inboxes;
  const json receipt = status.Json();
  for (const auto& d : receipt["deliveries"]) inboxes.insert(d["inbox"]);
  EXPECT_EQ(inboxes, (std::set<std::string>{"hv-north", "mash"})) << status.out << status.err;

  // What the duty worker opens is the JSON sample's notification, bar the id HL7 cannot carry.
  json shown = broker_->Cli("alice", {"show", Items("hv-north")[0]["delivery_id"]}).Json();
  json expected = json::parse(ReadFile(SamplePath("hospital-liaison-non-mobile-injury.json")));
  expected["id"] = id;
  expected["child"]["nhs_number"] = "9993395633";  // stored normalised, as hub_test says
  expected["priority"] = "IMMEDIATE";              // raised by routing, as for the JSON sample
  EXPECT_EQ(shown["notification"], expected) << shown["notification"].dump(2);
}

TEST_F(Hl7AdapterTest, ARepeatedControlIdIsAcceptedAgainAndStoredOnce) {
  MllpClient hospital(adapter_->port());
  AckSeen first = ReadAck(hospital.Exchange(Sample()));
  AckSeen quick_retry = ReadAck(hospital.Exchange(Sample()));  // before the outbox has sent it
  ASSERT_EQ(first.code, "AA") << first.text;
  ASSERT_EQ(quick_retry.code, "AA") << quick_retry.text;
  const std::string id = AcceptedId(first);
  EXPECT_EQ(AcceptedId(quick_retry), id);
  EXPECT_NE(quick_retry.text.find("Already accepted"), std::string::npos) << quick_retry.text;
  ASSERT_TRUE(WaitUntil([&] { return CountIn("hv-north", id) == 1 && CountIn("mash", id) == 1; }));

  // A retry long after, on a new connection (the interface engine restarted).
  MllpClient restarted(adapter_->port());
  AckSeen late_retry = ReadAck(restarted.Exchange(Sample()));
  EXPECT_EQ(late_retry.code, "AA");
  EXPECT_EQ(late_retry.control_id, kSampleControlId);
  EXPECT_EQ(AcceptedId(late_retry), id);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // time enough for a second send
  EXPECT_EQ(Items("hv-north").size(), 1u);
  EXPECT_EQ(Items("mash").size(), 1u);

  // The same control id on a message that says something else is no retry (an interface
  // engine that reset its counter): refused naming MSH-10, where accepting it as a retry
  // would have answered AA for a form that reaches no one.
  AckSeen reused = ReadAck(restarted.Exchange(Replaced(
      Sample(), "small bruise to left side of neck", "small bruise to right side of neck")));
  EXPECT_EQ(reused.code, "AE") << reused.text;
  EXPECT_EQ(reused.control_id, kSampleControlId);
  EXPECT_TRUE(AnyErrorHolds(reused, "id (MSH-10)")) << reused.text;

  // Another control id is another notification, even with the same form.
  AckSeen other = ReadAck(restarted.Exchange(WithControlId(Sample(), "GWHED-20261123-000119")));
  ASSERT_EQ(other.code, "AA");
  EXPECT_NE(AcceptedId(other), id);
  EXPECT_TRUE(WaitUntil([&] { return Items("hv-north").size() == 2u; }));
  EXPECT_EQ(CountIn("hv-north", id), 1) << "the first form stands, alone";
}

TEST_F(Hl7AdapterTest, BrokenRulesAndUnreadableMessagesGetAeAndTheAdapterKeepsServing) {
  MllpClient hospital(adapter_->port());
  ASSERT_TRUE(hospital.connected());

  // A bad NHS check digit: readable, but it breaks a rule.
  AckSeen bad_nhs = ReadAck(hospital.Exchange(Replaced(
      WithControlId(Sample(), "BAD-NHS-1"), "9993395633^^^NHS^NH", "9993395634^^^NHS^NH")));
  EXPECT_EQ(bad_nhs.code, "AE");
  EXPECT_EQ(bad_nhs.control_id, "BAD-NHS-1");
  EXPECT_NE(bad_nhs.text.find("child.nhs_number"), std::string::npos) << bad_nhs.text;
  ASSERT_EQ(bad_nhs.errors.size(), 1u);
  EXPECT_NE(bad_nhs.errors[0].find("|PID^1^3|"), std::string::npos) << bad_nhs.errors[0];
  EXPECT_NE(bad_nhs.errors[0].find("child.nhs_number"), std::string::npos);
  EXPECT_NE(bad_nhs.errors[0].find("check digit"), std::string::npos);

  // Father RECORDED but nobody in the household is: the rule names father_status (ZLF-5).
  AckSeen no_father = ReadAck(hospital.Exchange(
      Replaced(WithControlId(Sample(), "NO-FATHER-1"), "FTH^Father", "OAD^Other")));
  EXPECT_EQ(no_father.code, "AE");
  EXPECT_TRUE(AnyErrorHolds(no_father, "father_status (ZLF-5)")) << no_father.text;

  // Not HL7 at all.
  AckSeen garbage = ReadAck(hospital.Exchange("this is not an HL7 message"));
  EXPECT_EQ(garbage.code, "AE");
  EXPECT_EQ(garbage.control_id, "");
  EXPECT_TRUE(AnyErrorHolds(garbage, "MSH"));

  // HL7, but a field that cannot be read: the administrative sex "Q".
  AckSeen bad_sex = ReadAck(hospital.Exchange(
      Replaced(WithControlId(Sample(), "BAD-SEX-1"), "|F|||12 Orchard", "|Q|||12 Orchard")));
  EXPECT_EQ(bad_sex.code, "AE");
  EXPECT_EQ(bad_sex.control_id, "BAD-SEX-1");
  EXPECT_TRUE(AnyErrorHolds(bad_sex, "|PID^1^8|")) << bad_sex.text;
  EXPECT_NE(bad_sex.text.find("PID-8"), std::string::npos);

  // No liaison form segment.
  std::string message = WithControlId(Sample(), "NO-ZLF-1");
  message.erase(message.find("ZLF|"));
  AckSeen no_zlf = ReadAck(hospital.Exchange(message));
  EXPECT_EQ(no_zlf.code, "AE");
  EXPECT_TRUE(AnyErrorHolds(no_zlf, "ZLF: Required")) << no_zlf.text;

  // Larger than any form: dropped unread, answered, and the connection still works.
  AckSeen huge = ReadAck(hospital.Exchange(std::string(1100 * 1024, 'x')));
  EXPECT_EQ(huge.code, "AE");
  EXPECT_NE(huge.text.find("larger than"), std::string::npos) << huge.text;

  // The adapter keeps serving, on this connection and on a new one.
  AckSeen good = ReadAck(hospital.Exchange(Sample()));
  ASSERT_EQ(good.code, "AA") << good.text;
  {
    MllpClient half(adapter_->port());
    ASSERT_TRUE(half.SendRaw("\x0bMSH|^~\\&|GWH-ED|GWH|"));  // and then hangs up
  }
  MllpClient another(adapter_->port());
  ASSERT_TRUE(another.connected());
  EXPECT_EQ(ReadAck(another.Exchange(WithControlId(Sample(), "GOOD-2"))).code, "AA");

  // Only the two good forms reached an inbox.
  ASSERT_TRUE(
      WaitUntil([&] { return Items("hv-north").size() == 2u && Items("mash").size() == 2u; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Items("hv-north").size(), 2u);

  // SIGTERM stops it cleanly; its log said what happened without a child's details.
  EXPECT_EQ(adapter_->Stop(), 0);
  const std::string log = WithoutTimestamps(adapter_->log());
  ExpectNoPersonalDetails(log, "the adapter log");
  for (const std::string detail : {"Orchard", "9993395634", "20260921", "Kayleigh", "Mill Lane"}) {
    EXPECT_EQ(log.find(detail), std::string::npos) << "the log holds a detail as HL7 writes it";
  }
  EXPECT_NE(log.find("BAD-NHS-1 answered AE"), std::string::npos) << log;
  EXPECT_NE(log.find("child.nhs_number"), std::string::npos);
}

// AA means "in the outbox", and the hub may still refuse the form when the outbox sends it
// on (here: the MASH's own system may not send a liaison form). HL7 has no receipts, so
// the engine's next send of that message is where it hears of it: AR with the hub's
// reason, never "already accepted" for a form no inbox has.
TEST_F(Hl7AdapterTest, AFormTheHubRefusedIsAnsweredArWhenSentAgainNotAlreadyAccepted) {
  auto mash = AdapterFor("northshire-mash");
  ASSERT_TRUE(mash->Start()) << mash->log();
  MllpClient engine(mash->port());
  AckSeen first = ReadAck(engine.Exchange(Sample()));
  ASSERT_EQ(first.code, "AA") << first.text;
  AckSeen again;
  ASSERT_TRUE(WaitUntil([&] {
    again = ReadAck(engine.Exchange(Sample()));
    return again.code != "AA";
  })) << again.text;
  EXPECT_EQ(again.code, "AR") << again.text;
  EXPECT_EQ(again.control_id, kSampleControlId);
  EXPECT_NE(again.text.find("the hub refused notification " + AcceptedId(first)), std::string::npos)
      << again.text;
  EXPECT_TRUE(AnyErrorHolds(again, "|207^")) << again.text;
  EXPECT_TRUE(Items("hv-north").empty());
  EXPECT_TRUE(Items("mash").empty());
  EXPECT_EQ(mash->Stop(), 0);
}

// Accented text doubles in size as UTF-8: a message under the MLLP bound can become a form
// over the broker's. It is answered AE naming the field at once, and what comes after it
// still goes through (sent on, it would have been dropped by the broker unanswered and
// resent for ever, holding up the outbox behind it).
TEST_F(Hl7AdapterTest, AFormTooLargeOnceReadIsAnErrorNamingItsFieldAndHoldsUpNothing) {
  MllpClient hospital(adapter_->port());
  std::string latin1 = Replaced(WithControlId(Sample(), "LATIN-1-HUGE"), "UNICODE UTF-8", "8859/1");
  latin1 = Replaced(latin1, "Poor feeding for two days", std::string(600 * 1024, '\xE9'));
  AckSeen huge = ReadAck(hospital.Exchange(latin1));
  EXPECT_EQ(huge.code, "AE") << huge.text;
  EXPECT_TRUE(AnyErrorHolds(huge, "hospital_liaison.presenting_complaint")) << huge.text;
  EXPECT_TRUE(AnyErrorHolds(huge, "960 KiB")) << huge.text;
  AckSeen good = ReadAck(hospital.Exchange(Sample()));
  ASSERT_EQ(good.code, "AA") << good.text;
  EXPECT_TRUE(WaitUntil([&] { return CountIn("hv-north", AcceptedId(good)) == 1; }));
}

// Sixty-four connections opened and left idle (a scanner, a half-configured engine) must
// not lock out the interface engine when it reconnects: one that never sent a whole
// message gives way, even before an engine's own connection that has been quiet longer.
TEST_F(Hl7AdapterTest, ConnectionsLeftIdleGiveWayToTheEngineReconnecting) {
  MllpClient engine(adapter_->port());
  ASSERT_EQ(ReadAck(engine.Exchange(Sample())).code, "AA");  // then quiet, longest of all
  std::vector<std::unique_ptr<MllpClient>> idle;
  for (int i = 0; i < 63; ++i) {
    idle.push_back(std::make_unique<MllpClient>(adapter_->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  ASSERT_TRUE(idle[0]->SendRaw("\x0bMSH|^~\\&|GWH-ED|"));  // and a message begun, never ended
  std::this_thread::sleep_for(std::chrono::milliseconds(5500));
  MllpClient second(adapter_->port());
  ASSERT_TRUE(second.connected());
  AckSeen ack = ReadAck(second.Exchange(WithControlId(Sample(), "SECOND-ENGINE-1")));
  EXPECT_EQ(ack.code, "AA") << ack.text;
  EXPECT_NE(adapter_->log().find("to make room for"), std::string::npos) << adapter_->log();
  // The engine's own connection, quiet longest, was not the one closed.
  AckSeen again = ReadAck(engine.Exchange(Sample()));
  EXPECT_EQ(again.code, "AA") << "the engine's connection was closed to make room";
}

TEST_F(Hl7AdapterTest, AFloodOfFramesIsAnsweredInOrderWithoutHoldingUpAnotherConnection) {
  // Five thousand empty frames in one write, from an engine that does not read its ACKs yet.
  constexpr int kFrames = 5000;
  MllpClient flood(adapter_->port());
  std::string frames;
  for (int i = 0; i < kFrames; ++i) frames += "\x0b\x1c\x0d";
  ASSERT_TRUE(flood.SendRaw(frames));
  MllpClient hospital(adapter_->port());
  const auto sent = std::chrono::steady_clock::now();
  AckSeen ack = ReadAck(hospital.Exchange(Sample()));
  EXPECT_EQ(ack.code, "AA");
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(2));
  int answered = 0;
  for (; answered < kFrames; ++answered) {
    if (ReadAck(flood.Receive()).code != "AE") break;
  }
  EXPECT_EQ(answered, kFrames);
  EXPECT_EQ(ReadAck(flood.Exchange(WithControlId(Sample(), "AFTER-FLOOD"))).code, "AA");
}

}  // namespace
}  // namespace dutyhub::testing
