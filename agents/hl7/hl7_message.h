// HL7 v2.5 as the hospital's systems send it: a message split into segments and fields,
// the liaison form it carries mapped to a v1::Notification (README.md beside this file is
// the mapping, and Hl7FieldFor below says it the other way round), and the ACK that
// answers it.
//
// Errors name the segment and field at fault ("PID-3: ...", "NK1(2)-3: ...") and never
// quote a value: the message is about a child, and errors travel back to the sender and
// into logs.
//
// Thread-safe: pure functions and immutable values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/clock.h"
#include "broker/status.h"
#include "notification.pb.h"

namespace dutyhub {

// The separators MSH-1 and MSH-2 declare; these are the usual ones.
struct Hl7Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};

// A place in a message, written as errors name it: "PID-3", "PID-5.2", "NK1(2)-3" (the
// second NK1 segment), "ZLF" (the segment itself).
struct Hl7Location {
  std::string segment;
  int occurrence = 1;  // which segment of that id, from 1
  int field = 0;       // 0: the segment as a whole
  int component = 0;   // 0: the whole field
  std::string ToString() const;
  // nullopt for anything not written as ToString writes it.
  static std::optional<Hl7Location> FromString(std::string_view text);
};

// One segment. fields[n] is SEG-n, still escaped (fields[0] is the segment id). For MSH
// the numbering is the standard's: fields[1] is the field separator itself and fields[2]
// the encoding characters.
struct Hl7Segment {
  std::string id;
  int occurrence = 1;
  std::vector<std::string> fields;
  // SEG-n, empty past the last field.
  std::string_view Field(int n) const;
};

class Hl7Message {
 public:
  // Splits `text` into segments (on \r; \n and \r\n are tolerated) and fields.
  // INVALID_ARGUMENT naming the place when it is not HL7: not starting with MSH, unusable
  // encoding characters, a segment id that is not three letters or digits.
  static Result<Hl7Message> Parse(std::string_view text);

  const Hl7Delimiters& delimiters() const { return delimiters_; }
  const std::vector<Hl7Segment>& segments() const { return segments_; }
  // The first segment with this id, or nullptr. Borrowed: valid while this message lives.
  const Hl7Segment* First(std::string_view id) const;
  std::vector<const Hl7Segment*> All(std::string_view id) const;

  // How many repetitions SEG-n holds (0 when it is empty).
  int Repetitions(const Hl7Segment& segment, int field) const;
  // The text at SEG-field, repetition, component, subcomponent (each from 1), unescaped and
  // as UTF-8. Empty when absent. INVALID_ARGUMENT naming the field for a bad escape
  // sequence or text that is not in the declared character set.
  Result<std::string> Text(const Hl7Segment& segment, int field, int component = 1,
                           int subcomponent = 1, int repetition = 1) const;

 private:
  Hl7Delimiters delimiters_;
  bool latin1_ = false;  // MSH-18 says 8859/1: converted to UTF-8 on the way out
  std::vector<Hl7Segment> segments_;
};

// \F\ \S\ \T\ \R\ \E\ for the delimiters, \.br\ for a line break, \Xhh..\ for bytes;
// \H\ and \N\ (highlighting) are dropped. INVALID_ARGUMENT for anything else.
Result<std::string> Hl7Unescape(std::string_view text, const Hl7Delimiters& delimiters);
// The inverse for text going into a message: delimiters escaped, line breaks as \.br\.
std::string Hl7Escape(std::string_view text, const Hl7Delimiters& delimiters);

// What an ACK needs from the message it answers. Fields are as sent (still escaped), so
// they are echoed exactly.
struct Hl7Header {
  Hl7Delimiters delimiters;
  std::string sending_application;    // MSH-3
  std::string sending_facility;       // MSH-4
  std::string receiving_application;  // MSH-5
  std::string receiving_facility;     // MSH-6
  std::string trigger_event;          // MSH-9.2
  std::string control_id;             // MSH-10
};

// The header of whatever arrived, as far as it can be read; nullopt when it does not start
// with a usable MSH segment.
std::optional<Hl7Header> ReadHl7Header(std::string_view text);

// The notification's id: HL7 carries no UUID, so one is made from the sending application
// (MSH-3), facility (MSH-4) and control id (MSH-10) with BLAKE2b, shaped as a version-4 UUID.
// The same control id from the same system is the same notification, so a retry is stored
// once by the outbox and by the broker.
std::string NotificationIdFor(std::string_view sending_application,
                              std::string_view sending_facility, std::string_view control_id);

struct LiaisonMessage {
  Hl7Header header;
  v1::Notification notification;  // as sent: not yet validated or normalised
};

// An ADT message carrying the hospital liaison form (README.md). INVALID_ARGUMENT naming
// the segment and field for what cannot be read; rules the form breaks (a missing
// summary, a bad NHS check digit) are left to Validate.
Result<LiaisonMessage> ParseLiaisonForm(std::string_view text);

// Where a notification field travels in a liaison message: "child.nhs_number" -> "PID-3",
// "household[1].relationship" -> "NK1(2)-3". Empty when no field carries it (id, type).
std::string Hl7FieldFor(std::string_view notification_field);

// --- The answer: an HL7 ACK in original acknowledgement mode. ---

// As HL7 table 0008 has them: AE is an error in the message itself (the sender fixes it),
// AR a refusal for a reason unrelated to its content or format (the sender decides whether
// to send it again). An engine may act on the difference, holding AE messages for a person
// and sending AR ones again by itself, so the two must not be swapped.
enum class AckCode {
  kAccepted,  // AA: in the outbox (or already there: a retry)
  kError,     // AE: the form breaks a rule of notifications.md, or the message cannot be read
  kRejected,  // AR: not stored (send again later), refused by the hub, or a message type,
              // processing id or version this adapter does not take (MSH-9, -11, -12)
};

struct AckError {
  std::string location;          // "PID-3"; empty when no field is to blame
  int hl7_code = 0;              // HL7 table 0357
  std::string application_code;  // the notification field of a broken rule
  std::string message;           // a sentence a person can act on
};

struct Ack {
  AckCode code = AckCode::kAccepted;
  std::string text;  // MSA-3
  std::vector<AckError> errors;
};

Ack AcceptedAck(std::string_view notification_id, bool duplicate);
// From Outbox::Accept's INVALID_ARGUMENT: AE, one ERR per violation.
Ack BrokenRulesAck(const Status& status);
// From ParseLiaisonForm's error: AE, one ERR per field that cannot be read; AR when it is
// MSH-9, MSH-11 or MSH-12 (a message this adapter does not take at all).
Ack ErrorAck(const Status& status);
// Not taken for a reason that is not the message's: AR with ERR 207 and `status`'s message
// (the outbox could not store it; the hub refused it when it was sent on).
Ack NotTakenAck(const Status& status);

// The ACK message, segments ended by \r. `request` is what it answers (nullopt when not
// even the header could be read); `control_id` is the ACK's own MSH-10.
std::string BuildAck(const std::optional<Hl7Header>& request, const Ack& ack,
                     std::string_view control_id, TimeMs now);

}  // namespace dutyhub
