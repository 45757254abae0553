// HL7 v2 parsing, the liaison form's mapping (README.md) and ACKs. No error quotes a value
// from the message: only segment and field names and what was expected.
#include "agents/hl7/hl7_message.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "broker/validation.h"

namespace dutyhub {
namespace {

using v1::HospitalLiaison;
using v1::Notification;
using v1::Person;

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The index-th (from 1) of the parts `separator` divides `text` into; empty past the last.
std::string_view Part(std::string_view text, char separator, int index) {
  size_t start = 0;
  for (int i = 1; i < index; ++i) {
    start = text.find(separator, start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  if (index < 1) return {};
  const size_t end = text.find(separator, start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool IsSegmentId(std::string_view id) {
  return id.size() == 3 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

// RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
bool IsUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? c : c & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

std::string Latin1ToUtf8(std::string_view text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

Status Unreadable(const Hl7Location& where, const std::string& description) {
  const std::string field = where.ToString();
  return Status::InvalidArgument(field + ": " + description, {{field, description}});
}

// MSH alone: the delimiters it declares and its fields, numbered as the standard does.
Result<Hl7Segment> ParseMsh(std::string_view line, Hl7Delimiters& delimiters) {
  const Hl7Location msh{"MSH"};
  if (line.size() < 8 || line.substr(0, 3) != "MSH") {
    return Unreadable(
        msh, "the message does not start with an MSH segment: send one HL7 v2 message per frame");
  }
  const char field = line[3];
  const size_t end = line.find(field, 4);
  const std::string_view encoding =
      line.substr(4, end == std::string_view::npos ? std::string_view::npos : end - 4);
  std::set<char> distinct(encoding.begin(), encoding.end());
  distinct.insert(field);
  const bool usable =
      (encoding.size() == 4 || encoding.size() == 5) && distinct.size() == encoding.size() + 1 &&
      std::none_of(distinct.begin(), distinct.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '\r' || c == '\n' || c == ' ';
      });
  if (!usable) {
    return Unreadable({"MSH", 1, 2},
                      "the encoding characters must be four distinct separators after the field "
                      "separator, usually |^~\\&");
  }
  delimiters = {field, encoding[0], encoding[1], encoding[2], encoding[3]};
  Hl7Segment segment{"MSH", 1, {"MSH", std::string(1, field)}};
  std::vector<std::string_view> parts = Split(line, field);
  for (size_t i = 1; i < parts.size(); ++i) segment.fields.emplace_back(parts[i]);
  return segment;
}

}  // namespace

// --- Locations ---

std::string Hl7Location::ToString() const {
  std::string out = segment;
  if (occurrence > 1) out += "(" + std::to_string(occurrence) + ")";
  if (field > 0) out += "-" + std::to_string(field);
  if (field > 0 && component > 0) out += "." + std::to_string(component);
  return out;
}

std::optional<Hl7Location> Hl7Location::FromString(std::string_view text) {
  Hl7Location out;
  out.segment = std::string(text.substr(0, 3));
  if (!IsSegmentId(out.segment)) return std::nullopt;
  std::string_view rest = text.substr(3);
  auto number = [&rest](int& into) {
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), into);
    if (ec != std::errc() || into < 1) return false;
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    return true;
  };
  if (!rest.empty() && rest.front() == '(') {
    rest.remove_prefix(1);
    if (!number(out.occurrence) || rest.empty() || rest.front() != ')') return std::nullopt;
    rest.remove_prefix(1);
  }
  if (!rest.empty() && rest.front() == '-') {
    rest.remove_prefix(1);
    if (!number(out.field)) return std::nullopt;
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      if (!number(out.component)) return std::nullopt;
    }
  }
  if (!rest.empty()) return std::nullopt;
  return out;
}

// --- Messages ---

std::string_view Hl7Segment::Field(int n) const {
  return n >= 0 && static_cast<size_t>(n) < fields.size() ? std::string_view(fields[n])
                                                          : std::string_view{};
}

Result<Hl7Message> Hl7Message::Parse(std::string_view text) {
  Hl7Message message;
  std::map<std::string, int, std::less<>> seen;
  size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;  // \r\n, or a trailing separator
    ++number;
    if (number == 1) {
      auto msh = ParseMsh(line, message.delimiters_);
      if (!msh.ok()) return msh.status();
      message.segments_.push_back(std::move(*msh));
      seen["MSH"] = 1;
      continue;
    }
    const std::string id(line.substr(0, 3));
    if (!IsSegmentId(id) || (line.size() > 3 && line[3] != message.delimiters_.field)) {
      const std::string where = "segment " + std::to_string(number);
      const std::string description =
          "each segment starts with its three-letter id (PID, NK1, ...) and the field separator";
      return Status::InvalidArgument(where + ": " + description, {{where, description}});
    }
    const int occurrence = ++seen[id];
    if (id == "MSH") {
      return Unreadable({"MSH", occurrence}, "one message per frame: batches are not taken");
    }
    Hl7Segment segment{id, occurrence, {}};
    for (std::string_view part : Split(line, message.delimiters_.field))
      segment.fields.emplace_back(part);
    message.segments_.push_back(std::move(segment));
  }
  if (message.segments_.empty()) {
    return Unreadable({"MSH"}, "the message is empty: send one HL7 v2 message per frame");
  }
  const std::string_view charset =
      Part(message.segments_[0].Field(18), message.delimiters_.repetition, 1);
  if (charset == "8859/1") {
    message.latin1_ = true;
  } else if (!charset.empty() && charset != "ASCII" && charset != "UNICODE UTF-8") {
    return Unreadable({"MSH", 1, 18}, "the character set must be UNICODE UTF-8, ASCII or 8859/1");
  }
  return message;
}

const Hl7Segment* Hl7Message::First(std::string_view id) const {
  for (const Hl7Segment& segment : segments_) {
    if (segment.id == id) return &segment;
  }
  return nullptr;
}

std::vector<const Hl7Segment*> Hl7Message::All(std::string_view id) const {
  std::vector<const Hl7Segment*> out;
  for (const Hl7Segment& segment : segments_) {
    if (segment.id == id) out.push_back(&segment);
  }
  return out;
}

int Hl7Message::Repetitions(const Hl7Segment& segment, int field) const {
  const std::string_view raw = segment.Field(field);
  return raw.empty()
             ? 0
             : static_cast<int>(std::count(raw.begin(), raw.end(), delimiters_.repetition)) + 1;
}

Result<std::string> Hl7Message::Text(const Hl7Segment& segment, int field, int component,
                                     int subcomponent, int repetition) const {
  std::string_view raw = segment.Field(field);
  if (segment.id == "MSH" && field <= 2) return std::string(raw);
  raw = Part(raw, delimiters_.repetition, repetition);
  raw = Part(raw, delimiters_.component, component);
  raw = Part(raw, delimiters_.subcomponent, subcomponent);
  const Hl7Location where{segment.id, segment.occurrence, field, component > 1 ? component : 0};
  auto text = Hl7Unescape(raw, delimiters_);
  if (!text.ok()) return Unreadable(where, text.status().message());
  if (latin1_) return Latin1ToUtf8(*text);
  if (!IsUtf8(*text)) {
    return Unreadable(
        where, "this is not UTF-8 text: send UTF-8 (MSH-18 UNICODE UTF-8) or say 8859/1 in MSH-18");
  }
  return text;
}

Result<std::string> Hl7Unescape(std::string_view text, const Hl7Delimiters& d) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != d.escape) {
      out += text[i];
      continue;
    }
    const size_t close = text.find(d.escape, i + 1);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(
          "an escape sequence is not closed: write a lone escape character as \\E\\");
    }
    const std::string_view code = text.substr(i + 1, close - i - 1);
    i = close;
    if (code == "F")
      out += d.field;
    else if (code == "S")
      out += d.component;
    else if (code == "T")
      out += d.subcomponent;
    else if (code == "R")
      out += d.repetition;
    else if (code == "E")
      out += d.escape;
    else if (code == ".br")
      out += '\n';
    else if (code == "H" || code == "N")
      continue;  // highlighting on and off: no meaning here
    else if (code.size() >= 3 && code[0] == 'X' && code.size() % 2 == 1) {
      for (size_t k = 1; k < code.size(); k += 2) {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(code.data() + k, code.data() + k + 2, value, 16);
        if (ec != std::errc() || ptr != code.data() + k + 2) {
          return Status::InvalidArgument(
              "a \\X..\\ escape sequence holds something other than hexadecimal pairs");
        }
        out += static_cast<char>(value);
      }
    } else {
      return Status::InvalidArgument(
          "an escape sequence is not one this adapter reads (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ "
          "\\Xhh\\)");
    }
  }
  return out;
}

std::string Hl7Escape(std::string_view text, const Hl7Delimiters& d) {
  std::string out;
  for (char c : text) {
    if (c == d.escape)
      out += std::string{d.escape, 'E', d.escape};
    else if (c == d.field)
      out += std::string{d.escape, 'F', d.escape};
    else if (c == d.component)
      out += std::string{d.escape, 'S', d.escape};
    else if (c == d.subcomponent)
      out += std::string{d.escape, 'T', d.escape};
    else if (c == d.repetition)
      out += std::string{d.escape, 'R', d.escape};
    else if (c == '\n')
      out += std::string{d.escape} + ".br" + d.escape;
    else if (c == '\r')
      out += std::string{d.escape} + "X0D" + d.escape;
    else
      out += c;
  }
  return out;
}

std::optional<Hl7Header> ReadHl7Header(std::string_view text) {
  Hl7Header header;
  const size_t start = std::min(text.find_first_not_of("\r\n"), text.size());
  text.remove_prefix(start);
  auto msh = ParseMsh(text.substr(0, text.find_first_of("\r\n")), header.delimiters);
  if (!msh.ok()) return std::nullopt;
  header.sending_application = msh->Field(3);
  header.sending_facility = msh->Field(4);
  header.receiving_application = msh->Field(5);
  header.receiving_facility = msh->Field(6);
  header.trigger_event = Part(msh->Field(9), header.delimiters.component, 2);
  header.control_id = msh->Field(10);
  return header;
}

std::string NotificationIdFor(std::string_view sending_application,
                              std::string_view sending_facility, std::string_view control_id) {
  static const bool kReady = sodium_init() >= 0;
  (void)kReady;  // generic hashing works either way; init only picks the fastest code
  // Lengths first, so ("AB", "C") and ("A", "BC") never hash alike.
  std::string input = "dutyhub-hl7 notification id v1";
  for (std::string_view part : {sending_application, sending_facility, control_id}) {
    input += std::to_string(part.size()) + ":";
    input += part;
  }
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), nullptr, 0);
  hash[6] = static_cast<unsigned char>((hash[6] & 0x0F) | 0x40);  // version 4
  hash[8] = static_cast<unsigned char>((hash[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string out;
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", hash[i]);
    out += hex;
  }
  return out;
}

// --- The liaison form (README.md is the mapping) ---

namespace {

using google::protobuf::EnumDescriptor;

// Limits far above any real form, so that reading a hostile message stays cheap.
constexpr int kMostRepetitions = 100;
constexpr size_t kMostHouseholdMembers = 100;

// Collects every field that cannot be read, so the sender hears of all of them at once.
class FormReader {
 public:
  explicit FormReader(const Hl7Message& message) : message_(message) {}

  std::string Text(const Hl7Segment& s, int field, int component = 1, int subcomponent = 1,
                   int repetition = 1) {
    auto text = message_.Text(s, field, component, subcomponent, repetition);
    if (text.ok()) return std::move(*text);
    for (const Violation& v : text.status().violations()) Add(v.field, v.description);
    return {};
  }
  // Bounded, so a message of a million repetitions costs no more than one of a hundred.
  int Repetitions(const Hl7Segment& s, int field) {
    const int count = message_.Repetitions(s, field);
    if (count <= kMostRepetitions) return count;
    Fail(s, field,
         "more than " + std::to_string(kMostRepetitions) +
             " repetitions: far more than any form has");
    return 0;
  }

  void Fail(const Hl7Segment& s, int field, std::string description) {
    Add(Hl7Location{s.id, s.occurrence, field}.ToString(), std::move(description));
  }
  void Add(std::string field, std::string description) {
    for (const Violation& v : violations_) {
      if (v.field == field) return;  // the first problem with a field is enough
    }
    violations_.push_back({std::move(field), std::move(description)});
  }
  bool ok() const { return violations_.empty(); }

  Status Finish() const {
    if (violations_.empty()) return Status::Ok();
    const Violation& first = violations_.front();
    std::string message = first.field + ": " + first.description;
    if (violations_.size() > 1)
      message += " (and " + std::to_string(violations_.size() - 1) + " more)";
    return Status::InvalidArgument(message, violations_);
  }

 private:
  const Hl7Message& message_;
  std::vector<Violation> violations_;
};

std::string Choices(const EnumDescriptor* type) { return EnumChoices(type); }

// The hub's own value names, where HL7 has no table for the field. 0 when empty.
int ReadEnum(FormReader& r, const Hl7Segment& s, int field, const EnumDescriptor* type,
             int repetition = 1) {
  const std::string text = r.Text(s, field, 1, 1, repetition);
  if (text.empty()) return 0;
  const auto* value = type->FindValueByName(text);
  if (value == nullptr || value->number() == 0) {
    r.Fail(s, field, "not a value the hub knows: use " + Choices(type));
    return 0;
  }
  return value->number();
}

template <typename Add>
void ReadEnumList(FormReader& r, const Hl7Segment& s, int field, const EnumDescriptor* type,
                  Add add) {
  for (int rep = 1, count = r.Repetitions(s, field); rep <= count; ++rep) {
    if (int value = ReadEnum(r, s, field, type, rep); value != 0) add(value);
  }
}

// HL7 table 0136.
std::optional<bool> ReadYesNo(FormReader& r, const Hl7Segment& s, int field, int component = 1,
                              int repetition = 1) {
  const std::string text = r.Text(s, field, component, 1, repetition);
  if (text == "Y") return true;
  if (text == "N") return false;
  if (!text.empty())
    r.Fail(s, field, "use Y or N (HL7 table 0136), or leave it empty when not known");
  return std::nullopt;
}

size_t LeadingDigits(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  return n;
}

// TS/DTM "YYYYMMDDHHMM[SS[.S[S[S[S]]]]]+ZZZZ" -> RFC 3339. The offset is required: without
// it nobody can tell when the event happened.
std::string ReadTimestamp(FormReader& r, const Hl7Segment& s, int field) {
  const std::string ts = r.Text(s, field, 1);
  if (ts.empty()) return {};
  const size_t digits = LeadingDigits(ts);
  size_t pos = digits;
  std::string fraction;
  if (digits == 14 && pos < ts.size() && ts[pos] == '.') {
    const size_t count = LeadingDigits(std::string_view(ts).substr(pos + 1));
    fraction = ts.substr(pos, count + 1);
    pos += count + 1;
    if (count < 1 || count > 4) pos = std::string::npos;
  }
  const bool ok = (digits == 12 || digits == 14) && pos != std::string::npos &&
                  pos + 5 == ts.size() && (ts[pos] == '+' || ts[pos] == '-') &&
                  LeadingDigits(std::string_view(ts).substr(pos + 1)) == 4;
  if (!ok) {
    r.Fail(s, field,
           "give the time as YYYYMMDDHHMM[SS] with its UTC offset, e.g. 20261123084000+0000");
    return {};
  }
  std::string out = ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2) + "T" +
                    ts.substr(8, 2) + ":" + ts.substr(10, 2) + ":" +
                    (digits == 14 ? ts.substr(12, 2) : "00") + fraction;
  const std::string offset = ts.substr(pos + 1);
  out += offset == "0000" ? "Z" : ts.substr(pos, 1) + offset.substr(0, 2) + ":" + offset.substr(2);
  return out;
}

// DT, or the date of a TS: "YYYYMMDD..." -> "YYYY-MM-DD". Whether it is a real date is
// the validator's rule.
std::string ReadDate(FormReader& r, const Hl7Segment& s, int field) {
  const std::string ts = r.Text(s, field, 1);
  if (ts.empty()) return {};
  if (LeadingDigits(ts) < 8 || ts.find_first_not_of("0123456789.+-") != std::string::npos) {
    r.Fail(s, field, "give the date to the day, as YYYYMMDD");
    return {};
  }
  return ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2);
}

// XPN: the legal name (XPN-7 "L") if there is one, else the first. Further given names
// (XPN-3) follow the given name.
void ReadName(FormReader& r, const Hl7Segment& s, int field, Person& person) {
  int chosen = 1;
  for (int rep = 1, count = r.Repetitions(s, field); rep <= count; ++rep) {
    if (r.Text(s, field, 7, 1, rep) == "L") {
      chosen = rep;
      break;
    }
  }
  person.set_family_name(r.Text(s, field, 1, 1, chosen));
  std::string given = r.Text(s, field, 2, 1, chosen);
  const std::string further = r.Text(s, field, 3, 1, chosen);
  if (!further.empty()) given += given.empty() ? further : " " + further;
  person.set_given_name(given);
}

// CX list: the identifier whose type is NH or whose assigning authority is NHS.
std::string ReadNhsNumber(FormReader& r, const Hl7Segment& s, int field) {
  for (int rep = 1, count = r.Repetitions(s, field); rep <= count; ++rep) {
    if (r.Text(s, field, 5, 1, rep) == "NH" || r.Text(s, field, 4, 1, rep) == "NHS") {
      return r.Text(s, field, 1, 1, rep);
    }
  }
  return {};
}

// XAD: the home address (XAD-7 "H") if there is one, else the first. Lines are the
// street, other designation, city and state components that are not empty.
void ReadAddress(FormReader& r, const Hl7Segment& s, int field, Person& person) {
  const int count = r.Repetitions(s, field);
  if (count == 0) return;
  int chosen = 1;
  for (int rep = 1; rep <= count; ++rep) {
    if (r.Text(s, field, 7, 1, rep) == "H") {
      chosen = rep;
      break;
    }
  }
  v1::Address address;
  for (int component : {1, 2, 3, 4}) {
    std::string line = r.Text(s, field, component, 1, chosen);
    if (!line.empty()) address.add_lines(std::move(line));
  }
  address.set_postcode(r.Text(s, field, 5, 1, chosen));
  if (address.lines_size() > 0 || !address.postcode().empty())
    *person.mutable_address() = std::move(address);
}

// HL7 table 0001. O, A and N say more than the hub records: they are taken as UNKNOWN.
void ReadSex(FormReader& r, const Hl7Segment& s, int field, Person& person) {
  const std::string code = r.Text(s, field, 1);
  if (code.empty()) return;
  if (code == "F")
    person.set_sex(Person::FEMALE);
  else if (code == "M")
    person.set_sex(Person::MALE);
  else if (code == "U" || code == "O" || code == "A" || code == "N")
    person.set_sex(Person::UNKNOWN);
  else
    r.Fail(s, field, "use F, M or U (HL7 table 0001)");
}

// HL7 table 0063 where it has the relationship; local codes (README.md) where it has not.
void ReadRelationship(FormReader& r, const Hl7Segment& s, int field, Person& person) {
  static const std::map<std::string, Person::Relationship, std::less<>> kCodes = {
      {"MTH", Person::MOTHER},      {"FTH", Person::FATHER},     {"GRP", Person::GRANDPARENT},
      {"SIB", Person::SIBLING},     {"BRO", Person::SIBLING},    {"SIS", Person::SIBLING},
      {"OAD", Person::OTHER_ADULT}, {"MCR", Person::MALE_CARER}, {"FCR", Person::FEMALE_CARER},
      {"STP", Person::STEP_PARENT}};
  const std::string code = r.Text(s, field, 1);
  if (code.empty()) return;  // the validator says it is required
  auto found = kCodes.find(code);
  if (found == kCodes.end()) {
    r.Fail(s, field,
           "use MTH, FTH, GRP, SIB, BRO, SIS or OAD (HL7 table 0063), or MCR (male carer), "
           "FCR (female carer) or STP (step-parent)");
    return;
  }
  person.set_relationship(found->second);
}

void CheckHeader(FormReader& r, const Hl7Segment& msh) {
  if (r.Text(msh, 9, 1) != "ADT") {
    r.Fail(msh, 9, "this adapter takes the liaison form as an ADT message (ADT^A08^ADT_A01)");
  }
  if (r.Text(msh, 10).empty()) {
    r.Fail(msh, 10, "Required: the message control id, the same on every retry of this message");
  }
  if (r.Text(msh, 11, 1) != "P") {
    r.Fail(msh, 11,
           "only production messages (P) reach the duty inboxes: send training and test messages "
           "to a test hub");
  }
  if (r.Text(msh, 12, 1).rfind("2.", 0) != 0)
    r.Fail(msh, 12, "this adapter reads HL7 version 2.5 (2.x)");
}

// ZLF-17: NK1 set ID ^ lives with child ^ parental responsibility ^ GP practice code.
void ReadHouseholdDetails(FormReader& r, const Hl7Segment& zlf,
                          const std::vector<const Hl7Segment*>& nk1s, Notification& n) {
  for (int rep = 1, count = r.Repetitions(zlf, 17); rep <= count; ++rep) {
    const std::string set_id = r.Text(zlf, 17, 1, 1, rep);
    int index = -1;
    for (size_t i = 0; i < nk1s.size(); ++i) {
      const std::string own = r.Text(*nk1s[i], 1);
      if (!set_id.empty() && (own == set_id || (own.empty() && set_id == std::to_string(i + 1)))) {
        index = static_cast<int>(i);
      }
    }
    if (index < 0) {
      r.Fail(zlf, 17,
             "each repetition starts with the set ID (NK1-1) of an NK1 segment in this message");
      continue;
    }
    Person& member = *n.mutable_household(index);
    if (auto lives = ReadYesNo(r, zlf, 17, 2, rep)) member.set_lives_with_child(*lives);
    if (auto responsible = ReadYesNo(r, zlf, 17, 3, rep))
      member.set_parental_responsibility(*responsible);
    member.set_gp_practice_code(r.Text(zlf, 17, 4, 1, rep));
  }
}

void ReadZlf(FormReader& r, const Hl7Segment& zlf, Notification& n) {
  n.set_priority(static_cast<Notification::Priority>(
      ReadEnum(r, zlf, 1, Notification::Priority_descriptor())));
  n.set_area(r.Text(zlf, 2));
  n.set_summary(r.Text(zlf, 3));
  ReadEnumList(r, zlf, 4, Notification::Concern_descriptor(),
               [&n](int value) { n.add_concerns(static_cast<Notification::Concern>(value)); });
  n.set_father_status(static_cast<Notification::FatherStatus>(
      ReadEnum(r, zlf, 5, Notification::FatherStatus_descriptor())));
  n.set_father_status_note(r.Text(zlf, 6));
  n.mutable_author()->set_role(r.Text(zlf, 7));
  n.mutable_author()->set_phone(r.Text(zlf, 8));
  n.mutable_author()->set_email(r.Text(zlf, 9));
  HospitalLiaison& form = *n.mutable_hospital_liaison();
  if (auto injury = ReadYesNo(r, zlf, 10)) form.set_injury_present(*injury);
  form.set_injury_description(r.Text(zlf, 11));
  if (auto mobile = ReadYesNo(r, zlf, 12)) form.set_child_independently_mobile(*mobile);
  if (auto brue = ReadYesNo(r, zlf, 13)) form.set_brue(*brue);
  if (auto referred = ReadYesNo(r, zlf, 14)) form.set_mash_referral_made(*referred);
  form.set_mash_reference(r.Text(zlf, 15));
  ReadEnumList(r, zlf, 16, HospitalLiaison::FollowUp_descriptor(), [&form](int value) {
    form.add_follow_up_requested(static_cast<HospitalLiaison::FollowUp>(value));
  });
  n.mutable_child()->set_expected_delivery_date(ReadDate(r, zlf, 18));
}

}  // namespace

Result<LiaisonMessage> ParseLiaisonForm(std::string_view text) {
  auto parsed = Hl7Message::Parse(text);
  if (!parsed.ok()) return parsed.status();
  const Hl7Message& message = *parsed;
  FormReader r(message);
  const Hl7Segment& msh = message.segments().front();
  CheckHeader(r, msh);
  for (const char* id : {"EVN", "PID", "PV1", "ZLF"}) {
    if (message.First(id) == nullptr)
      r.Add(id, "Required: the liaison message carries this segment (README.md)");
  }
  for (const char* id : {"EVN", "PID", "PD1", "PV1", "PV2", "ZLF"}) {
    if (message.All(id).size() > 1)
      r.Add(Hl7Location{id, 2}.ToString(), "one liaison form, about one child, per message");
  }
  if (message.All("NK1").size() > kMostHouseholdMembers) {
    r.Add(Hl7Location{"NK1", static_cast<int>(kMostHouseholdMembers) + 1}.ToString(),
          "at most " + std::to_string(kMostHouseholdMembers) + " household members (NK1 segments)");
  }
  if (!r.ok()) return r.Finish();

  LiaisonMessage out;
  out.header = *ReadHl7Header(text);
  Notification& n = out.notification;
  n.set_id(NotificationIdFor(out.header.sending_application, out.header.sending_facility,
                             out.header.control_id));
  n.set_type(Notification::HOSPITAL_LIAISON);
  n.set_created_at(ReadTimestamp(r, msh, 7));

  // EVN-5 (XCN): prefix, given, further given, family name, suffix.
  const Hl7Segment& evn = *message.First("EVN");
  std::string author;
  for (int component : {6, 3, 4, 2, 5}) {
    const std::string part = r.Text(evn, 5, component);
    if (!part.empty()) author += (author.empty() ? "" : " ") + part;
  }
  n.mutable_author()->set_name(author);

  const Hl7Segment& pid = *message.First("PID");
  Person& child = *n.mutable_child();
  child.set_nhs_number(ReadNhsNumber(r, pid, 3));
  ReadName(r, pid, 5, child);
  child.set_date_of_birth(ReadDate(r, pid, 7));
  ReadSex(r, pid, 8, child);
  ReadAddress(r, pid, 11, child);
  if (const Hl7Segment* pd1 = message.First("PD1")) {
    // XON-10 (organization identifier), or XON-3 (ID number) as older feeds send it.
    std::string practice = r.Text(*pd1, 3, 10);
    child.set_gp_practice_code(practice.empty() ? r.Text(*pd1, 3, 3) : practice);
  }

  const std::vector<const Hl7Segment*> nk1s = message.All("NK1");
  for (const Hl7Segment* nk1 : nk1s) {
    Person& member = *n.add_household();
    ReadName(r, *nk1, 2, member);
    ReadRelationship(r, *nk1, 3, member);
    ReadAddress(r, *nk1, 4, member);
    ReadSex(r, *nk1, 15, member);
    member.set_date_of_birth(ReadDate(r, *nk1, 16));
    member.set_nhs_number(ReadNhsNumber(r, *nk1, 33));
  }

  const Hl7Segment& pv1 = *message.First("PV1");
  HospitalLiaison& form = *n.mutable_hospital_liaison();
  form.set_site(r.Text(pv1, 3, 4));  // PL-4 facility, its namespace id
  form.set_department(static_cast<HospitalLiaison::Department>(
      ReadEnum(r, pv1, 10, HospitalLiaison::Department_descriptor())));
  form.set_attended_at(ReadTimestamp(r, pv1, 44));
  if (const Hl7Segment* pv2 = message.First("PV2")) {
    std::string complaint = r.Text(*pv2, 3, 2);  // CE text, else its identifier
    form.set_presenting_complaint(complaint.empty() ? r.Text(*pv2, 3, 1) : complaint);
  }

  const Hl7Segment& zlf = *message.First("ZLF");
  ReadZlf(r, zlf, n);
  ReadHouseholdDetails(r, zlf, nk1s, n);
  if (Status s = r.Finish(); !s.ok()) return s;
  return out;
}

std::string Hl7FieldFor(std::string_view field) {
  // Indexes of repeated values ("concerns[1]") point at the field as a whole.
  std::string path(field);
  constexpr size_t kHouseholdBracket = 9;  // household[i] itself is a member, not a repetition
  if (path.ends_with("]") && path.rfind('[') != kHouseholdBracket)
    path = path.substr(0, path.rfind('['));
  static const std::map<std::string, std::string, std::less<>> kEnvelope = {
      {"id", "MSH-10"},
      {"created_at", "MSH-7"},
      {"priority", "ZLF-1"},
      {"area", "ZLF-2"},
      {"summary", "ZLF-3"},
      {"concerns", "ZLF-4"},
      {"father_status", "ZLF-5"},
      {"father_status_note", "ZLF-6"},
      {"author", "EVN-5"},
      {"author.name", "EVN-5"},
      {"author.role", "ZLF-7"},
      {"author.phone", "ZLF-8"},
      {"author.email", "ZLF-9"},
      {"child", "PID"},
      {"child.nhs_number", "PID-3"},
      {"child.family_name", "PID-5.1"},
      {"child.given_name", "PID-5.2"},
      {"child.date_of_birth", "PID-7"},
      {"child.sex", "PID-8"},
      {"child.address", "PID-11"},
      {"child.address.lines", "PID-11"},
      {"child.address.postcode", "PID-11.5"},
      {"child.gp_practice_code", "PD1-3"},
      {"child.expected_delivery_date", "ZLF-18"},
      {"hospital_liaison", "ZLF"},
      {"hospital_liaison.site", "PV1-3.4"},
      {"hospital_liaison.department", "PV1-10"},
      {"hospital_liaison.attended_at", "PV1-44"},
      {"hospital_liaison.presenting_complaint", "PV2-3.2"},
      {"hospital_liaison.injury_present", "ZLF-10"},
      {"hospital_liaison.injury_description", "ZLF-11"},
      {"hospital_liaison.child_independently_mobile", "ZLF-12"},
      {"hospital_liaison.brue", "ZLF-13"},
      {"hospital_liaison.mash_referral_made", "ZLF-14"},
      {"hospital_liaison.mash_reference", "ZLF-15"},
      {"hospital_liaison.follow_up_requested", "ZLF-16"},
  };
  if (auto found = kEnvelope.find(path); found != kEnvelope.end()) return found->second;
  // household[i].x: the (i+1)th NK1 segment.
  int index = 0;
  if (!path.starts_with("household[")) return {};
  const size_t close = path.find(']');
  if (close == std::string::npos) return {};
  auto [ptr, ec] = std::from_chars(path.data() + 10, path.data() + close, index);
  if (ec != std::errc() || ptr != path.data() + close || index < 0) return {};
  const std::string member = close + 1 < path.size() ? path.substr(close + 2) : "";
  static const std::map<std::string, std::pair<int, int>, std::less<>> kMember = {
      {"", {0, 0}},
      {"family_name", {2, 1}},
      {"given_name", {2, 2}},
      {"relationship", {3, 0}},
      {"address", {4, 0}},
      {"address.lines", {4, 0}},
      {"address.postcode", {4, 5}},
      {"sex", {15, 0}},
      {"date_of_birth", {16, 0}},
      {"nhs_number", {33, 0}}};
  static const std::map<std::string, std::string, std::less<>> kMemberInZlf = {
      {"lives_with_child", "ZLF-17.2"},
      {"parental_responsibility", "ZLF-17.3"},
      {"gp_practice_code", "ZLF-17.4"}};
  if (auto found = kMemberInZlf.find(member); found != kMemberInZlf.end()) return found->second;
  auto found = kMember.find(member);
  if (found == kMember.end()) return {};
  return Hl7Location{"NK1", index + 1, found->second.first, found->second.second}.ToString();
}

// --- ACKs ---

namespace {

// HL7 table 0357.
const char* Hl7CodeText(int code) {
  switch (code) {
    case 0:
      return "Message accepted";
    case 100:
      return "Segment sequence error";
    case 101:
      return "Required field missing";
    case 102:
      return "Data type error";
    case 103:
      return "Table value not found";
    case 200:
      return "Unsupported message type";
    case 202:
      return "Unsupported processing id";
    case 203:
      return "Unsupported version id";
    default:
      return "Application internal error";
  }
}

// Which table 0357 code fits a field that could not be read.
int CodeForUnreadable(const std::optional<Hl7Location>& where, std::string_view description) {
  static const std::set<std::string, std::less<>> kCoded = {
      "PID-8",  "NK1-3",  "NK1-15", "PV1-10", "ZLF-1",  "ZLF-4", "ZLF-5",
      "ZLF-10", "ZLF-12", "ZLF-13", "ZLF-14", "ZLF-16", "ZLF-17"};
  if (!where || where->field == 0) return 100;
  const std::string field = where->segment + "-" + std::to_string(where->field);
  if (field == "MSH-9") return 200;
  if (field == "MSH-11") return 202;
  if (field == "MSH-12") return 203;
  if (description.starts_with("Required")) return 101;
  return kCoded.count(field) ? 103 : 102;
}

std::string FormatHl7Time(TimeMs now) {
  const std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S+0000", &utc);
  return text;
}

}  // namespace

Ack AcceptedAck(std::string_view notification_id, bool duplicate) {
  Ack ack;
  ack.code = AckCode::kAccepted;
  ack.text = std::string(duplicate ? "Already accepted (a retry) as notification "
                                   : "Accepted as notification ") +
             std::string(notification_id);
  return ack;
}

Ack BrokenRulesAck(const Status& status) {
  Ack ack;
  ack.code = AckCode::kError;
  std::string fields;
  for (const Violation& v : status.violations()) {
    fields += (fields.empty() ? "" : ", ") + v.field;
    const std::string location = Hl7FieldFor(v.field);
    ack.errors.push_back(
        {location, v.description.starts_with("Required") ? 101 : 102, v.field,
         v.field + (location.empty() ? "" : " (" + location + ")") + ": " + v.description});
  }
  const size_t count = status.violations().size();
  ack.text = "Error: the form breaks " + std::to_string(count) +
             (count == 1 ? " rule: " : " rules: ") + fields;
  return ack;
}

Ack ErrorAck(const Status& status) {
  Ack ack;
  ack.code = AckCode::kError;
  ack.text = "Not taken: " + status.message();
  for (const Violation& v : status.violations()) {
    auto where = Hl7Location::FromString(v.field);
    ack.errors.push_back({where ? v.field : "", CodeForUnreadable(where, v.description), "",
                          v.field + ": " + v.description});
  }
  if (ack.errors.empty()) {
    ack.errors.push_back(
        {"", status.code() == Code::kInvalidArgument ? 100 : 207, "", status.message()});
  }
  for (const AckError& error : ack.errors) {
    if (error.hl7_code >= 200) ack.code = AckCode::kRejected;  // 200, 202, 203, 207
  }
  return ack;
}

Ack NotTakenAck(const Status& status) {
  Ack ack;
  ack.code = AckCode::kRejected;
  ack.text = "Not taken: " + status.message();
  ack.errors.push_back({"", 207, "", status.message()});
  return ack;
}

std::string BuildAck(const std::optional<Hl7Header>& request, const Ack& ack,
                     std::string_view control_id, TimeMs now) {
  const Hl7Delimiters d = request ? request->delimiters : Hl7Delimiters{};
  auto segment = [&d](std::vector<std::string> fields) {
    std::string out;
    for (size_t i = 0; i < fields.size(); ++i)
      out += (i == 0 ? "" : std::string(1, d.field)) + fields[i];
    return out + "\r";
  };
  auto escaped = [&d](std::string_view text) { return Hl7Escape(text, d); };
  const std::string c(1, d.component);
  const std::string sender = request && !request->receiving_application.empty()
                                 ? request->receiving_application
                                 : "DUTYHUB";
  std::string out = segment(
      {"MSH", std::string{d.component, d.repetition, d.escape, d.subcomponent}, sender,
       request ? request->receiving_facility : "", request ? request->sending_application : "",
       request ? request->sending_facility : "", FormatHl7Time(now), "",
       "ACK" + c + (request ? request->trigger_event : "") + c + "ACK", escaped(control_id), "P",
       "2.5"});
  const char* code = ack.code == AckCode::kAccepted   ? "AA"
                     : ack.code == AckCode::kRejected ? "AR"
                                                      : "AE";
  out += segment({"MSA", code, request ? request->control_id : "", escaped(ack.text)});
  for (const AckError& error : ack.errors) {
    std::string location;
    if (auto where = Hl7Location::FromString(error.location)) {
      location = where->segment + c + std::to_string(where->occurrence);
      if (where->field > 0) location += c + std::to_string(where->field);
      if (where->field > 0 && where->component > 0)
        location += c + "1" + c + std::to_string(where->component);
    }
    out +=
        segment({"ERR", "", location,
                 std::to_string(error.hl7_code) + c + Hl7CodeText(error.hl7_code) + c + "HL70357",
                 "E", escaped(error.application_code), "", "", escaped(error.message)});
  }
  return out;
}

}  // namespace dutyhub
