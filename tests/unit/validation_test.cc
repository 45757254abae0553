// The rules of docs/notifications.md as the samples exercise them. Each rule test starts
// from a valid sample, breaks one field and asserts the exact set of fields reported, so a
// rule that stops firing, or one that starts firing on the wrong field, fails here.
#include "broker/validation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "broker/time_text.h"

namespace dutyhub {
namespace {

using v1::HospitalLiaison;
using v1::MashRequest;
using v1::Notification;
using v1::Person;
using Fields = std::vector<std::string>;

constexpr const char* kNonMobile = "hospital-liaison-non-mobile-injury.json";
constexpr const char* kSchoolAge = "hospital-liaison-school-age.json";
constexpr const char* kHomeVisit = "mash-request-home-visit.json";
constexpr const char* kGpInformation = "mash-request-gp-information.json";
constexpr const char* kUnborn = "mash-request-unborn-midwifery.json";
constexpr const char* kScbuMentalHealth = "scbu-discharge-mental-health-no-meeting.json";
constexpr const char* kScbuUnknownArea = "scbu-discharge-unknown-area.json";
constexpr const char* kValidSamples[] = {kNonMobile,      kSchoolAge, kHomeVisit,
                                         kGpInformation,  kUnborn,    kScbuMentalHealth,
                                         kScbuUnknownArea};
constexpr std::string_view kUnreadablePrefix =
    "the notification is not readable JSON in the notifications.md form: ";

TimeMs At(std::string_view text) {
  std::optional<TimeMs> t = ParseTimestamp(text);
  EXPECT_TRUE(t.has_value()) << "bad timestamp in test: " << text;
  return t.value_or(0);
}

// The samples' day: after every sample was made. kLater is two days on.
const TimeMs kNow = At("2026-11-23T16:00:00Z");
const TimeMs kLater = At("2026-11-25T19:00:00Z");

std::string ReadSample(std::string_view name) {
  std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + std::string(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read sample " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Notification LoadSample(std::string_view name) {
  Result<Notification> parsed = ParseNotificationJson(ReadSample(name));
  EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : Notification();
}

// Sorted, duplicates kept: a rule reported twice is a bug too.
Fields FieldsOf(const std::vector<Violation>& violations) {
  Fields fields;
  for (const Violation& v : violations) fields.push_back(v.field);
  std::sort(fields.begin(), fields.end());
  return fields;
}

// The fields reported after `breaker` changes a valid sample.
Fields FieldsAfter(std::string_view sample, const std::function<void(Notification&)>& breaker,
                   TimeMs now = kNow) {
  Notification n = LoadSample(sample);
  EXPECT_EQ(FieldsOf(Validate(n, now)), Fields{}) << sample << " should be valid before breaking";
  breaker(n);
  return FieldsOf(Validate(n, now));
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test text not found: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string DescriptionOf(const std::vector<Violation>& violations, std::string_view field) {
  for (const Violation& v : violations) {
    if (v.field == field) return v.description;
  }
  return "";
}

// --- The samples, as samples/README.md says they behave. ---

class ValidSampleTest : public testing::TestWithParam<const char*> {};

TEST_P(ValidSampleTest, HasNoViolationsOnTheDay) {
  std::vector<Violation> violations = Validate(LoadSample(GetParam()), kNow);
  EXPECT_TRUE(violations.empty()) << CheckNotification(LoadSample(GetParam()), kNow).ToString();
}

TEST_P(ValidSampleTest, HasNoViolationsTwoDaysLater) {
  EXPECT_EQ(FieldsOf(Validate(LoadSample(GetParam()), kLater)), Fields{});
}

TEST_P(ValidSampleTest, CheckNotificationIsOk) {
  EXPECT_TRUE(CheckNotification(LoadSample(GetParam()), kNow).ok());
}

INSTANTIATE_TEST_SUITE_P(Samples, ValidSampleTest, testing::ValuesIn(kValidSamples));

TEST(InvalidSampleTest, NhsNumberFailsTheCheckDigit) {
  for (TimeMs now : {kNow, kLater}) {
    EXPECT_EQ(FieldsOf(Validate(LoadSample("invalid-nhs-number.json"), now)),
              Fields{"child.nhs_number"});
  }
}

TEST(InvalidSampleTest, FatherRecordedButAbsent) {
  for (TimeMs now : {kNow, kLater}) {
    EXPECT_EQ(FieldsOf(Validate(LoadSample("invalid-father-recorded-but-absent.json"), now)),
              Fields{"father_status"});
  }
}

TEST(InvalidSampleTest, ManyErrorsAreReportedAllAtOnceAndNothingElse) {
  for (TimeMs now : {kNow, kLater}) {
    std::vector<Violation> violations = Validate(LoadSample("invalid-many-errors.json"), now);
    EXPECT_EQ(FieldsOf(violations),
              (Fields{"scbu_discharge.gestation_weeks", "scbu_discharge.mental_health_details",
                      "summary", "type"}));
    EXPECT_NE(DescriptionOf(violations, "type")
                  .find("type is HOSPITAL_LIAISON but the body is scbu_discharge"),
              std::string::npos);
  }
}

TEST(InvalidSampleTest, ManyErrorsFoldIntoOneInvalidArgument) {
  Status status = CheckNotification(LoadSample("invalid-many-errors.json"), kNow);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(status.violations().size(), 4u);
}

TEST(InvalidSampleTest, NotJsonIsUnreadableAndNotEchoed) {
  Result<Notification> parsed = ParseNotificationJson(ReadSample("invalid-not-json.txt"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  const std::string& message = parsed.status().message();
  EXPECT_EQ(message.rfind(kUnreadablePrefix, 0), 0u) << message;
  for (std::string_view echoed : {"Ellis", "northshire", "From", "visit"}) {
    EXPECT_EQ(message.find(echoed), std::string::npos) << message;
  }
}

// --- ParseNotificationJson. ---

TEST(ParseTest, EmptyInputIsRefused) {
  Result<Notification> parsed = ParseNotificationJson("");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("empty"), std::string::npos);
}

TEST(ParseTest, InputOverOneMebibyteIsRefusedAndOneMebibyteIsRead) {
  const std::string sample = ReadSample(kHomeVisit);
  std::string at_limit = sample + std::string(1024 * 1024 - sample.size(), ' ');
  EXPECT_TRUE(ParseNotificationJson(at_limit).ok());
  Result<Notification> parsed = ParseNotificationJson(at_limit + " ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("1 MiB"), std::string::npos);
}

// In the order the refusal gives them.
Fields InOrder(const Status& status) {
  Fields fields;
  for (const Violation& v : status.violations()) fields.push_back(v.field);
  return fields;
}

// Everything a refusal says, for checking it quotes nothing of the form.
std::string Said(const Status& status) {
  std::string text = status.message();
  for (const Violation& v : status.violations()) text += "\n" + v.field + ": " + v.description;
  return text;
}

TEST(ParseTest, UnknownFieldIsRefusedByName) {
  Result<Notification> parsed = ParseNotificationJson(Replace(
      ReadSample(kHomeVisit), "\"sex\": \"MALE\"", "\"sex\": \"MALE\", \"nickname\": \"x\""));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"child.nickname"})
      << Said(parsed.status());
}

TEST(ParseTest, UnknownFieldThatLooksLikeDataIsNotEchoed) {
  Result<Notification> parsed = ParseNotificationJson(
      Replace(ReadSample(kHomeVisit), "\"sex\": \"MALE\"", "\"sex\": \"MALE\", \"Noah Ellis\": 1"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Said(parsed.status()).find("Noah"), std::string::npos) << Said(parsed.status());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"child.(a key not shown)"});
}

TEST(ParseTest, WrongKindOfValueNamesTheFieldButNotTheValue) {
  Result<Notification> parsed = ParseNotificationJson(Replace(
      ReadSample(kNonMobile), "\"nhs_number\": \"999 339 5633\"", "\"nhs_number\": 9993395633"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"child.nhs_number"})
      << Said(parsed.status());
  EXPECT_EQ(parsed.status().violations()[0].description, "Must be text, in quotes.");
  EXPECT_EQ(Said(parsed.status()).find("9993395633"), std::string::npos) << Said(parsed.status());
}

TEST(ParseTest, UnknownEnumNameIsNotEchoed) {
  Result<Notification> parsed = ParseNotificationJson(
      Replace(ReadSample(kNonMobile), "\"sex\": \"FEMALE\"", "\"sex\": \"Ava Moss\""));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Said(parsed.status()).find("Ava"), std::string::npos) << Said(parsed.status());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"child.sex"});
}

// notifications.md: every broken rule at once, each with its field path. A form with fields
// in the wrong shape is readable JSON, and its sender hears about each of them and about
// every rule the rest breaks, in the form's order, never the parser's first complaint alone.
TEST(ParseTest, FieldsInTheWrongShapeAreEachNamedWithTheRulesTheRestBreaks) {
  std::string json = ReadSample(kNonMobile);
  json = Replace(json, "\"priority\": \"URGENT\"", "\"priority\": \"HIGH\"");
  json = Replace(json, "\"sex\": \"FEMALE\"", "\"sex\": \"F\"");
  json = Replace(json, "\"nhs_number\": \"999 339 5633\"", "\"nhs_number\": \"999 339 5634\"");
  json = Replace(json, "\"relationship\": \"FATHER\"", "\"relationship\": \"DAD\"");
  json = Replace(json, "\"injury_present\": true", "\"injury_present\": \"yes\"");
  json = Replace(json, "\"GP\"\n", "\"G.P.\"\n");
  json = Replace(json, "\"site\": \"Great Western Hospital\"", "\"site\": 7");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  // The shapes first, in the form's order; then the rules the rest breaks. His relationship
  // left out, whether the father is there is not known: `father_status` is not also said to
  // be wrong.
  EXPECT_EQ(InOrder(parsed.status()),
            (Fields{"priority", "child.sex", "household[1].relationship", "hospital_liaison.site",
                    "hospital_liaison.injury_present", "hospital_liaison.follow_up_requested[1]",
                    "child.nhs_number"}))
      << Said(parsed.status());
  EXPECT_NE(parsed.status().message().find("breaks 7 rules"), std::string::npos)
      << parsed.status().message();
  const std::vector<Violation>& v = parsed.status().violations();
  EXPECT_EQ(v[0].description,
            "Must be one of ROUTINE, URGENT or IMMEDIATE, in quotes, written "
            "exactly so.");
  EXPECT_EQ(v[4].description, "Must be true or false, without quotes.");
  for (const char* quoted : {"HIGH", "DAD", "yes", "G.P.", "5634"}) {
    EXPECT_EQ(Said(parsed.status()).find(quoted), std::string::npos) << quoted;
  }
}

TEST(ParseTest, WithoutTheTimeOnlyTheFieldsInTheWrongShapeAreNamed) {
  std::string json =
      Replace(ReadSample(kNonMobile), "\"priority\": \"URGENT\"", "\"priority\": \"HIGH\"");
  json = Replace(json, "\"nhs_number\": \"999 339 5633\"", "\"nhs_number\": \"999 339 5634\"");
  Result<Notification> parsed = ParseNotificationJson(json);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"priority"});
}

// Left out for its shape, a required field is not also said to be missing; nor is what a
// whole object in the wrong shape would have held.
TEST(ParseTest, AFieldInTheWrongShapeIsNamedOnceNotAlsoAsMissing) {
  std::string json =
      Replace(ReadSample(kNonMobile), "\"summary\": \"9-week-old", "\"summary\": [\"9-week-old");
  json = Replace(json, "appeared this morning.\",", "appeared this morning.\"],");
  json = Replace(json, "\"author\": {", "\"author\": \"Nurse Jo Hale\", \"unused\": {");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(InOrder(parsed.status()), (Fields{"author", "summary", "unused"}))
      << Said(parsed.status());
  EXPECT_EQ(parsed.status().violations()[0].description,
            "Must be an object, in { }, of its own fields (see notifications.md).");
}

// A list keeps its other members in their places: what the rules say of household[1] is of
// the same household[1] the sender wrote.
TEST(ParseTest, AListMemberInTheWrongShapeKeepsTheOthersInTheirPlaces) {
  std::string json = Replace(ReadSample(kNonMobile), "\"household\": [\n    {",
                             "\"household\": [\n    \"Kayleigh\", {");
  json = Replace(json, "\"relationship\": \"FATHER\"",
                 "\"relationship\": \"FATHER\", "
                 "\"date_of_birth\": \"2099-01-01\"");
  json = Replace(json, "\"date_of_birth\": \"1998-07-02\",", "");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status().violations()),
            (Fields{"household[0]", "household[2].date_of_birth"}))
      << Said(parsed.status());
  EXPECT_EQ(Said(parsed.status()).find("Kayleigh"), std::string::npos);
}

// protobuf's JSON reads a whole number in quotes, and a null as not given: so does the walk,
// which names only what the parser cannot read.
TEST(ParseTest, QuotedNumbersAndNullsAreReadAsTheParserReadsThem) {
  std::string json = Replace(ReadSample(kScbuMentalHealth), "\"gestation_weeks\": 35",
                             "\"gestation_weeks\": \"35\"");
  json = Replace(json, "\"area\":", "\"mash_request\": null, \"area\":");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_TRUE(parsed.ok()) << Said(parsed.status());
  EXPECT_EQ(parsed->scbu_discharge().gestation_weeks(), 35);

  json = Replace(json, "\"area\":", "\"priority\": \"HIGH\", \"area\":");
  json = Replace(json, "\"priority\": \"ROUTINE\",", "");
  parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"priority"}) << Said(parsed.status());
}

// A crafted form: a list of half a million members, each of the wrong shape, in 1 MiB. Named
// (the first hundred, and how many more) in about the time any 1 MiB form takes to read and
// check (a few tenths of a second here), never in the hours a check per member of every
// member before it would take.
TEST(ParseTest, AHugeListOfWrongMembersIsRefusedPromptly) {
  std::string json = "{\"household\": [0";
  while (json.size() < 1024 * 1024 - 8) json += ",0";
  json += "]}";
  const auto started = std::chrono::steady_clock::now();
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(took, std::chrono::seconds(5));
  const std::vector<Violation>& v = parsed.status().violations();
  ASSERT_EQ(v.size(), 101u);
  // Each member once, listed or counted, and besides them what an empty form breaks.
  const size_t members = static_cast<size_t>(std::count(json.begin(), json.end(), '0'));
  const std::string empty = CheckNotification(Notification(), kNow).message();
  const size_t empty_breaks = std::stoul(empty.substr(empty.find("breaks ") + 7));
  EXPECT_NE(
      parsed.status().message().find("breaks " + std::to_string(members + empty_breaks) + " rules"),
      std::string::npos)
      << parsed.status().message() << " (" << members << " members)";
  EXPECT_EQ(v[0].field, "household[0]");
  EXPECT_EQ(v.back().field, "notification");
  EXPECT_NE(v.back().description.find(" more broken rules"), std::string::npos);
}

// Two bodies: the one `type` names is kept and checked; the other is the one refused.
TEST(ParseTest, OfTwoBodiesTheOneTypeNamesIsKept) {
  std::string json = Replace(ReadSample(kScbuMentalHealth), "\"scbu_discharge\": {",
                             "\"hospital_liaison\": {\"site\": \"x\"}, \"scbu_discharge\": {");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(InOrder(parsed.status()), Fields{"hospital_liaison"}) << Said(parsed.status());
}

// One field under both its spellings (protobuf's JSON reads nhs_number and nhsNumber alike),
// the second in the wrong shape: named once, as given twice, and counted once.
TEST(ParseTest, AFieldGivenUnderBothItsSpellingsIsNamedOnce) {
  std::string json = Replace(ReadSample(kNonMobile), "\"nhs_number\": \"999 339 5633\"",
                             "\"nhs_number\": \"999 339 5633\", \"nhsNumber\": 5");
  Result<Notification> parsed = ParseNotificationJson(json, kNow);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(InOrder(parsed.status()), Fields{"child.nhs_number"}) << Said(parsed.status());
  EXPECT_NE(parsed.status().message().find("breaks 1 rule"), std::string::npos)
      << parsed.status().message();
}

TEST(FormFieldLabelTest, FieldsOfTheFormWithoutPositionsAndOneLabelForAnythingElse) {
  EXPECT_EQ(FormFieldLabel("household[2].relationship"), "household[].relationship");
  EXPECT_EQ(FormFieldLabel("child.nhs_number"), "child.nhs_number");
  EXPECT_EQ(FormFieldLabel("hospital_liaison.follow_up_requested[1]"),
            "hospital_liaison.follow_up_requested[]");
  EXPECT_EQ(FormFieldLabel("body"), "body");
  EXPECT_EQ(FormFieldLabel("notification"), "notification");
  for (const char* other : {"child.ava_moss", "ava_moss", "child.(a key not shown)",
                            "child.nhs_number.more", "body.x", ""}) {
    EXPECT_EQ(FormFieldLabel(other), "(not a field of the form)") << other;
  }
}

TEST(ParseTest, TextAroundASyntaxErrorIsNotEchoed) {
  std::string json = Replace(ReadSample(kNonMobile), "\"given_name\": \"Ava\",",
                             "\"given_name\": \"Ava\" \"Moss\",");
  Result<Notification> parsed = ParseNotificationJson(json);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind(kUnreadablePrefix, 0), 0u);
  EXPECT_EQ(parsed.status().message().find("Ava"), std::string::npos) << parsed.status().message();
  EXPECT_EQ(parsed.status().message().find("Moss"), std::string::npos) << parsed.status().message();
}

TEST(ParseTest, AKeyAtTheTopThatHoldsABracketIsNotEchoed) {
  for (const std::string key : {"9434765919) x", "(Ava Moss 9434765919) x"}) {
    Result<Notification> parsed = ParseNotificationJson(
        Replace(ReadSample(kNonMobile), "\"summary\":", "\"" + key + "\": 1, \"summary\":"));
    ASSERT_FALSE(parsed.ok()) << key;
    EXPECT_EQ(parsed.status().message().find("9434765919"), std::string::npos)
        << parsed.status().message();
    EXPECT_EQ(parsed.status().message().find("Ava"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(ParseTest, AMessageOfAnyOtherShapeQuotesNothingFromTheForm) {
  // Nested past the parser's depth: its message names the key where it gave up.
  std::string deep;
  for (int i = 0; i < 120; ++i) deep += "{\"Ava Moss 9434765919\": ";
  deep += "1";
  for (int i = 0; i < 120; ++i) deep += "}";
  Result<Notification> parsed = ParseNotificationJson(deep);
  ASSERT_FALSE(parsed.ok());
  const std::string& message = parsed.status().message();
  EXPECT_EQ(message.rfind(kUnreadablePrefix, 0), 0u) << message;
  EXPECT_EQ(message.find("Ava"), std::string::npos) << message;
  EXPECT_EQ(message.find("9434765919"), std::string::npos) << message;
}

TEST(ParseTest, TwoBodiesAreRefused) {
  Result<Notification> parsed =
      ParseNotificationJson(Replace(ReadSample(kHomeVisit), "\"mash_request\": {",
                                    "\"scbu_discharge\": {}, \"mash_request\": {"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(FieldsOf(parsed.status().violations()), Fields{"scbu_discharge"})
      << Said(parsed.status());
  EXPECT_EQ(parsed.status().violations()[0].description,
            "Only one of hospital_liaison, mash_request and scbu_discharge may be given, the one "
            "`type` names: this form has more.");
}

// --- The NHS number. ---

TEST(NhsNumberTest, KnownGoodNumbersPass) {
  for (std::string_view number :
       {"9993395633", "9999939082", "9991581766", "9994140027", "9990506310", "9990759545"}) {
    EXPECT_TRUE(IsValidNhsNumber(number)) << number;
  }
}

TEST(NhsNumberTest, WrongCheckDigitFails) {
  EXPECT_FALSE(IsValidNhsNumber("9993395634"));
  EXPECT_FALSE(IsValidNhsNumber("9990001112"));  // the invalid sample's number
}

TEST(NhsNumberTest, CheckOfTenIsNeverValid) {
  // 9*10 + 9*9 + 9*8 = 243, 243 mod 11 = 1, so the check would be 10: no last digit works.
  for (char last = '0'; last <= '9'; ++last) {
    EXPECT_FALSE(IsValidNhsNumber(std::string("999000000") + last)) << last;
  }
}

TEST(NhsNumberTest, CheckOfElevenMeansZero) {
  // 243 + 5*2 = 253 = 23 * 11: the check is 11, written 0.
  EXPECT_TRUE(IsValidNhsNumber("9990000050"));
  EXPECT_FALSE(IsValidNhsNumber("9990000051"));
}

TEST(NhsNumberTest, WrongLengthFails) {
  EXPECT_FALSE(IsValidNhsNumber(""));
  EXPECT_FALSE(IsValidNhsNumber("999339563"));
  EXPECT_FALSE(IsValidNhsNumber("99933956330"));
}

TEST(NhsNumberTest, LettersFail) {
  EXPECT_FALSE(IsValidNhsNumber("999339563A"));
  EXPECT_FALSE(IsValidNhsNumber("A993395633"));
}

TEST(NhsNumberTest, SpacesAreRemovedBeforeTheCheck) {
  EXPECT_EQ(NormalizeNhsNumber("999 339 5633"), "9993395633");
  EXPECT_EQ(NormalizeNhsNumber(" 9993395633 "), "9993395633");
  EXPECT_FALSE(IsValidNhsNumber("999 339 5633"));  // IsValidNhsNumber takes digits only
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.mutable_child()->set_nhs_number("999 158 1766"); }),
            Fields{});
}

TEST(NhsNumberTest, ChildNumberIsChecked) {
  for (std::string_view bad :
       {"9991581767", "999158176", "99915817660", "999158176X", "999-158-1766"}) {
    EXPECT_EQ(
        FieldsAfter(kHomeVisit,
                    [&](Notification& n) { n.mutable_child()->set_nhs_number(std::string(bad)); }),
        Fields{"child.nhs_number"})
        << bad;
  }
}

TEST(NhsNumberTest, HouseholdNumberIsChecked) {
  EXPECT_EQ(
      FieldsAfter(kUnborn,
                  [](Notification& n) { n.mutable_household(0)->set_nhs_number("9990759546"); }),
      Fields{"household[0].nhs_number"});
}

// --- The envelope. ---

TEST(EnvelopeTest, IdIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_id(); }), Fields{"id"});
}

TEST(EnvelopeTest, IdMustBeAUuid) {
  for (std::string_view bad :
       {"6f1c2a7e3b4d4e5f8a9b0c1d2e3f4a03", "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a0g",
        "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a0", "MASH-2026-118377"}) {
    EXPECT_EQ(FieldsAfter(kHomeVisit, [&](Notification& n) { n.set_id(std::string(bad)); }),
              Fields{"id"})
        << bad;
  }
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.set_id("6F1C2A7E-3B4D-4E5F-8A9B-0C1D2E3F4A03"); }),
            Fields{});
}

TEST(EnvelopeTest, TypeIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_type(); }), Fields{"type"});
}

TEST(EnvelopeTest, UnknownTypeNumberIsRefused) {
  Result<Notification> parsed = ParseNotificationJson(
      Replace(ReadSample(kHomeVisit), "\"type\": \"MASH_REQUEST\"", "\"type\": 7"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(FieldsOf(Validate(*parsed, kNow)), Fields{"type"});
}

TEST(EnvelopeTest, TypeMustMatchTheBody) {
  Notification n = LoadSample(kHomeVisit);
  n.set_type(Notification::HOSPITAL_LIAISON);
  std::vector<Violation> violations = Validate(n, kNow);
  EXPECT_EQ(FieldsOf(violations), Fields{"type"});
  EXPECT_NE(DescriptionOf(violations, "type")
                .find("type is HOSPITAL_LIAISON but the body is mash_request"),
            std::string::npos)
      << DescriptionOf(violations, "type");
}

TEST(EnvelopeTest, BodyIsRequiredUnderTheTypesName) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_mash_request(); }),
            Fields{"mash_request"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea, [](Notification& n) { n.clear_scbu_discharge(); }),
            Fields{"scbu_discharge"});
  EXPECT_EQ(FieldsAfter(kSchoolAge, [](Notification& n) { n.clear_hospital_liaison(); }),
            Fields{"hospital_liaison"});
}

TEST(EnvelopeTest, NoTypeAndNoBody) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) {
                          n.clear_type();
                          n.clear_mash_request();
                        }),
            (Fields{"body", "type"}));
}

TEST(EnvelopeTest, PriorityIsRequiredAndKnown) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_priority(); }),
            Fields{"priority"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit,
                  [](Notification& n) { n.set_priority(static_cast<Notification::Priority>(9)); }),
      Fields{"priority"});
}

TEST(EnvelopeTest, CreatedAtIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_created_at(); }),
            Fields{"created_at"});
}

TEST(EnvelopeTest, CreatedAtMustBeRfc3339WithAnOffset) {
  for (std::string_view bad :
       {"2026-11-23 09:05", "2026-11-23T09:05:00", "23/11/2026 09:05", "2026-11-31T09:05:00Z"}) {
    EXPECT_EQ(FieldsAfter(kHomeVisit, [&](Notification& n) { n.set_created_at(std::string(bad)); }),
              Fields{"created_at"})
        << bad;
  }
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.set_created_at("2026-11-23T09:05:00+01:00"); }),
            Fields{});
}

TEST(EnvelopeTest, CreatedAtAtMostFiveMinutesAfterNow) {
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.set_created_at("2026-11-23T16:05:01Z"); }),
      Fields{"created_at"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.set_created_at("2026-11-23T16:05:00Z"); }),
      Fields{});
}

TEST(EnvelopeTest, AreaIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_area(); }), Fields{"area"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.set_area("  "); }), Fields{"area"});
}

TEST(EnvelopeTest, AuthorNameAndPhoneAreRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_author(); }),
            (Fields{"author.name", "author.phone"}));
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_author()->clear_name(); }),
            Fields{"author.name"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_author()->set_phone(" "); }),
            Fields{"author.phone"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_author()->clear_email(); }),
            Fields{});
}

TEST(EnvelopeTest, SummaryIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_summary(); }), Fields{"summary"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.set_summary("\n "); }),
            Fields{"summary"});
}

TEST(EnvelopeTest, SummaryIsAtMostTwoThousandCharactersNotBytes) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.set_summary(std::string(2001, 'a')); }),
            Fields{"summary"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.set_summary(std::string(2000, 'a')); }),
            Fields{});
  std::string accented;
  for (int i = 0; i < 2000; ++i) accented += "\xC3\xA9";  // é: 2 bytes, 1 character
  EXPECT_EQ(FieldsAfter(kHomeVisit, [&](Notification& n) { n.set_summary(accented); }), Fields{});
  EXPECT_EQ(FieldsAfter(kHomeVisit, [&](Notification& n) { n.set_summary(accented + "a"); }),
            Fields{"summary"});
}

// A form the broker's socket would drop unanswered (its bound is at least 1 MiB) must be
// refused here, naming what to shorten: an adapter's outbox would otherwise send it again
// forever, with everything queued behind it waiting.
TEST(EnvelopeTest, ANotificationOver960KibIsRefusedNamingItsLongestField) {
  auto sized = [](size_t bytes) {
    return
        [bytes](Notification& n) { n.mutable_mash_request()->set_reason(std::string(bytes, 'a')); };
  };
  EXPECT_EQ(FieldsAfter(kHomeVisit, sized(kMaxNotificationBytes)), Fields{"mash_request.reason"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, sized(kMaxNotificationBytes - 4096)), Fields{});
  // The longest field is named wherever it is, here in the second of the household.
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) {
                          n.mutable_mash_request()->set_reason(std::string(300 * 1024, 'a'));
                          n.mutable_household(1)->set_family_name(std::string(700 * 1024, 'b'));
                        }),
            Fields{"household[1].family_name"});
  Notification big = LoadSample(kHomeVisit);
  sized(kMaxNotificationBytes)(big);
  const std::string description = DescriptionOf(Validate(big, kNow), "mash_request.reason");
  EXPECT_NE(description.find("960 KiB"), std::string::npos) << description;
}

// A reply lists at most a hundred broken rules, then says how many more.
TEST(EnvelopeTest, AtMostAHundredViolationsAreListedThenHowManyMore) {
  Notification n = LoadSample(kHomeVisit);
  for (int i = 0; i < 150; ++i) n.add_concerns(Notification::CONCERN_UNSPECIFIED);
  std::vector<Violation> violations = Validate(n, kNow);
  ASSERT_EQ(violations.size(), 101u);
  EXPECT_EQ(violations.back().field, "notification");
  EXPECT_NE(violations.back().description.find("And 50 more broken rules"), std::string::npos)
      << violations.back().description;
  Status folded = CheckNotification(n, kNow);
  EXPECT_NE(folded.message().find("breaks 150 rules"), std::string::npos) << folded.message();
  for (int i = 0; i < 100; ++i) n.mutable_concerns()->RemoveLast();
  EXPECT_EQ(Validate(n, kNow).size(), 50u) << "fifty are all listed";
}

TEST(EnvelopeTest, ConcernsMustNotBeUnspecified) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.add_concerns(Notification::CONCERN_UNSPECIFIED); }),
            Fields{"concerns[2]"});
}

// --- The child and the household. ---

TEST(ChildTest, ChildIsRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.clear_child(); }), Fields{"child"});
}

TEST(ChildTest, BornChildMustBeNamed) {
  EXPECT_EQ(FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_child()->clear_given_name(); }),
            Fields{"child.given_name"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_child()->set_family_name(" "); }),
      Fields{"child.family_name"});
}

TEST(ChildTest, UnbornChildMayBeUnnamed) {
  Notification n = LoadSample(kUnborn);
  ASSERT_TRUE(n.child().given_name().empty());
  ASSERT_TRUE(n.child().family_name().empty());
  EXPECT_EQ(FieldsOf(Validate(n, kNow)), Fields{});
}

TEST(ChildTest, DateOfBirthOrExpectedDeliveryDateIsRequired) {
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_child()->clear_date_of_birth(); }),
      Fields{"child.date_of_birth"});
}

TEST(ChildTest, NotBothDateOfBirthAndExpectedDeliveryDate) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) {
                          n.mutable_child()->set_expected_delivery_date("2026-12-01");
                        }),
            Fields{"child.expected_delivery_date"});
}

TEST(ChildTest, DateOfBirthMustBeARealDate) {
  for (std::string_view bad : {"30/08/2026", "2026-8-30", "2026-02-30", "2026-08-30T00:00:00Z"}) {
    EXPECT_EQ(FieldsAfter(
                  kHomeVisit,
                  [&](Notification& n) { n.mutable_child()->set_date_of_birth(std::string(bad)); }),
              Fields{"child.date_of_birth"})
        << bad;
  }
}

// "Not in the future" means not after the latest date anywhere at that moment (UTC+14): a
// baby born at 00:30 BST is born "today" in London while UTC still says yesterday.
TEST(ChildTest, DateOfBirthNotAfterTheLatestTodayAnywhere) {
  auto born = [](const char* day) {
    return [day](Notification& n) { n.mutable_child()->set_date_of_birth(day); };
  };
  EXPECT_EQ(FieldsAfter(kHomeVisit, born("2026-11-25"), At("2026-11-23T16:00:00Z")),
            Fields{"child.date_of_birth"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, born("2026-11-23"), At("2026-11-23T16:00:00Z")), Fields{});
  EXPECT_EQ(FieldsAfter(kHomeVisit, born("2026-11-24"), At("2026-11-23T09:59:59Z")),
            Fields{"child.date_of_birth"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, born("2026-11-24"), At("2026-11-23T10:00:00Z")), Fields{});
  // Born at 00:30 on 24 November where the clocks read UTC+1, notified a quarter of an
  // hour later, while UTC still says 23 November.
  auto born_after_local_midnight = [](Notification& n) {
    n.mutable_child()->set_date_of_birth("2026-11-24");
    n.set_created_at("2026-11-24T00:45:00+01:00");
  };
  EXPECT_EQ(FieldsAfter(kHomeVisit, born_after_local_midnight, At("2026-11-23T23:45:00Z")),
            Fields{});
}

TEST(ChildTest, ExpectedDeliveryDateAtMostTenMonthsAhead) {
  auto due = [](const char* day) {
    return [day](Notification& n) { n.mutable_child()->set_expected_delivery_date(day); };
  };
  EXPECT_EQ(FieldsAfter(kUnborn, due("2027-09-23")), Fields{});
  EXPECT_EQ(FieldsAfter(kUnborn, due("2027-09-24")), Fields{"child.expected_delivery_date"});
  EXPECT_EQ(FieldsAfter(kUnborn, due("14/02/2027")), Fields{"child.expected_delivery_date"});
}

TEST(ChildTest, PostcodeMustLookLikeAUkPostcode) {
  for (std::string_view good : {"NS8 1DE", "NS81DE", "ns8 1de", "SW1A 1AA", "NS12 3RA", "M1 1AE",
                                "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB"}) {
    EXPECT_EQ(FieldsAfter(kHomeVisit,
                          [&](Notification& n) {
                            n.mutable_child()->mutable_address()->set_postcode(std::string(good));
                          }),
              Fields{})
        << good;
  }
  for (std::string_view bad : {"NS8  1DE", "NS8 1D", "8NS 1DE", "NS81 DE", "NSX8 1DE", "12345",
                               " NS8 1DE", "NS8 1DE ", "NS8-1DE", "NS123 1DE"}) {
    EXPECT_EQ(FieldsAfter(kHomeVisit,
                          [&](Notification& n) {
                            n.mutable_child()->mutable_address()->set_postcode(std::string(bad));
                          }),
              Fields{"child.address.postcode"})
        << bad;
  }
}

TEST(ChildTest, GpPracticeCodeIsOneLetterAndFiveDigits) {
  for (std::string_view bad : {"J8103", "J810344", "181034", "JJ1034", "j81034"}) {
    EXPECT_EQ(FieldsAfter(kHomeVisit,
                          [&](Notification& n) {
                            n.mutable_child()->set_gp_practice_code(std::string(bad));
                          }),
              Fields{"child.gp_practice_code"})
        << bad;
  }
}

TEST(ChildTest, SexMustBeKnownWhenGiven) {
  EXPECT_EQ(FieldsAfter(
                kHomeVisit,
                [](Notification& n) { n.mutable_child()->set_sex(static_cast<Person::Sex>(12)); }),
            Fields{"child.sex"});
}

TEST(ChildTest, HouseholdOnlyFieldsAreRefusedOnTheChild) {
  EXPECT_EQ(
      FieldsAfter(kHomeVisit,
                  [](Notification& n) { n.mutable_child()->set_relationship(Person::SIBLING); }),
      Fields{"child.relationship"});
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.mutable_child()->set_lives_with_child(true); }),
            Fields{"child.lives_with_child"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit,
                  [](Notification& n) { n.mutable_child()->set_parental_responsibility(false); }),
      Fields{"child.parental_responsibility"});
}

TEST(HouseholdTest, MemberNeedsARelationship) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.mutable_household(0)->clear_relationship(); }),
            Fields{"household[0].relationship"});
}

TEST(HouseholdTest, MemberHasNoExpectedDeliveryDate) {
  EXPECT_EQ(FieldsAfter(kUnborn,
                        [](Notification& n) {
                          n.mutable_household(0)->set_expected_delivery_date("2027-02-14");
                        }),
            Fields{"household[0].expected_delivery_date"});
}

TEST(HouseholdTest, MemberDatesAndPostcodesAreChecked) {
  EXPECT_EQ(
      FieldsAfter(kNonMobile,
                  [](Notification& n) { n.mutable_household(0)->set_date_of_birth("2030-01-01"); }),
      Fields{"household[0].date_of_birth"});
  EXPECT_EQ(FieldsAfter(kNonMobile,
                        [](Notification& n) {
                          n.mutable_household(1)->mutable_address()->set_postcode("NS2 7Q");
                        }),
            Fields{"household[1].address.postcode"});
}

// --- The father. ---

TEST(FatherTest, StatusIsRequired) {
  EXPECT_EQ(FieldsAfter(kGpInformation, [](Notification& n) { n.clear_father_status(); }),
            Fields{"father_status"});
}

TEST(FatherTest, RecordedNeedsAFatherOrMaleCarerInTheHousehold) {
  EXPECT_EQ(FieldsAfter(kNonMobile, [](Notification& n) { n.mutable_household()->RemoveLast(); }),
            Fields{"father_status"});
  EXPECT_EQ(FieldsAfter(kNonMobile,
                        [](Notification& n) {
                          n.mutable_household(1)->set_relationship(Person::MALE_CARER);
                        }),
            Fields{});
  EXPECT_EQ(FieldsAfter(kNonMobile,
                        [](Notification& n) {
                          n.mutable_household(1)->set_relationship(Person::STEP_PARENT);
                        }),
            Fields{"father_status"});
}

TEST(FatherTest, EveryOtherStatusNeedsANote) {
  for (Notification::FatherStatus status :
       {Notification::NOT_KNOWN, Notification::NOT_ASKED, Notification::DECLINED}) {
    EXPECT_EQ(FieldsAfter(kGpInformation,
                          [&](Notification& n) {
                            n.set_father_status(status);
                            n.clear_father_status_note();
                          }),
              Fields{"father_status_note"})
        << Notification::FatherStatus_Name(status);
  }
  EXPECT_EQ(FieldsAfter(kGpInformation, [](Notification& n) { n.set_father_status_note(" "); }),
            Fields{"father_status_note"});
}

// --- hospital_liaison. ---

TEST(HospitalLiaisonTest, SiteDepartmentAttendanceAndComplaintAreRequired) {
  EXPECT_EQ(
      FieldsAfter(kSchoolAge, [](Notification& n) { n.mutable_hospital_liaison()->clear_site(); }),
      Fields{"hospital_liaison.site"});
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) { n.mutable_hospital_liaison()->clear_department(); }),
            Fields{"hospital_liaison.department"});
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) { n.mutable_hospital_liaison()->clear_attended_at(); }),
            Fields{"hospital_liaison.attended_at"});
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) {
                          n.mutable_hospital_liaison()->set_attended_at("yesterday evening");
                        }),
            Fields{"hospital_liaison.attended_at"});
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) {
                          n.mutable_hospital_liaison()->clear_presenting_complaint();
                        }),
            Fields{"hospital_liaison.presenting_complaint"});
}

TEST(HospitalLiaisonTest, InjuryNeedsADescription) {
  EXPECT_EQ(FieldsAfter(
                kSchoolAge,
                [](Notification& n) { n.mutable_hospital_liaison()->clear_injury_description(); }),
            Fields{"hospital_liaison.injury_description"});
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) {
                          n.mutable_hospital_liaison()->set_injury_present(false);
                          n.mutable_hospital_liaison()->clear_injury_description();
                        }),
            Fields{});
}

TEST(HospitalLiaisonTest, MobilityRequiredWhenInjured) {
  EXPECT_EQ(FieldsAfter(kSchoolAge,
                        [](Notification& n) {
                          n.mutable_hospital_liaison()->clear_child_independently_mobile();
                        }),
            Fields{"hospital_liaison.child_independently_mobile"});
}

// No injury, so only age can require mobility.
void NoInjuryNoMobility(Notification& n) {
  HospitalLiaison& form = *n.mutable_hospital_liaison();
  form.set_injury_present(false);
  form.clear_injury_description();
  form.clear_child_independently_mobile();
}

TEST(HospitalLiaisonTest, MobilityRequiredUnderTwelveMonthsWithoutInjury) {
  EXPECT_EQ(FieldsAfter(kNonMobile, NoInjuryNoMobility),
            Fields{"hospital_liaison.child_independently_mobile"});
  EXPECT_EQ(FieldsAfter(kSchoolAge, NoInjuryNoMobility), Fields{});
}

TEST(HospitalLiaisonTest, TwelveMonthsIsMeasuredToTheDayTheFormWasMade) {
  // kSchoolAge was made on 2026-11-23.
  auto born = [](const char* day) {
    return [day](Notification& n) {
      NoInjuryNoMobility(n);
      n.mutable_child()->set_date_of_birth(day);
    };
  };
  EXPECT_EQ(FieldsAfter(kSchoolAge, born("2025-11-23")), Fields{});
  EXPECT_EQ(FieldsAfter(kSchoolAge, born("2025-11-24")),
            Fields{"hospital_liaison.child_independently_mobile"});
  EXPECT_EQ(FieldsAfter(kSchoolAge, born("2025-11-24"), kLater),
            Fields{"hospital_liaison.child_independently_mobile"});
}

TEST(HospitalLiaisonTest, TwelveMonthsIsMeasuredToNowWhenCreatedAtIsUnreadable) {
  auto born_and_undated = [](Notification& n) {
    NoInjuryNoMobility(n);
    n.mutable_child()->set_date_of_birth("2025-11-24");
    n.set_created_at("23/11/2026");
  };
  EXPECT_EQ(FieldsAfter(kSchoolAge, born_and_undated, kNow),
            (Fields{"created_at", "hospital_liaison.child_independently_mobile"}));
  EXPECT_EQ(FieldsAfter(kSchoolAge, born_and_undated, kLater), Fields{"created_at"});
}

TEST(HospitalLiaisonTest, FormMustSayWhetherAMashReferralWasMade) {
  std::vector<Violation> violations;
  Notification n = LoadSample(kSchoolAge);
  n.mutable_hospital_liaison()->clear_mash_referral_made();
  violations = Validate(n, kNow);
  EXPECT_EQ(FieldsOf(violations), Fields{"hospital_liaison.mash_referral_made"});
  EXPECT_NE(DescriptionOf(violations, "hospital_liaison.mash_referral_made")
                .find("the form must say whether"),
            std::string::npos);
}

TEST(HospitalLiaisonTest, MashReferralNeedsItsReference) {
  EXPECT_EQ(
      FieldsAfter(kNonMobile,
                  [](Notification& n) { n.mutable_hospital_liaison()->clear_mash_reference(); }),
      Fields{"hospital_liaison.mash_reference"});
}

TEST(HospitalLiaisonTest, FollowUpsMustNotBeUnspecified) {
  EXPECT_EQ(FieldsAfter(kNonMobile,
                        [](Notification& n) {
                          n.mutable_hospital_liaison()->add_follow_up_requested(
                              HospitalLiaison::FOLLOW_UP_UNSPECIFIED);
                        }),
            Fields{"hospital_liaison.follow_up_requested[2]"});
}

// --- mash_request. ---

TEST(MashRequestTest, ReferenceRequestServiceAndReasonAreRequired) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.mutable_mash_request()->clear_mash_reference(); }),
            Fields{"mash_request.mash_reference"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_mash_request()->clear_request(); }),
      Fields{"mash_request.request"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit,
                  [](Notification& n) { n.mutable_mash_request()->clear_requested_service(); }),
      Fields{"mash_request.requested_service"});
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) {
                          n.mutable_mash_request()->set_requested_service(
                              static_cast<MashRequest::Service>(99));
                        }),
            Fields{"mash_request.requested_service"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit, [](Notification& n) { n.mutable_mash_request()->clear_reason(); }),
      Fields{"mash_request.reason"});
}

TEST(MashRequestTest, RespondByIsRequiredAndReadable) {
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) { n.mutable_mash_request()->clear_respond_by(); }),
            Fields{"mash_request.respond_by"});
  EXPECT_EQ(
      FieldsAfter(kHomeVisit,
                  [](Notification& n) { n.mutable_mash_request()->set_respond_by("tomorrow"); }),
      Fields{"mash_request.respond_by"});
}

TEST(MashRequestTest, RespondByIsAfterCreatedAt) {
  auto respond_by = [](const char* at) {
    return [at](Notification& n) { n.mutable_mash_request()->set_respond_by(at); };
  };
  // kHomeVisit was made at 2026-11-23T09:05:00Z.
  EXPECT_EQ(FieldsAfter(kHomeVisit, respond_by("2026-11-23T09:05:00Z")),
            Fields{"mash_request.respond_by"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, respond_by("2026-11-23T09:00:00Z")),
            Fields{"mash_request.respond_by"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, respond_by("2026-11-23T09:05:01Z")), Fields{});
}

TEST(MashRequestTest, StrategyDiscussionNeedsItsTime) {
  auto strategy = [](const char* at) {
    return [at](Notification& n) {
      n.mutable_mash_request()->set_request(MashRequest::STRATEGY_DISCUSSION);
      n.mutable_mash_request()->set_strategy_discussion_at(at);
    };
  };
  EXPECT_EQ(FieldsAfter(kHomeVisit, strategy("")), Fields{"mash_request.strategy_discussion_at"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, strategy("Tuesday 10am")),
            Fields{"mash_request.strategy_discussion_at"});
  EXPECT_EQ(FieldsAfter(kHomeVisit, strategy("2026-11-24T10:00:00Z")), Fields{});
  EXPECT_EQ(FieldsAfter(kHomeVisit,
                        [](Notification& n) {
                          n.mutable_mash_request()->set_strategy_discussion_at("Tuesday 10am");
                        }),
            Fields{"mash_request.strategy_discussion_at"});
}

// --- scbu_discharge. ---

TEST(ScbuDischargeTest, UnitAndTimesAreRequired) {
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) { n.mutable_scbu_discharge()->clear_unit(); }),
            Fields{"scbu_discharge.unit"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) { n.mutable_scbu_discharge()->clear_admitted_at(); }),
            Fields{"scbu_discharge.admitted_at"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->set_discharged_at("2026-11-22");
                        }),
            Fields{"scbu_discharge.discharged_at"});
}

TEST(ScbuDischargeTest, DischargeNotBeforeAdmission) {
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->set_discharged_at("2026-11-01T05:59:59Z");
                        }),
            Fields{"scbu_discharge.discharged_at"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->set_discharged_at("2026-11-01T06:00:00Z");
                        }),
            Fields{});
}

TEST(ScbuDischargeTest, GestationIsRequiredFrom22To44Weeks) {
  EXPECT_EQ(
      FieldsAfter(kScbuUnknownArea,
                  [](Notification& n) { n.mutable_scbu_discharge()->clear_gestation_weeks(); }),
      Fields{"scbu_discharge.gestation_weeks"});
  for (int weeks : {0, 21, 45, -3}) {
    EXPECT_EQ(FieldsAfter(
                  kScbuUnknownArea,
                  [&](Notification& n) { n.mutable_scbu_discharge()->set_gestation_weeks(weeks); }),
              Fields{"scbu_discharge.gestation_weeks"})
        << weeks;
  }
  for (int weeks : {22, 44}) {
    EXPECT_EQ(FieldsAfter(
                  kScbuUnknownArea,
                  [&](Notification& n) { n.mutable_scbu_discharge()->set_gestation_weeks(weeks); }),
              Fields{})
        << weeks;
  }
}

TEST(ScbuDischargeTest, DischargeAddressIsRequired) {
  EXPECT_EQ(
      FieldsAfter(kScbuUnknownArea,
                  [](Notification& n) { n.mutable_scbu_discharge()->clear_discharge_address(); }),
      Fields{"scbu_discharge.discharge_address"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          auto* address = n.mutable_scbu_discharge()->mutable_discharge_address();
                          address->clear_postcode();
                          for (std::string& line : *address->mutable_lines()) line = " ";
                        }),
            Fields{"scbu_discharge.discharge_address"});
}

TEST(ScbuDischargeTest, DischargeAddressNeedsALineOrAPostcode) {
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->mutable_discharge_address()->clear_lines();
                        }),
            Fields{});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->mutable_discharge_address()->clear_postcode();
                        }),
            Fields{});
  EXPECT_EQ(
      FieldsAfter(kScbuUnknownArea,
                  [](Notification& n) {
                    n.mutable_scbu_discharge()->mutable_discharge_address()->set_postcode("NS12");
                  }),
      Fields{"scbu_discharge.discharge_address.postcode"});
}

TEST(ScbuDischargeTest, MentalHealthConcernNeedsDetails) {
  EXPECT_EQ(FieldsAfter(
                kScbuMentalHealth,
                [](Notification& n) { n.mutable_scbu_discharge()->clear_mental_health_details(); }),
            Fields{"scbu_discharge.mental_health_details"});
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->set_paternal_mental_health_concern(true);
                        }),
            Fields{"scbu_discharge.mental_health_details"});
}

TEST(ScbuDischargeTest, FormMustSayWhetherAMeetingWasHeldAndWhyNot) {
  EXPECT_EQ(FieldsAfter(kScbuUnknownArea,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->clear_discharge_planning_meeting_held();
                        }),
            Fields{"scbu_discharge.discharge_planning_meeting_held"});
  EXPECT_EQ(
      FieldsAfter(kScbuMentalHealth,
                  [](Notification& n) {
                    n.mutable_scbu_discharge()->clear_discharge_planning_meeting_reason_not_held();
                  }),
      Fields{"scbu_discharge.discharge_planning_meeting_reason_not_held"});
}

TEST(ScbuDischargeTest, AdviceListsMustNotHoldUnspecifiedRelationships) {
  EXPECT_EQ(FieldsAfter(kScbuMentalHealth,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->add_safe_sleep_advice_given_to(
                              Person::RELATIONSHIP_UNSPECIFIED);
                        }),
            Fields{"scbu_discharge.safe_sleep_advice_given_to[2]"});
  EXPECT_EQ(FieldsAfter(kScbuMentalHealth,
                        [](Notification& n) {
                          n.mutable_scbu_discharge()->add_safe_handling_advice_given_to(
                              Person::RELATIONSHIP_UNSPECIFIED);
                        }),
            Fields{"scbu_discharge.safe_handling_advice_given_to[1]"});
}

// --- Normalize. ---

TEST(NormalizeTest, NhsNumbersLoseTheirSpaces) {
  Notification n = LoadSample(kNonMobile);
  n.mutable_household(0)->set_nhs_number("999 075 9545");
  Normalize(n);
  EXPECT_EQ(n.child().nhs_number(), "9993395633");
  EXPECT_EQ(n.household(0).nhs_number(), "9990759545");
  EXPECT_TRUE(n.household(1).nhs_number().empty());
}

TEST(NormalizeTest, PostcodesAreUpperCaseWithOneSpace) {
  Notification n = LoadSample(kNonMobile);
  n.mutable_child()->mutable_address()->set_postcode("ns1 4ab");
  n.mutable_household(1)->mutable_address()->set_postcode("ns27qt");
  Normalize(n);
  EXPECT_EQ(n.child().address().postcode(), "NS1 4AB");
  EXPECT_EQ(n.household(1).address().postcode(), "NS2 7QT");
  EXPECT_FALSE(n.household(0).has_address());  // nothing invented

  Notification scbu = LoadSample(kScbuUnknownArea);
  scbu.mutable_scbu_discharge()->mutable_discharge_address()->set_postcode("sw1a1aa");
  scbu.mutable_child()->mutable_address()->set_postcode("NS12 3RA");
  Normalize(scbu);
  EXPECT_EQ(scbu.scbu_discharge().discharge_address().postcode(), "SW1A 1AA");
  EXPECT_EQ(scbu.child().address().postcode(), "NS12 3RA");
}

TEST(NormalizeTest, NormalizedSamplesStayValid) {
  for (const char* sample : kValidSamples) {
    Notification n = LoadSample(sample);
    Normalize(n);
    EXPECT_EQ(FieldsOf(Validate(n, kNow)), Fields{}) << sample;
  }
}

// --- Descriptions never quote the child's details. ---

// Breaks as many Person rules as possible while keeping each value inside the broken text,
// so a description that quoted the field would carry the original detail.
void BreakKeepingValues(Person& person) {
  if (!person.nhs_number().empty()) person.set_nhs_number(person.nhs_number() + "0");
  if (!person.date_of_birth().empty()) person.set_date_of_birth(person.date_of_birth() + "x");
  if (!person.expected_delivery_date().empty()) {
    person.set_expected_delivery_date(person.expected_delivery_date() + "x");
  }
  if (person.has_address()) {
    person.mutable_address()->set_postcode(person.address().postcode() + "X");
  }
  if (!person.gp_practice_code().empty())
    person.set_gp_practice_code(person.gp_practice_code() + "0");
  person.set_relationship(Person::RELATIONSHIP_UNSPECIFIED);
}

TEST(PrivacyTest, DescriptionsNeverQuoteTheChildsDetails) {
  for (const char* sample : kValidSamples) {
    Notification original = LoadSample(sample);
    std::vector<std::string> details = {original.child().given_name(),
                                        original.child().family_name(),
                                        original.child().nhs_number(),
                                        NormalizeNhsNumber(original.child().nhs_number()),
                                        original.child().address().postcode(),
                                        original.child().date_of_birth(),
                                        original.child().expected_delivery_date()};
    for (const std::string& line : original.child().address().lines()) details.push_back(line);
    Notification broken = original;
    BreakKeepingValues(*broken.mutable_child());
    broken.mutable_child()->set_relationship(Person::SIBLING);
    broken.mutable_child()->set_lives_with_child(true);
    for (Person& member : *broken.mutable_household()) BreakKeepingValues(member);
    broken.set_type(broken.type() == Notification::MASH_REQUEST ? Notification::SCBU_DISCHARGE
                                                                : Notification::MASH_REQUEST);
    broken.clear_father_status_note();
    std::vector<Violation> violations = Validate(broken, kNow);
    ASSERT_GE(violations.size(), 4u) << sample;
    for (const Violation& v : violations) {
      for (const std::string& detail : details) {
        if (detail.empty()) continue;
        EXPECT_EQ(v.description.find(detail), std::string::npos)
            << sample << ": " << v.field << " quotes a detail: " << v.description;
        EXPECT_EQ(v.field.find(detail), std::string::npos) << sample << ": " << v.field;
      }
    }
  }
}

TEST(PrivacyTest, InvalidSamplesDoNotQuoteTheChildsDetails) {
  for (const char* sample : {"invalid-nhs-number.json", "invalid-father-recorded-but-absent.json",
                             "invalid-many-errors.json"}) {
    Notification n = LoadSample(sample);
    const Person& child = n.child();
    for (const Violation& v : Validate(n, kNow)) {
      for (const std::string& detail : {child.given_name(), child.family_name(), child.nhs_number(),
                                        child.address().postcode(), child.date_of_birth()}) {
        EXPECT_EQ(v.description.find(detail), std::string::npos) << sample << ": " << v.description;
      }
    }
  }
}

}  // namespace
}  // namespace dutyhub
