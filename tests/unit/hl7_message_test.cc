// The HL7 adapter's reading and writing without sockets: the liaison sample as HL7 is the
// same notification as the JSON sample; escapes; every unreadable field named; ACKs; MLLP
// framing across reads of any size.
#include "agents/hl7/hl7_message.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "agents/hl7/mllp.h"
#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub {
namespace {

std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kSample = ReadSample("hospital-liaison-non-mobile-injury.hl7");

// The sample with one segment's field replaced (fields counted as HL7 counts them).
std::string WithField(std::string message, const std::string& segment, int field,
                      const std::string& value) {
  const size_t start =
      message.rfind(segment + "|", 0) == 0 ? 0 : message.find("\r" + segment + "|") + 1;
  const size_t end = message.find('\r', start);
  std::string line = message.substr(start, end - start);
  size_t pos = 0;
  for (int i = 0; i < field; ++i) pos = line.find('|', pos) + 1;
  size_t stop = line.find('|', pos);
  if (stop == std::string::npos) stop = line.size();
  line.replace(pos, stop - pos, value);
  return message.replace(start, end - start, line);
}

std::string WithoutSegment(std::string message, const std::string& segment) {
  const size_t start = message.find("\r" + segment + "|") + 1;
  return message.erase(start, message.find('\r', start) - start + 1);
}

std::set<std::string> FieldsOf(const Status& status) {
  std::set<std::string> fields;
  for (const Violation& v : status.violations()) fields.insert(v.field);
  return fields;
}

TEST(Hl7LiaisonForm, TheHl7SampleIsTheJsonSampleFieldByField) {
  ASSERT_FALSE(kSample.empty());
  auto from_hl7 = ParseLiaisonForm(kSample);
  ASSERT_TRUE(from_hl7.ok()) << from_hl7.status().ToString();
  auto from_json = ParseNotificationJson(ReadSample("hospital-liaison-non-mobile-injury.json"));
  ASSERT_TRUE(from_json.ok()) << from_json.status().ToString();

  v1::Notification hl7 = from_hl7->notification;
  v1::Notification json = *from_json;
  // HL7 carries no UUID: the id is made from MSH-3, MSH-4 and MSH-10.
  EXPECT_EQ(hl7.id(), NotificationIdFor("GWH-ED", "GWH", "GWHED-20261123-000118"));
  json.set_id(hl7.id());
  // The JSON sample writes the NHS number with spaces, as people type it; the hub stores
  // both the same way.
  Normalize(hl7);
  Normalize(json);
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(hl7, json)) << differences;
  EXPECT_TRUE(Validate(from_hl7->notification, *ParseTimestamp("2026-11-23T16:00:00Z")).empty());

  EXPECT_EQ(from_hl7->header.control_id, "GWHED-20261123-000118");
  EXPECT_EQ(from_hl7->header.sending_application, "GWH-ED");
  EXPECT_EQ(from_hl7->header.trigger_event, "A08");
}

TEST(Hl7LiaisonForm, TheIdIsAVersion4UuidFixedByTheSenderAndControlId) {
  const std::string id = NotificationIdFor("GWH-ED", "GWH", "1");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(id, NotificationIdFor("GWH-ED", "GWH", "1"));
  EXPECT_NE(id, NotificationIdFor("GWH-ED", "GWH", "2"));
  EXPECT_NE(id, NotificationIdFor("GWH-SCBU", "GWH", "1"));
  EXPECT_NE(NotificationIdFor("AB", "C", "1"), NotificationIdFor("A", "BC", "1"));
  EXPECT_TRUE(
      Validate(ParseLiaisonForm(kSample)->notification, *ParseTimestamp("2026-11-23T16:00:00Z"))
          .empty());
}

TEST(Hl7LiaisonForm, SegmentsMayEndInNewlinesAndTheMessageInABlankLine) {
  std::string crlf;
  for (char c : kSample) crlf += c == '\r' ? std::string("\r\n") : std::string(1, c);
  auto parsed = ParseLiaisonForm("\r\n" + crlf + "\r\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->notification.child().family_name(), "Moss");
}

TEST(Hl7Escapes, EveryDelimiterAndLineBreakComesThroughAsText) {
  const Hl7Delimiters d;
  auto text = Hl7Unescape(R"(a\F\b\S\c\T\d\R\e\E\f\.br\g\X4142\h\H\i\N\)", d);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "a|b^c&d~e\\f\ngABhi");
  const std::string awkward = "Bruise | left ^ side & neck ~ \\ seen\nby two";
  EXPECT_EQ(*Hl7Unescape(Hl7Escape(awkward, d), d), awkward);
  EXPECT_EQ(Hl7Escape(awkward, d).find_first_of("|^&~\n"), std::string::npos);
  EXPECT_FALSE(Hl7Unescape(R"(open \F)", d).ok());
  EXPECT_FALSE(Hl7Unescape(R"(\Q\)", d).ok());
  EXPECT_FALSE(Hl7Unescape(R"(\XZZ\)", d).ok());
}

TEST(Hl7Escapes, AnEscapedSummaryKeepsItsSeparators) {
  auto parsed = ParseLiaisonForm(
      WithField(kSample, "ZLF", 3,
                R"(Seen 08:40 \T\ discharged\.br\Mother\S\grandmother present \F\ 50\E\50)"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->notification.summary(),
            "Seen 08:40 & discharged\nMother^grandmother present | 50\\50");
}

TEST(Hl7Escapes, OtherDeclaredDelimitersAreHonoured) {
  std::string message = kSample;
  for (char& c : message) {
    if (c == '|')
      c = '#';
    else if (c == '^')
      c = '*';
  }
  // MSH-2 becomes *~\& with # as the field separator.
  auto parsed = ParseLiaisonForm(message);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->notification.child().given_name(), "Ava");
  EXPECT_EQ(parsed->header.delimiters.field, '#');
}

TEST(Hl7Escapes, Latin1IsReadWhenMsh18SaysSo) {
  std::string message = WithField(kSample, "EVN", 5,
                                  "^Hale^Ren\xE9"
                                  "e^^^Nurse");
  EXPECT_EQ(FieldsOf(ParseLiaisonForm(message).status()), std::set<std::string>{"EVN-5.3"})
      << "not UTF-8 while MSH-18 says UTF-8";
  message = message.replace(message.find("UNICODE UTF-8"), 13, "8859/1");
  auto parsed = ParseLiaisonForm(message);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->notification.author().name(),
            "Nurse Ren\xC3\xA9"
            "e Hale");
}

TEST(Hl7Unreadable, NotHl7AtAllIsAnErrorAtMsh) {
  for (const std::string& text : {std::string(""), std::string("hello"), std::string("PID|1||x\r"),
                                  std::string("MSH|^~|x|y\r"), std::string("{\"id\": 1}")}) {
    auto parsed = ParseLiaisonForm(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind("MSH", 0), 0u) << parsed.status().message();
  }
  EXPECT_FALSE(ReadHl7Header("hello").has_value());
}

TEST(Hl7Unreadable, EachFieldThatCannotBeReadIsNamedAllAtOnce) {
  std::string message = WithField(kSample, "PID", 8, "Q");
  message = WithField(message, "PV1", 44, "20261123");
  message = WithField(message, "ZLF", 10, "yes");
  message = WithField(message, "ZLF", 1, "SOON");
  auto parsed = ParseLiaisonForm(message);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status()),
            (std::set<std::string>{"PID-8", "PV1-44", "ZLF-10", "ZLF-1"}));
  EXPECT_EQ(parsed.status().message().rfind("PID-8: ", 0), 0u) << parsed.status().message();
  for (const Violation& v : parsed.status().violations()) {
    EXPECT_EQ(v.description.find("SOON"), std::string::npos) << "values are never quoted";
    EXPECT_EQ(v.description.find("yes"), std::string::npos);
  }
}

TEST(Hl7Unreadable, HeaderAndSegmentProblems) {
  struct Case {
    std::string message;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {WithField(kSample, "NK1", 3, "CGV^Care giver^HL70063"), "NK1-3"},
           {WithField(kSample, "MSH", 8, "ORU^R01^ORU_R01"), "MSH-9"},  // MSH-1 is the separator
           {WithField(kSample, "MSH", 9, ""), "MSH-10"},
           {WithField(kSample, "MSH", 10, "T"), "MSH-11"},
           {WithField(kSample, "MSH", 11, "3.0"), "MSH-12"},
           {WithField(kSample, "MSH", 17, "ISO IR87"), "MSH-18"},
           {WithField(kSample, "ZLF", 17, "7^Y^Y"), "ZLF-17"},
           {WithField(kSample, "PID", 7, "2026"), "PID-7"},
           {WithField(kSample, "PID", 3, R"(999\Q\^^^NHS^NH)"), "PID-3"},
           {WithoutSegment(kSample, "ZLF"), "ZLF"},
           {WithoutSegment(kSample, "PID"), "PID"},
           {kSample + "PID|2\r", "PID(2)"},
           {kSample + "pid|2\r", "segment 10"},
       }) {
    auto parsed = ParseLiaisonForm(c.message);
    ASSERT_FALSE(parsed.ok()) << c.field;
    EXPECT_EQ(FieldsOf(parsed.status()), std::set<std::string>{c.field})
        << parsed.status().ToString();
    EXPECT_EQ(parsed.status().message().rfind(c.field + ": ", 0), 0u) << parsed.status().message();
  }
  // The second household member's relationship is NK1(2)-3.
  const size_t second = kSample.find("FTH^Father");
  std::string message = kSample;
  message.replace(second, 3, "PAR");
  EXPECT_EQ(FieldsOf(ParseLiaisonForm(message).status()), std::set<std::string>{"NK1(2)-3"});
}

TEST(Hl7Unreadable, AHostileNumberOfRepetitionsOrSegmentsIsRefusedCheaply) {
  std::string concerns = "NEGLECT";
  for (int i = 0; i < 200000; ++i) concerns += "~NEGLECT";
  auto parsed = ParseLiaisonForm(WithField(kSample, "ZLF", 4, concerns));
  EXPECT_EQ(FieldsOf(parsed.status()), std::set<std::string>{"ZLF-4"});
  std::string many = kSample;
  for (int i = 0; i < 101; ++i) many += "NK1|" + std::to_string(i + 3) + "|Doe^A|OAD\r";
  EXPECT_EQ(FieldsOf(ParseLiaisonForm(many).status()), std::set<std::string>{"NK1(101)"});
  // A hundred is still read.
  concerns = "NEGLECT";
  for (int i = 1; i < 100; ++i) concerns += "~NEGLECT";
  parsed = ParseLiaisonForm(WithField(kSample, "ZLF", 4, concerns));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->notification.concerns_size(), 100);
}

TEST(Hl7Unreadable, RulesAreLeftToTheValidatorWithTheirHl7Fields) {
  // A bad check digit is readable: the validator names child.nhs_number, which is PID-3.
  auto parsed = ParseLiaisonForm(WithField(kSample, "PID", 3, "9993395634^^^NHS^NH"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  std::vector<Violation> violations =
      Validate(parsed->notification, *ParseTimestamp("2026-11-23T16:00:00Z"));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "child.nhs_number");
  EXPECT_EQ(Hl7FieldFor("child.nhs_number"), "PID-3");
  EXPECT_EQ(Hl7FieldFor("household[1].relationship"), "NK1(2)-3");
  EXPECT_EQ(Hl7FieldFor("household[0].lives_with_child"), "ZLF-17.2");
  EXPECT_EQ(Hl7FieldFor("concerns[0]"), "ZLF-4");
  EXPECT_EQ(Hl7FieldFor("hospital_liaison.follow_up_requested[1]"), "ZLF-16");
  EXPECT_EQ(Hl7FieldFor("type"), "");
  // An empty Y/N is "not said", which the rules may require.
  parsed = ParseLiaisonForm(WithField(kSample, "ZLF", 14, ""));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->notification.hospital_liaison().has_mash_referral_made());
}

TEST(Hl7Location, WrittenAndReadBack) {
  for (const std::string text : {"PID", "PID-3", "PID-5.2", "NK1(2)-3", "ZLF-17.4"}) {
    auto location = Hl7Location::FromString(text);
    ASSERT_TRUE(location.has_value()) << text;
    EXPECT_EQ(location->ToString(), text);
  }
  EXPECT_FALSE(Hl7Location::FromString("child.nhs_number").has_value());
  EXPECT_FALSE(Hl7Location::FromString("PID-").has_value());
  EXPECT_FALSE(Hl7Location::FromString("segment 4").has_value());
}

std::vector<std::string> Segments(const std::string& message) {
  std::vector<std::string> out;
  std::stringstream in(message);
  for (std::string line; std::getline(in, line, '\r');) out.push_back(line);
  return out;
}

TEST(Hl7Ack, AcceptedEchoesTheControlIdAndSwapsTheApplications) {
  auto header = ReadHl7Header(kSample);
  ASSERT_TRUE(header.has_value());
  const std::string ack =
      BuildAck(header, AcceptedAck("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01", false), "ACK1",
               *ParseTimestamp("2026-11-23T10:15:02Z"));
  std::vector<std::string> lines = Segments(ack);
  ASSERT_EQ(lines.size(), 2u) << ack;
  EXPECT_EQ(lines[0],
            "MSH|^~\\&|DUTYHUB|NORTHSHIRE|GWH-ED|GWH|20261123101502+0000||ACK^A08^ACK|ACK1|P|2.5");
  EXPECT_EQ(
      lines[1],
      "MSA|AA|GWHED-20261123-000118|Accepted as notification 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  EXPECT_NE(BuildAck(header, AcceptedAck("x", true), "ACK2", 0)
                .find("MSA|AA|GWHED-20261123-000118|Already accepted"),
            std::string::npos);
}

// HL7 table 0008: a broken rule is an error in the message (AE), for the sender to fix.
TEST(Hl7Ack, BrokenRulesAreAnErrorWithEachRuleInItsOwnErr) {
  Status status = Status::InvalidArgument(
      "the notification breaks 2 rules",
      {{"child.nhs_number", "This fails the NHS number check digit: check it."},
       {"household[1].relationship", "Required: choose MOTHER | FATHER."}});
  const std::string ack = BuildAck(ReadHl7Header(kSample), BrokenRulesAck(status), "ACK3", 0);
  std::vector<std::string> lines = Segments(ack);
  ASSERT_EQ(lines.size(), 4u) << ack;
  EXPECT_EQ(lines[1],
            "MSA|AE|GWHED-20261123-000118|Error: the form breaks 2 rules: child.nhs_number, "
            "household[1].relationship");
  EXPECT_EQ(lines[2],
            "ERR||PID^1^3|102^Data type error^HL70357|E|child.nhs_number|||"
            "child.nhs_number (PID-3): This fails the NHS number check digit: check it.");
  EXPECT_EQ(lines[3],
            "ERR||NK1^2^3|101^Required field missing^HL70357|E|household[1].relationship|||"
            "household[1].relationship (NK1(2)-3): Required: choose MOTHER \\F\\ FATHER.");
}

TEST(Hl7Ack, ErrorNamesTheFieldThatCouldNotBeRead) {
  auto parsed = ParseLiaisonForm(WithField(WithField(kSample, "PID", 8, "Q"), "PV1", 44, ""));
  ASSERT_FALSE(parsed.ok());
  std::vector<std::string> lines =
      Segments(BuildAck(ReadHl7Header(kSample), ErrorAck(parsed.status()), "ACK4", 0));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].rfind("MSA|AE|GWHED-20261123-000118|Not taken: PID-8: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("ERR||PID^1^8|103^Table value not found^HL70357|E||||PID-8: ", 0), 0u)
      << lines[2];
  // Not even a header: the ACK still goes back, with nothing to echo.
  lines = Segments(BuildAck(std::nullopt, ErrorAck(ParseLiaisonForm("hello").status()), "ACK5", 0));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "MSH|^~\\&|DUTYHUB||||19700101000000+0000||ACK^^ACK|ACK5|P|2.5");
  EXPECT_EQ(lines[1].rfind("MSA|AE||Not taken: MSH: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("ERR||MSH^1|100^Segment sequence error^HL70357|E|", 0), 0u) << lines[2];
}

// HL7 table 0008: AR is a refusal for a reason unrelated to the content (the sender decides
// whether to send it again), and 2.9.2's for a message type, processing id or version the
// receiver does not take.
TEST(Hl7Ack, NotStoredAndUnsupportedMessagesAreRejectedNotErrors) {
  std::vector<std::string> lines = Segments(BuildAck(
      ReadHl7Header(kSample),
      NotTakenAck(Status::Unavailable("the adapter could not store the form: send it again later")),
      "ACK6", 0));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1],
            "MSA|AR|GWHED-20261123-000118|Not taken: the adapter could not store the "
            "form: send it again later");
  EXPECT_EQ(lines[2].rfind("ERR|||207^Application internal error^HL70357|E|", 0), 0u) << lines[2];
  for (const auto& [field, value, code] : std::vector<std::tuple<int, std::string, std::string>>{
           {9, "ORU^R01^ORU_R01", "200"}, {11, "T", "202"}, {12, "3.0", "203"}}) {
    // MSH-1 is the field separator itself, so MSH-n is the (n-1)th field after "MSH".
    auto parsed = ParseLiaisonForm(WithField(kSample, "MSH", field - 1, value));
    ASSERT_FALSE(parsed.ok()) << field;
    lines = Segments(BuildAck(ReadHl7Header(kSample), ErrorAck(parsed.status()), "ACK7", 0));
    ASSERT_GE(lines.size(), 3u) << field;
    EXPECT_EQ(lines[1].rfind("MSA|AR|", 0), 0u) << field << ": " << lines[1];
    EXPECT_NE(lines[2].find("|" + code + "^"), std::string::npos) << field << ": " << lines[2];
  }
}

TEST(Mllp, FramesSurviveReadsOfEverySize) {
  const std::string first = kSample;
  const std::string second = "MSH|^~\\&|B\rPID|1\r";
  const std::string stream = "\r\n" + MllpFrame(first) + MllpFrame(second) + "\n";
  for (size_t chunk : {1u, 2u, 3u, 7u, 64u, 100000u}) {
    MllpDecoder decoder;
    std::vector<std::string> frames;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      decoder.Feed(std::string_view(stream).substr(at, chunk));
      while (auto frame = decoder.Next()) {
        ASSERT_TRUE(frame->ok());
        frames.push_back(**frame);
      }
    }
    EXPECT_EQ(frames, (std::vector<std::string>{first, second})) << "chunk " << chunk;
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_FALSE(decoder.in_frame());
  }
}

TEST(Mllp, AnOversizedFrameIsDroppedAndTheNextOneStillRead) {
  MllpDecoder decoder(16);
  decoder.Feed(
      "\x0b"
      "0123456789");
  decoder.Feed("0123456789");  // past 16: nothing more is kept
  EXPECT_EQ(decoder.buffered(), 0u);
  EXPECT_FALSE(decoder.Next().has_value());
  decoder.Feed(std::string(1000, 'x') + "\x1c\x0d" + MllpFrame("small"));
  auto dropped = decoder.Next();
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(dropped->status().code(), Code::kInvalidArgument);
  auto next = decoder.Next();
  ASSERT_TRUE(next.has_value() && next->ok());
  EXPECT_EQ(**next, "small");
  // Exactly the limit is allowed.
  decoder.Feed(MllpFrame(std::string(16, 'y')));
  EXPECT_EQ(**decoder.Next(), std::string(16, 'y'));
}

TEST(Mllp, ANewStartBlockAbandonsAHalfSentFrameAndAMissingCarriageReturnIsTolerated) {
  MllpDecoder decoder;
  decoder.Feed(
      "\x0b"
      "half of a mes");
  EXPECT_TRUE(decoder.in_frame());
  decoder.Feed(
      "\x0b"
      "whole\x1c"
      "\x0b"
      "next\x1c\x0d");
  EXPECT_EQ(**decoder.Next(), "whole");
  EXPECT_EQ(**decoder.Next(), "next");
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_EQ(MllpFrame("m"), std::string("\x0bm\x1c\x0d"));
}

}  // namespace
}  // namespace dutyhub
