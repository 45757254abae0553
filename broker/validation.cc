// The rules of docs/notifications.md. Every check writes into one ViolationList so the
// sender hears about every broken rule at once. No description quotes a value from the form:
// the form is about a child, and descriptions travel back to senders and into logs.
#include "broker/validation.h"

#include <date/date.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include "broker/time_text.h"

namespace dutyhub {
namespace {

using google::protobuf::EnumDescriptor;
using v1::Address;
using v1::HospitalLiaison;
using v1::MashRequest;
using v1::Notification;
using v1::Person;
using v1::ScbuDischarge;

constexpr size_t kMaxJsonBytes = 1024 * 1024;
constexpr size_t kMaxSummaryCodePoints = 2000;
constexpr TimeMs kCreatedAtAllowance = 5 * kMinuteMs;
constexpr int kMinGestationWeeks = 22;
constexpr int kMaxGestationWeeks = 44;
constexpr int kMaxMonthsToDelivery = 10;

// Collects every broken rule; the order follows the form so a reply reads top to bottom.
// At most kMostViolations are listed, then one saying how many more: a form has a few
// dozen fields, and a crafted one (a million unknown concerns in a packed list, one byte
// each) must not make the broker build and send a reply a hundred times its size.
class ViolationList {
 public:
  static constexpr size_t kMostViolations = 100;
  size_t total() const { return violations_.size() + more_; }  // listed or not
  void Add(std::string field, std::string description) {
    if (Suppressed(field)) return;
    if (violations_.size() < kMostViolations) {
      violations_.push_back({std::move(field), std::move(description)});
    } else {
      ++more_;
    }
  }
  // One more broken rule, past the ones listed. REQUIRES: kMostViolations are listed.
  void CountUnlisted() { ++more_; }
  // Whether `field`, or anything inside it, was set aside (few are: a list with more wrong
  // members than a reply lists is set aside whole).
  bool SetAsideWithin(std::string_view field) const {
    return std::any_of(suppressed_.begin(), suppressed_.end(), [field](const std::string& s) {
      return s.starts_with(field) &&
             (s.size() == field.size() || s[field.size()] == '.' || s[field.size()] == '[');
    });
  }
  // A field already named for being written in the wrong shape, and so left out of what the
  // rules check: their own "required" for it, or anything inside it, would say it again.
  void Suppress(std::string field) { suppressed_.insert(std::move(field)); }
  std::vector<Violation> Take() && {
    if (more_ > 0) {
      violations_.push_back(
          {"notification", "And " + std::to_string(more_) +
                               " more broken rules, not listed: fix these, then send it again "
                               "to hear the rest."});
    }
    return std::move(violations_);
  }

 private:
  // The field or any field it is inside: a lookup per level of the path, however many were
  // set aside (a crafted form sets aside one per member of a list of half a million).
  bool Suppressed(std::string_view field) const {
    if (suppressed_.empty()) return false;
    for (size_t end = field.size();; --end) {
      if (end == field.size() || field[end] == '.' || field[end] == '[') {
        if (suppressed_.contains(std::string(field.substr(0, end)))) return true;
      }
      if (end == 0) return false;
    }
  }

  std::vector<Violation> violations_;
  size_t more_ = 0;
  std::unordered_set<std::string> suppressed_;  // only after a form written in the wrong shape
};

// The times the rules are measured against.
struct Reference {
  int64_t today = 0;  // the UTC date of the hub's `now`, days since 1970-01-01
  // The latest date anywhere at `now` (UTC+14): a baby born at 00:30 BST on the day is
  // born "today" in London while UTC still says yesterday, and must not be refused.
  int64_t latest_today = 0;
  std::optional<TimeMs> created_at;   // only when readable
  std::optional<int64_t> created_on;  // created_at's own calendar date, in its own offset
};

std::string Path(std::string_view prefix, std::string_view name) {
  return std::string(prefix) + "." + std::string(name);
}

std::string Indexed(std::string_view name, int index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

// Whitespace only counts as missing: "  " is no callback number and no summary.
bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsDigits(std::string_view text) { return std::all_of(text.begin(), text.end(), IsAsciiDigit); }
bool IsAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsHex(char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The JSON parser has already refused malformed UTF-8, so the code points are the bytes
// that are not continuation bytes.
size_t CountCodePoints(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// These three are written out rather than as std::regex, which took a third of the time
// it takes to check a whole notification.

// 8-4-4-4-12 hexadecimal digits, either case.
bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool hyphen_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_here ? text[i] != '-' : !IsHex(text[i])) return false;
  }
  return true;
}

// A letter then five digits, upper case only: routing compares practice codes as sent
// (inbox gp-J81012).
bool IsGpPracticeCode(std::string_view text) {
  return text.size() == 6 && IsAsciiUpper(text[0]) && IsDigits(text.substr(1));
}

// Outward code A9, A99, A9A, AA9, AA99 or AA9A, an optional single space, inward code 9AA;
// letters in either case.
bool IsUkPostcode(std::string_view text) {
  if (text.size() < 5) return false;
  std::string_view inward = text.substr(text.size() - 3);
  if (!IsAsciiDigit(inward[0]) || !IsAsciiLetter(inward[1]) || !IsAsciiLetter(inward[2]))
    return false;
  std::string_view outward = text.substr(0, text.size() - 3);
  if (outward.back() == ' ') outward.remove_suffix(1);
  for (size_t letters = 1; letters <= 2; ++letters) {
    if (outward.size() < letters + 1 || outward.size() > letters + 2) continue;
    if (!std::all_of(outward.begin(), outward.begin() + static_cast<long>(letters), IsAsciiLetter))
      continue;
    if (!IsAsciiDigit(outward[letters])) continue;
    if (outward.size() == letters + 2 && !IsAsciiLetter(outward.back()) &&
        !IsAsciiDigit(outward.back()))
      continue;
    return true;
  }
  return false;
}

int64_t UtcDay(TimeMs t) { return t >= 0 ? t / kDayMs : (t - kDayMs + 1) / kDayMs; }

// A day that does not exist in the target month (29 February next year) rolls into the
// next month, which is what a person means by "a year after 29 February".
int64_t AddCalendar(int64_t day, date::years years, date::months months) {
  date::year_month_day ymd{date::sys_days{date::days{day}}};
  ymd += years;
  ymd += months;
  return date::sys_days{ymd}.time_since_epoch().count();
}

std::string Choices(const EnumDescriptor* type) { return EnumChoices(type); }

// Whether a key the sender wrote may be repeated back or logged: lower-case letters and
// underscores, as every field of the form is. A key with capitals, spaces or digits may be a
// child's name or NHS number.
bool IsFieldLike(std::string_view key) {
  return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
}

// Protobuf's JSON parser quotes the document in its errors: the lines after the first show
// the text around the error, and "invalid value X for type T" repeats X. Either may be a
// child's details, so only the shape of the error is kept.
std::string SafeParserMessage(std::string_view message) {
  std::string text(message.substr(0, message.find('\n')));
  constexpr std::string_view kInvalid = "invalid value ";
  const size_t invalid = text.find(kInvalid);
  const size_t for_type = text.rfind(" for type ");
  if (invalid != std::string::npos && for_type != std::string::npos && for_type > invalid) {
    const size_t value = invalid + kInvalid.size();
    return text.compare(value, 12, "oneof field ") == 0
               ? "more than one of hospital_liaison, mash_request, scbu_discharge is set"
               : text.substr(0, value) + "(not shown)" + text.substr(for_type);
  }
  // "(child) nickname: Cannot find field." names a key from the document: keep it only when
  // it looks like a field name (lower-case letters and underscores, as every field of the
  // notification is) rather than a name with capitals or an NHS number: a misspelt field is
  // what a sender needs to see. The path in brackets, when there is one, comes first and
  // holds only fields already found; a key at the top has none, and a bracket in it is the
  // document's own.
  constexpr std::string_view kUnknown = ": Cannot find field.";
  if (text.ends_with(kUnknown)) {
    size_t close = text.starts_with("(") ? text.find(") ") : std::string::npos;
    for (size_t i = 1; close != std::string::npos && i < close; ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      if (!std::islower(c) && !std::isdigit(c) && c != '_' && c != '.' && c != '[' && c != ']')
        close = std::string::npos;  // not a path of fields: the document's own key
    }
    const size_t start = close == std::string::npos ? 0 : close + 2;
    const size_t end = text.size() - kUnknown.size();
    if (!IsFieldLike(std::string_view(text).substr(start, end - start)))
      text = text.substr(0, start) + "(a field name not shown)" + text.substr(end);
    return text;
  }
  // Any other shape ("Message too deep ... for key '...'", a number out of range): said as
  // it is only when it quotes nothing and holds no digits, either of which may be the form's.
  if (text.find_first_of("'\"`0123456789") != std::string::npos) {
    return "the parser's own message is not shown, as it quotes the form: check the JSON's "
           "nesting, quoting and numbers";
  }
  return text;
}

// --- Field checks: each reports into `out` and returns what later rules need. ---

bool RequireText(ViolationList& out, const std::string& field, std::string_view text,
                 std::string description) {
  if (!IsBlank(text)) return true;
  out.Add(field, std::move(description));
  return false;
}

// Proto3 enums are open: JSON may carry any number ("type": 7), so a value must be known
// as well as set.
bool CheckEnum(ViolationList& out, const std::string& field, int value, const EnumDescriptor* type,
               bool required) {
  if ((value == 0 && !required) || (value != 0 && type->FindValueByNumber(value) != nullptr)) {
    return true;
  }
  out.Add(field, std::string(value == 0 ? "Required: choose " : "Not a value the hub knows: use ") +
                     Choices(type) + ".");
  return false;
}

void CheckEnumList(ViolationList& out, const std::string& field,
                   const google::protobuf::RepeatedField<int>& values, const EnumDescriptor* type) {
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] != 0 && type->FindValueByNumber(values[i]) != nullptr) continue;
    out.Add(Indexed(field, i), "This entry is unspecified or unknown: use " + Choices(type) + ".");
  }
}

std::optional<TimeMs> RequireTimestamp(ViolationList& out, const std::string& field,
                                       std::string_view text, std::string_view what) {
  constexpr std::string_view kForm =
      "an RFC 3339 timestamp with an offset (e.g. 2026-11-23T10:15:00Z)";
  std::optional<TimeMs> t = ParseTimestamp(text);
  if (IsBlank(text)) {
    out.Add(field, "Required: " + std::string(what) + ", as " + std::string(kForm) + ".");
  } else if (!t) {
    out.Add(field, "This is not " + std::string(kForm) + ": send it in that form.");
  }
  return t;
}

std::optional<int64_t> CheckDate(ViolationList& out, const std::string& field,
                                 std::string_view text) {
  std::optional<int64_t> day = ParseDate(text);
  if (!day) out.Add(field, "This is not a real date in the form YYYY-MM-DD (e.g. 2026-11-23).");
  return day;
}

void CheckPostcode(ViolationList& out, const std::string& field, std::string_view postcode) {
  if (IsBlank(postcode) || IsUkPostcode(postcode)) return;
  out.Add(field, "This does not look like a UK postcode (e.g. SW1A 1AA): check the address.");
}

// --- Person: the rules shared by the child and the household. ---

void CheckNhsNumber(ViolationList& out, const std::string& field, std::string_view text) {
  if (text.empty()) return;
  const std::string digits = NormalizeNhsNumber(text);
  if (digits.size() != 10 || !IsDigits(digits)) {
    out.Add(field,
            "An NHS number is 10 digits (spaces may separate them): check the number "
            "against the patient's record.");
  } else if (!IsValidNhsNumber(digits)) {
    out.Add(field,
            "This fails the NHS number check digit: check the number against the "
            "patient's record.");
  }
}

void CheckPersonRecord(ViolationList& out, const std::string& prefix, const Person& person,
                       const Reference& ref) {
  const std::string birth_field = Path(prefix, "date_of_birth");
  if (!IsBlank(person.date_of_birth())) {
    std::optional<int64_t> born = CheckDate(out, birth_field, person.date_of_birth());
    if (born && *born > ref.latest_today) {
      out.Add(birth_field, "The date of birth is after today: check it against the record.");
    }
  }
  CheckNhsNumber(out, Path(prefix, "nhs_number"), person.nhs_number());
  CheckEnum(out, Path(prefix, "sex"), person.sex(), Person::Sex_descriptor(), false);
  CheckPostcode(out, Path(prefix, "address.postcode"), person.address().postcode());
  if (!person.gp_practice_code().empty() && !IsGpPracticeCode(person.gp_practice_code())) {
    out.Add(Path(prefix, "gp_practice_code"),
            "A GP practice code is the practice's ODS code, one capital letter and five digits "
            "(e.g. J81012): check it with the practice.");
  }
}

void CheckChild(ViolationList& out, const Notification& n, const Reference& ref) {
  if (!n.has_child()) {
    out.Add("child", "Required: say which child the notification is about.");
    return;
  }
  const Person& child = n.child();
  const bool has_birth = !IsBlank(child.date_of_birth());
  const bool has_due = !IsBlank(child.expected_delivery_date());
  if (!has_birth && !has_due) {
    out.Add("child.date_of_birth",
            "Required: give the child's date of birth, or the "
            "expected_delivery_date if the child is not yet born.");
  } else if (has_birth && has_due) {
    out.Add("child.expected_delivery_date",
            "The child has both a date of birth and an expected delivery date: once the child "
            "is born send only the date of birth, before that only the expected delivery date.");
  }
  if (has_due) {
    std::optional<int64_t> due =
        CheckDate(out, "child.expected_delivery_date", child.expected_delivery_date());
    if (due && *due > AddCalendar(ref.today, date::years{0}, date::months{kMaxMonthsToDelivery})) {
      out.Add("child.expected_delivery_date",
              "This is more than 10 months ahead: check it against the maternity record.");
    }
  }
  if (!has_due || has_birth) {  // an unborn child may not be named yet
    for (auto [field, name] : {std::pair{"child.given_name", &child.given_name()},
                               std::pair{"child.family_name", &child.family_name()}}) {
      RequireText(out, field, *name,
                  "Required: a child who is born must be named, so the "
                  "receiving team finds the right child.");
    }
  }
  CheckPersonRecord(out, "child", child, ref);
  const char* kHouseholdOnly =
      "This describes a household member, not the child: record it on "
      "the adult in household and remove it from child.";
  if (child.relationship() != 0) out.Add("child.relationship", kHouseholdOnly);
  if (child.has_lives_with_child()) out.Add("child.lives_with_child", kHouseholdOnly);
  if (child.has_parental_responsibility()) out.Add("child.parental_responsibility", kHouseholdOnly);
}

void CheckHousehold(ViolationList& out, const Notification& n, const Reference& ref) {
  for (int i = 0; i < n.household_size(); ++i) {
    const Person& member = n.household(i);
    const std::string prefix = Indexed("household", i);
    CheckEnum(out, Path(prefix, "relationship"), member.relationship(),
              Person::Relationship_descriptor(), true);
    if (!IsBlank(member.expected_delivery_date())) {
      out.Add(Path(prefix, "expected_delivery_date"),
              "Only the unborn child has an expected delivery date: remove it from this "
              "household member.");
    }
    CheckPersonRecord(out, prefix, member, ref);
  }
}

// --- The envelope. ---

std::string BodyName(Notification::BodyCase body) {
  if (body == Notification::BODY_NOT_SET) return "";
  return Notification::descriptor()->FindFieldByNumber(body)->name();
}

Notification::BodyCase BodyFor(Notification::Type type) {
  switch (type) {
    case Notification::HOSPITAL_LIAISON:
      return Notification::kHospitalLiaison;
    case Notification::MASH_REQUEST:
      return Notification::kMashRequest;
    case Notification::SCBU_DISCHARGE:
      return Notification::kScbuDischarge;
    default:
      return Notification::BODY_NOT_SET;
  }
}

void CheckTypeAndBody(ViolationList& out, const Notification& n) {
  const bool known_type = CheckEnum(out, "type", n.type(), Notification::Type_descriptor(), true);
  const std::string expected = BodyName(BodyFor(n.type()));
  if (n.body_case() == Notification::BODY_NOT_SET && known_type) {
    out.Add(expected, "Required: a " + Notification::Type_Name(n.type()) +
                          " notification carries its form in " + expected + ".");
  } else if (n.body_case() == Notification::BODY_NOT_SET) {
    out.Add("body",
            "Required: send the form itself, one of hospital_liaison, mash_request or "
            "scbu_discharge.");
  } else if (known_type && n.body_case() != BodyFor(n.type())) {
    out.Add("type", "type is " + Notification::Type_Name(n.type()) + " but the body is " +
                        BodyName(n.body_case()) + ": correct the type, or send the " + expected +
                        " form instead.");
  }
}

std::optional<TimeMs> CheckEnvelope(ViolationList& out, const Notification& n, TimeMs now) {
  if (!IsUuid(n.id())) {
    out.Add("id",
            "Required: the UUID (8-4-4-4-12 hexadecimal digits) the sending system made "
            "for this notification, reused on every retry.");
  }
  CheckTypeAndBody(out, n);
  CheckEnum(out, "priority", n.priority(), Notification::Priority_descriptor(), true);
  std::optional<TimeMs> created_at =
      RequireTimestamp(out, "created_at", n.created_at(), "when the notification was made");
  if (created_at && *created_at > now + kCreatedAtAllowance) {
    out.Add("created_at",
            "This is more than 5 minutes after the hub's clock: correct the "
            "sending system's clock and resend.");
  }
  RequireText(out, "area", n.area(),
              "Required: the partnership's locality code (north, south, ...) used for routing.");
  RequireText(out, "author.name", n.author().name(),
              "Required: who wrote the notification, so the receiving team knows whom to call.");
  RequireText(out, "author.phone", n.author().phone(),
              "Required: a phone number on which the author can be called back.");
  return created_at;
}

void CheckFatherStatus(ViolationList& out, const Notification& n) {
  const Notification::FatherStatus status = n.father_status();
  if (!CheckEnum(out, "father_status", status, Notification::FatherStatus_descriptor(), true)) {
    return;
  }
  if (status != Notification::RECORDED) {
    RequireText(out, "father_status_note", n.father_status_note(),
                "father_status is " + Notification::FatherStatus_Name(status) +
                    ": say here why the father is not recorded and what was tried.");
    return;
  }
  for (const Person& member : n.household()) {
    if (member.relationship() == Person::FATHER || member.relationship() == Person::MALE_CARER) {
      return;
    }
  }
  // A household, or a member's relationship, written in the wrong shape was left out and is
  // named already: whether he is there is not known, and saying he is not would be a second
  // complaint about the same mistake.
  if (out.SetAsideWithin("household")) return;
  out.Add(
      "father_status",
      "father_status is RECORDED but no household member is the FATHER or a MALE_CARER: add "
      "him to household, or choose NOT_KNOWN, NOT_ASKED or DECLINED with a father_status_note.");
}

void CheckSummaryAndConcerns(ViolationList& out, const Notification& n) {
  if (RequireText(
          out, "summary", n.summary(),
          "Required: 1 to 2,000 characters; it is what the duty worker sees in the inbox list.") &&
      CountCodePoints(n.summary()) > kMaxSummaryCodePoints) {
    out.Add("summary",
            "This is longer than 2,000 characters: shorten it; detail belongs in the form.");
  }
  CheckEnumList(out, "concerns", n.concerns(), Notification::Concern_descriptor());
}

// --- The bodies. ---

// Age on the day the notification was made: what "under 12 months" meant to the person
// filling in the form.
bool IsUnderTwelveMonths(const Notification& n, const Reference& ref) {
  std::optional<int64_t> born = ParseDate(n.child().date_of_birth());
  const int64_t on = ref.created_on ? *ref.created_on : ref.today;
  return born && on < AddCalendar(*born, date::years{1}, date::months{0});
}

void CheckHospitalLiaison(ViolationList& out, const Notification& n, const Reference& ref) {
  const HospitalLiaison& form = n.hospital_liaison();
  const std::string_view p = "hospital_liaison";
  RequireText(out, Path(p, "site"), form.site(),
              "Required: the hospital or urgent-care site the child attended.");
  CheckEnum(out, Path(p, "department"), form.department(), HospitalLiaison::Department_descriptor(),
            true);
  RequireTimestamp(out, Path(p, "attended_at"), form.attended_at(), "when the child attended");
  RequireText(out, Path(p, "presenting_complaint"), form.presenting_complaint(),
              "Required: why the child was brought in.");
  if (form.injury_present()) {
    RequireText(out, Path(p, "injury_description"), form.injury_description(),
                "An injury is recorded: describe it (what, where, how large).");
  }
  if ((form.injury_present() || IsUnderTwelveMonths(n, ref)) &&
      !form.has_child_independently_mobile()) {
    out.Add(Path(p, "child_independently_mobile"),
            "Required when there is an injury or the child is under 12 months: say whether the "
            "child is independently mobile; bruising in a child who cannot cruise is a red flag.");
  }
  if (!form.has_mash_referral_made()) {
    out.Add(Path(p, "mash_referral_made"),
            "Required: the form must say whether the hospital has "
            "already referred to the MASH (true or false).");
  } else if (form.mash_referral_made()) {
    RequireText(out, Path(p, "mash_reference"), form.mash_reference(),
                "A MASH referral was made: give its reference so the agencies can link records.");
  }
  CheckEnumList(out, Path(p, "follow_up_requested"), form.follow_up_requested(),
                HospitalLiaison::FollowUp_descriptor());
}

void CheckMashRequest(ViolationList& out, const Notification& n, const Reference& ref) {
  const MashRequest& form = n.mash_request();
  const std::string_view p = "mash_request";
  RequireText(out, Path(p, "mash_reference"), form.mash_reference(),
              "Required: the MASH reference, so the reply reaches the right case.");
  CheckEnum(out, Path(p, "request"), form.request(), MashRequest::Request_descriptor(), true);
  CheckEnum(out, Path(p, "requested_service"), form.requested_service(),
            MashRequest::Service_descriptor(), true);
  RequireText(out, Path(p, "reason"), form.reason(),
              "Required: why the MASH is asking, so the service can act on it.");
  std::optional<TimeMs> respond_by = RequireTimestamp(out, Path(p, "respond_by"), form.respond_by(),
                                                      "when the acknowledgement is due");
  if (respond_by && ref.created_at && *respond_by <= *ref.created_at) {
    out.Add(Path(p, "respond_by"),
            "This must be after created_at: give the time by which the acknowledgement is due.");
  }
  if (form.request() == MashRequest::STRATEGY_DISCUSSION ||
      !IsBlank(form.strategy_discussion_at())) {
    RequireTimestamp(out, Path(p, "strategy_discussion_at"), form.strategy_discussion_at(),
                     "when the strategy discussion will be held");
  }
}

void CheckScbuDischarge(ViolationList& out, const Notification& n) {
  const ScbuDischarge& form = n.scbu_discharge();
  const std::string_view p = "scbu_discharge";
  RequireText(out, Path(p, "unit"), form.unit(), "Required: the neonatal unit's name.");
  std::optional<TimeMs> admitted =
      RequireTimestamp(out, Path(p, "admitted_at"), form.admitted_at(), "the admission time");
  std::optional<TimeMs> discharged =
      RequireTimestamp(out, Path(p, "discharged_at"), form.discharged_at(), "the discharge time");
  if (admitted && discharged && *discharged < *admitted) {
    out.Add(Path(p, "discharged_at"), "The discharge is before the admission: check both times.");
  }
  if (!form.has_gestation_weeks()) {
    out.Add(Path(p, "gestation_weeks"), "Required: the gestation at birth in completed weeks.");
  } else if (form.gestation_weeks() < kMinGestationWeeks ||
             form.gestation_weeks() > kMaxGestationWeeks) {
    out.Add(Path(p, "gestation_weeks"),
            "The gestation at birth must be 22 to 44 weeks: check it against the birth record.");
  }
  const Address& address = form.discharge_address();
  bool has_line = false;
  for (const std::string& line : address.lines()) has_line = has_line || !IsBlank(line);
  if (!has_line && IsBlank(address.postcode()) &&
      !out.SetAsideWithin(Path(p, "discharge_address"))) {
    out.Add(Path(p, "discharge_address"),
            "Required: where the baby will live (at least one address line or a postcode).");
  }
  CheckPostcode(out, Path(p, "discharge_address.postcode"), address.postcode());
  if (form.maternal_mental_health_concern() || form.paternal_mental_health_concern()) {
    RequireText(out, Path(p, "mental_health_details"), form.mental_health_details(),
                "A mental health concern is recorded: describe it, so the health visitor knows "
                "before the first visit.");
  }
  if (!form.has_discharge_planning_meeting_held()) {
    out.Add(Path(p, "discharge_planning_meeting_held"),
            "Required: say whether a discharge planning meeting was held (true or false).");
  } else if (!form.discharge_planning_meeting_held()) {
    RequireText(out, Path(p, "discharge_planning_meeting_reason_not_held"),
                form.discharge_planning_meeting_reason_not_held(),
                "No discharge planning meeting was held: say why.");
  }
  CheckEnumList(out, Path(p, "safe_sleep_advice_given_to"), form.safe_sleep_advice_given_to(),
                Person::Relationship_descriptor());
  CheckEnumList(out, Path(p, "safe_handling_advice_given_to"), form.safe_handling_advice_given_to(),
                Person::Relationship_descriptor());
}

// Upper case, one space before the three-character inward code: "ns14ab" -> "NS1 4AB".
void NormalizeAddress(Address& address) {
  if (!IsUkPostcode(address.postcode())) return;
  std::string code;
  for (char c : address.postcode()) {
    if (c != ' ') code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  address.set_postcode(code.insert(code.size() - 3, " "));
}

void NormalizePerson(Person& person) {
  if (!person.nhs_number().empty()) person.set_nhs_number(NormalizeNhsNumber(person.nhs_number()));
  if (person.has_address()) NormalizeAddress(*person.mutable_address());
}

}  // namespace

namespace {

// The path of the longest text in `message` ("hospital_liaison.injury_description",
// "household[1].name.family"), so the sender of an oversized form knows what to shorten.
void LongestText(const google::protobuf::Message& message, const std::string& prefix,
                 std::string& path, size_t& longest) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string name = prefix.empty() ? field->name() : Path(prefix, field->name());
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      const std::string at = field->is_repeated() ? Indexed(name, i) : name;
      if (field->type() == FieldDescriptor::TYPE_STRING ||
          field->type() == FieldDescriptor::TYPE_BYTES) {
        std::string scratch;
        const std::string& text =
            field->is_repeated()
                ? reflection->GetRepeatedStringReference(message, field, i, &scratch)
                : reflection->GetStringReference(message, field, &scratch);
        if (text.size() > longest) {
          longest = text.size();
          path = at;
        }
      } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
        LongestText(field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                         : reflection->GetMessage(message, field),
                    at, path, longest);
      }
    }
  }
}

void CheckSize(ViolationList& out, const Notification& n) {
  if (n.ByteSizeLong() <= kMaxNotificationBytes) return;
  std::string path = "id";
  size_t longest = 0;
  LongestText(n, "", path, longest);
  out.Add(path,
          "The notification is larger than 960 KiB, far more than any form (about 1.5 KB), and "
          "this is its longest field: shorten it; detail belongs in the agency's own record.");
}

// Validate's work, into `out`.
void ValidateInto(ViolationList& out, const v1::Notification& notification, TimeMs now) {
  CheckSize(out, notification);
  Reference ref;
  ref.today = UtcDay(now);
  ref.latest_today = UtcDay(now + 14 * kHourMs);
  ref.created_at = CheckEnvelope(out, notification, now);
  if (ref.created_at)
    ref.created_on = ParseDate(std::string_view(notification.created_at()).substr(0, 10));
  CheckChild(out, notification, ref);
  CheckHousehold(out, notification, ref);
  CheckFatherStatus(out, notification);
  CheckSummaryAndConcerns(out, notification);
  // The body that was sent is checked even when it does not match the type, so the sender
  // learns everything at once.
  switch (notification.body_case()) {
    case Notification::kHospitalLiaison:
      CheckHospitalLiaison(out, notification, ref);
      break;
    case Notification::kMashRequest:
      CheckMashRequest(out, notification, ref);
      break;
    case Notification::kScbuDischarge:
      CheckScbuDischarge(out, notification);
      break;
    case Notification::BODY_NOT_SET:
      break;
  }
}

// OK, or INVALID_ARGUMENT listing every violation in `out` (and counting those not listed).
Status Refusal(ViolationList&& out) {
  const size_t count = out.total();
  if (count == 0) return Status::Ok();
  return Status::InvalidArgument("the notification breaks " + std::to_string(count) +
                                     (count == 1 ? " rule" : " rules") +
                                     " of notifications.md: correct every field listed and resend",
                                 std::move(out).Take());
}

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;
using google::protobuf::Struct;
using google::protobuf::Value;

// A key of the document as a violation may name it: only when it looks like a field name
// (IsFieldLike), since a misspelt field is what its sender needs to see.
std::string ShownKey(const std::string& key) {
  return IsFieldLike(key) ? key : "(a key not shown)";
}

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : Path(prefix, name);
}

// Reads a document that protobuf's parser refused as plain JSON values and walks it against
// the form's fields, so that each field written in the wrong shape (an enumeration's value
// misspelt, a number where text belongs, two bodies, a misspelt key) is named as a violation
// of its own and left out, and the rest can be parsed and checked by the rules as well: the
// sender hears about every broken rule at once (notifications.md), not the parser's first.
// What is named never quotes the value written.
class ShapeCheck {
 public:
  explicit ShapeCheck(ViolationList& out) : out_(out) {}

  // Leaves in `object` only what `type` can read.
  void Object(Struct& object, const Descriptor* type, const std::string& prefix) {
    // In the form's order (the map's own is arbitrary), keys that are no field last.
    std::vector<std::pair<int, std::string>> keys;
    for (const auto& [key, value] : object.fields()) {
      const FieldDescriptor* field = Find(type, key);
      keys.emplace_back(field != nullptr ? field->index() : type->field_count(), key);
    }
    std::sort(keys.begin(), keys.end());
    const std::map<const OneofDescriptor*, std::string> kept = OneofKeysKept(object, type, keys);
    std::set<const FieldDescriptor*> seen;  // a field given as nhs_number and nhsNumber too
    for (const auto& [index, key] : keys) {
      const FieldDescriptor* field = Find(type, key);
      if (field == nullptr) {
        out_.Add(Join(prefix, ShownKey(key)),
                 "Not a field of the notifications.md form here: check its spelling (lower case, "
                 "with underscores) and what it is nested in.");
        object.mutable_fields()->erase(key);
        continue;
      }
      const std::string at = Join(prefix, field->name());
      if (!seen.insert(field).second) {
        out_.Add(at, "Given twice, under both its spellings: give it once.");
        object.mutable_fields()->erase(key);
        continue;
      }
      Value& value = (*object.mutable_fields())[key];
      if (value.kind_case() == Value::kNullValue) continue;  // not given, as the parser reads it
      if (const OneofDescriptor* oneof = field->real_containing_oneof();
          oneof != nullptr && kept.at(oneof) != key) {
        out_.Add(at, "Only one of " + Members(oneof) +
                         " may be given, the one `type` names: this form has more.");
        Drop(object, key, at);
        continue;
      }
      if (!field->is_repeated()) {
        if (!Element(value, field, at)) Drop(object, key, at);
        continue;
      }
      if (value.kind_case() != Value::kListValue) {
        out_.Add(at, "Must be a list, in [ ], even of one.");
        Drop(object, key, at);
        continue;
      }
      auto& list = *value.mutable_list_value()->mutable_values();
      size_t wrong = 0;
      for (int i = 0; i < list.size(); ++i) {
        if (wrong > ViolationList::kMostViolations) {
          // More wrong members than a reply lists is no form (a crafted one holds half a
          // million in 1 MiB): the list is left out whole (below), and the rest only counted.
          if (!Fits(list[i], field)) out_.CountUnlisted();
          continue;
        }
        const std::string element_at = Indexed(at, i);
        if (Element(list[i], field, element_at)) continue;
        list[i] = Placeholder(field);  // kept, so the others keep their places ("household[2]")
        out_.Suppress(element_at);
        ++wrong;
      }
      if (wrong > ViolationList::kMostViolations) Drop(object, key, at);
    }
  }

 private:
  // Of each oneof given more than once (two bodies), the key to keep: the body `type` names
  // (HOSPITAL_LIAISON: hospital_liaison), so the form is checked as what it says it is; else
  // the first in the form's order.
  static std::map<const OneofDescriptor*, std::string> OneofKeysKept(
      const Struct& object, const Descriptor* type,
      const std::vector<std::pair<int, std::string>>& keys) {
    std::string named;
    if (auto it = object.fields().find("type");
        it != object.fields().end() && it->second.kind_case() == Value::kStringValue) {
      named = it->second.string_value();
      std::transform(named.begin(), named.end(), named.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    std::map<const OneofDescriptor*, std::string> kept;
    for (const auto& [index, key] : keys) {
      const FieldDescriptor* field = Find(type, key);
      if (field == nullptr || field->real_containing_oneof() == nullptr ||
          object.fields().at(key).kind_case() == Value::kNullValue)
        continue;
      auto [at, first] = kept.emplace(field->real_containing_oneof(), key);
      if (!first && field->name() == named) at->second = key;
    }
    return kept;
  }

  static const FieldDescriptor* Find(const Descriptor* type, const std::string& key) {
    const FieldDescriptor* field = type->FindFieldByName(key);
    return field != nullptr ? field : type->FindFieldByCamelcaseName(key);  // the JSON names
  }

  static std::string Members(const OneofDescriptor* oneof) {
    std::string text;
    for (int i = 0; i < oneof->field_count(); ++i) {
      if (i > 0) text += i + 1 == oneof->field_count() ? " and " : ", ";
      text += oneof->field(i)->name();
    }
    return text;
  }

  void Drop(Struct& object, const std::string& key, const std::string& at) {
    object.mutable_fields()->erase(key);
    out_.Suppress(at);
  }

  // A value of the right shape for `field`, standing in for a wrong one in a list.
  static Value Placeholder(const FieldDescriptor* field) {
    Value value;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        value.mutable_struct_value();
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        value.set_string_value("");
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        value.set_bool_value(false);
        break;
      default:  // numbers, and an enumeration's unspecified zero
        value.set_number_value(0);
    }
    return value;
  }

  static bool IsWhole(double n, double lowest, double highest) {
    return std::trunc(n) == n && n >= lowest && n <= highest;
  }

  // The range of whole numbers a field of `type` takes. Beyond 2^53 a double is not exact:
  // protobuf's own parser judges those.
  static std::pair<double, double> Range(FieldDescriptor::CppType type) {
    switch (type) {
      case FieldDescriptor::CPPTYPE_INT32:
        return {INT32_MIN, INT32_MAX};
      case FieldDescriptor::CPPTYPE_UINT32:
        return {0, UINT32_MAX};
      case FieldDescriptor::CPPTYPE_INT64:
        return {-9e15, 9e15};
      default:
        return {0, 9e15};
    }
  }

  // A whole number in range, written as a number or (as protobuf's JSON allows) in quotes.
  static bool IsWholeIn(const Value& value, std::pair<double, double> range) {
    if (value.kind_case() == Value::kNumberValue)
      return IsWhole(value.number_value(), range.first, range.second);
    if (value.kind_case() != Value::kStringValue) return false;
    const std::string& text = value.string_value();
    int64_t n = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
    return error == std::errc() && end == text.data() + text.size() && !text.empty() &&
           IsWhole(static_cast<double>(n), range.first, range.second);
  }

  // Whether `value` has the shape `field` reads (a message's own fields are looked at later).
  static bool Fits(const Value& value, const FieldDescriptor* field) {
    const Value::KindCase kind = value.kind_case();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return kind == Value::kStructValue;
      case FieldDescriptor::CPPTYPE_ENUM:
        // A number is for the rules to check against the values there are.
        return (kind == Value::kStringValue &&
                field->enum_type()->FindValueByName(value.string_value()) != nullptr) ||
               (kind == Value::kNumberValue && IsWhole(value.number_value(), INT32_MIN, INT32_MAX));
      case FieldDescriptor::CPPTYPE_STRING:
        return kind == Value::kStringValue;
      case FieldDescriptor::CPPTYPE_BOOL:
        return kind == Value::kBoolValue;
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT64:
        return IsWholeIn(value, Range(field->cpp_type()));
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return kind == Value::kNumberValue;
    }
    return false;
  }

  // What a value of `field` must be, for a sender whose value was of another shape.
  static std::string Expected(const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return "Must be an object, in { }, of its own fields (see notifications.md).";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "Must be one of " + EnumChoices(field->enum_type()) +
               ", in quotes, written exactly so.";
      case FieldDescriptor::CPPTYPE_STRING:
        return "Must be text, in quotes.";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "Must be true or false, without quotes.";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "Must be a number.";
      default: {
        const auto [lowest, highest] = Range(field->cpp_type());
        return "Must be a whole number, from " + std::to_string(static_cast<int64_t>(lowest)) +
               " to " + std::to_string(static_cast<uint64_t>(highest)) + ".";
      }
    }
  }

  bool Element(Value& value, const FieldDescriptor* field, const std::string& at) {
    if (!Fits(value, field)) {
      out_.Add(at, Expected(field));
      return false;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
      Object(*value.mutable_struct_value(), field->message_type(), at);
    return true;
  }

  ViolationList& out_;
};

Result<v1::Notification> Parse(std::string_view json, std::optional<TimeMs> now) {
  if (json.empty()) {
    return Status::InvalidArgument(
        "the notification is empty: send one JSON object in the notifications.md form");
  }
  if (json.size() > kMaxJsonBytes) {
    return Status::InvalidArgument(
        "the notification is larger than 1 MiB, far more than any form: check what is sent");
  }
  v1::Notification notification;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not vanish silently
  const google::protobuf::StringPiece text(json.data(), json.size());
  const auto status = google::protobuf::util::JsonStringToMessage(text, &notification, options);
  if (status.ok()) return notification;  // every form a sender gets right: one pass

  const Status unreadable = Status::InvalidArgument(
      "the notification is not readable JSON in the notifications.md form: " +
      SafeParserMessage(std::string_view(status.message().data(), status.message().size())));
  Struct document;
  if (!google::protobuf::util::JsonStringToMessage(text, &document).ok()) return unreadable;
  ViolationList out;
  ShapeCheck(out).Object(document, Notification::descriptor(), "");
  std::string cleaned;
  notification.Clear();
  if (out.total() == 0 || !google::protobuf::util::MessageToJsonString(document, &cleaned).ok() ||
      !google::protobuf::util::JsonStringToMessage(cleaned, &notification, options).ok()) {
    return unreadable;  // a shape this walk does not know: the parser's words, made safe
  }
  if (now.has_value()) ValidateInto(out, notification, *now);
  return Refusal(std::move(out));
}

}  // namespace

Result<v1::Notification> ParseNotificationJson(std::string_view json) {
  return Parse(json, std::nullopt);
}

Result<v1::Notification> ParseNotificationJson(std::string_view json, TimeMs now) {
  return Parse(json, now);
}

std::vector<Violation> Validate(const v1::Notification& notification, TimeMs now) {
  ViolationList out;
  ValidateInto(out, notification, now);
  return std::move(out).Take();
}

Status CheckNotification(const v1::Notification& notification, TimeMs now) {
  ViolationList out;
  ValidateInto(out, notification, now);
  return Refusal(std::move(out));
}

std::string FormFieldLabel(std::string_view path) {
  std::string label;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (in_index && c != '[' && c != ']') continue;
    if (c == ']') in_index = false;
    label += c;
  }
  if (label == "notification") return label;  // "And N more broken rules"
  const google::protobuf::Descriptor* type = Notification::descriptor();
  for (size_t start = 0; type != nullptr;) {
    const size_t dot = label.find('.', start);
    std::string name = label.substr(start, dot == std::string::npos ? dot : dot - start);
    if (name.ends_with("[]")) name.resize(name.size() - 2);
    const FieldDescriptor* field = type->FindFieldByName(name);
    if (field == nullptr) {
      if (dot == std::string::npos && type->FindOneofByName(name) != nullptr) return label;
      break;
    }
    if (dot == std::string::npos) return label;
    type = field->message_type();
    start = dot + 1;
  }
  return "(not a field of the form)";
}

std::string NormalizeNhsNumber(std::string_view text) {
  std::string digits(text);
  std::erase(digits, ' ');
  return digits;
}

bool IsValidNhsNumber(std::string_view digits) {
  if (digits.size() != 10 || !IsDigits(digits)) return false;
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (digits[i] - '0') * (10 - i);
  const int check = (11 - sum % 11) % 11;  // 11 means 0; 10 is never a valid check digit
  return check != 10 && check == digits[9] - '0';
}

void Normalize(v1::Notification& notification) {
  if (notification.has_child()) NormalizePerson(*notification.mutable_child());
  for (Person& member : *notification.mutable_household()) NormalizePerson(member);
  if (notification.has_scbu_discharge() && notification.scbu_discharge().has_discharge_address()) {
    NormalizeAddress(*notification.mutable_scbu_discharge()->mutable_discharge_address());
  }
}

bool SameNotification(v1::Notification a, v1::Notification b) {
  Normalize(a);
  Normalize(b);
  a.clear_priority();
  b.clear_priority();
  a.clear_created_at();
  b.clear_created_at();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

Status ReusedIdRefusal(const std::string& id, const std::string& first,
                       std::vector<Violation> more) {
  more.insert(more.begin(), {"id",
                             "already used for a notification with other contents: give this "
                             "one an id of its own"});
  return Status::InvalidArgument("notification " + id + " was " + first +
                                     " with other contents: a retry must send the same "
                                     "notification, and a new or corrected one needs an id of "
                                     "its own",
                                 std::move(more));
}

// From the descriptor, so the sentence cannot drift from the .proto.
std::string EnumChoices(const google::protobuf::EnumDescriptor* type) {
  std::string text;
  for (int i = 1; i < type->value_count(); ++i) {
    if (i > 1) text += i + 1 == type->value_count() ? " or " : ", ";
    text += type->value(i)->name();
  }
  return text;
}

}  // namespace dutyhub
