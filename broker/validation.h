// The rules of docs/notifications.md, checked all at once. A library of its own
// (dutyhub_validation) so the agency adapters can tell a source system about a bad form
// before it ever leaves the hospital.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "broker/clock.h"
#include "broker/status.h"
#include "notification.pb.h"

namespace dutyhub {

// Parses a notification written as JSON (protobuf's JSON mapping, snake_case names).
// Unknown fields are refused, so a misspelt field is not silently lost. An unreadable
// document is INVALID_ARGUMENT whose message says what the parser could not read; the
// document's content is never echoed (it may hold a child's details).
//
// A readable document with fields written in the wrong shape (an enumeration's value that is
// not one of its names, a number where text belongs, two bodies, a misspelt key) is
// INVALID_ARGUMENT with a violation naming each such field; with `now`, the rules' own
// violations of the rest of the form are listed too, so the sender hears everything at once.
Result<v1::Notification> ParseNotificationJson(std::string_view json);
Result<v1::Notification> ParseNotificationJson(std::string_view json, TimeMs now);

// The most a notification may hold, as protobuf. A form is about 1.5 KB; the bound keeps
// every form that passes here inside the broker's smallest message bound (config.cc:
// max_message_bytes is at least this plus room for the request around it), because a
// request over that bound is dropped by the broker's socket unanswered, and an outbox
// that sent it would send it again forever, holding up everything queued behind it.
inline constexpr size_t kMaxNotificationBytes = 960 * 1024;

// Every rule the notification breaks, each with its field path
// ("child.nhs_number", "scbu_discharge.mental_health_details", "household[1].relationship")
// and a sentence a person can act on. Empty when the notification is valid.
// `now` is the hub's time of arrival (created_at may be at most 5 minutes after it; dates
// of birth may not be after it).
// Descriptions never quote the child's details back.
std::vector<Violation> Validate(const v1::Notification& notification, TimeMs now);

// Validate, folded into one Status: OK, or INVALID_ARGUMENT listing every violation.
Status CheckNotification(const v1::Notification& notification, TimeMs now);

// What a violation's field may be counted and logged as: its path in the form with the list
// positions left out ("household[2].relationship" -> "household[].relationship"), when every
// step of it is a field (or the body's oneof) of the notification; one label, "(not a field
// of the form)", for anything else. A key the sender wrote that is no field may be a
// child's name ("child.ava_moss"): it never reaches a log or a metric's label this way.
std::string FormFieldLabel(std::string_view path);

// Removes the spaces people type in NHS numbers: "999 339 5633" -> "9993395633".
std::string NormalizeNhsNumber(std::string_view text);

// REQUIRES: nothing. True when `digits` is ten digits passing the modulus 11 check
// (weights 10..2 over the first nine; check = 11 - (sum mod 11); 11 means 0; 10 never valid).
bool IsValidNhsNumber(std::string_view digits);

// "ROUTINE, URGENT or IMMEDIATE": an enum's values after its unspecified zero, for
// sentences that tell a sender what may be written (the HL7 adapter's too).
std::string EnumChoices(const google::protobuf::EnumDescriptor* type);

// Normalises what the rules allow to be normalised (NHS numbers without spaces, postcodes
// in upper case). Applied after a notification passed validation, before it is stored.
void Normalize(v1::Notification& notification);

// Whether `b` says what `a` says: the same contents once both are normalised, leaving out
// the priority, which callers compare (routing raises it, by rules that may look at when it
// arrived), and `created_at`, which an HL7 interface engine may rebuild (MSH-7) when it
// sends a message again. Promise 3 is for retries; the same id with other contents is no
// retry, and is refused rather than answered as the first (which would confirm a form no
// inbox gets).
bool SameNotification(v1::Notification a, v1::Notification b);

// The refusal of a notification whose id was used before for other contents, as the broker
// and the adapters' outbox both give it: INVALID_ARGUMENT naming `id`, then `more` (the rules
// it also breaks). `first` says where and when the first came ("accepted at ...").
Status ReusedIdRefusal(const std::string& id, const std::string& first,
                       std::vector<Violation> more = {});

}  // namespace dutyhub
