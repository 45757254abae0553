// The routing rules as data: one general mechanism (conditions on a notification, actions
// that deliver to inboxes or raise the priority), so a partnership changes its routing by
// editing its configuration, not the broker. See config/README.md for the file format.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "broker/status.h"
#include "notification.pb.h"

namespace google::protobuf {
class FieldDescriptor;
}

namespace dutyhub {

// A dotted path to a single field of a Notification ("mash_request.requested_service",
// "child.gp_practice_code"), checked against the schema when the configuration loads, so
// a misspelt path stops the broker at start rather than never matching.
class FieldPath {
 public:
  // INVALID_ARGUMENT when a step is unknown, repeated, or the path ends on a message.
  static Result<FieldPath> Parse(const std::string& dotted);

  // The value as text: an enum's name, "true"/"false", a number in decimal, or the
  // string. nullopt when the field (or a message on the way) is not set, or is an empty
  // string.
  std::optional<std::string> ValueIn(const v1::Notification& notification) const;

  const std::string& text() const { return text_; }
  // The last step is a string, enum, bool or number; for checking a configured value.
  const google::protobuf::FieldDescriptor* leaf() const { return steps_.back(); }

 private:
  std::vector<const google::protobuf::FieldDescriptor*> steps_;
  std::string text_;
};

// All the set parts must hold; an empty Condition always holds.
struct Condition {
  std::set<v1::Notification::Type> types;
  std::set<std::string> areas;
  std::optional<int> child_age_under;  // whole years at created_at
  std::optional<int> child_age_at_least;
  std::optional<bool> child_unborn;
  std::set<v1::Notification::Concern> concerns_any;
  std::vector<std::pair<FieldPath, std::string>> fields;  // each equals the value
  std::set<v1::Notification::Priority> priorities;        // as raised by earlier rules
  std::optional<bool> unplaced;                           // no earlier rule delivered it anywhere
  // Some inbox it is delivered to so far is outside its office hours at arrival.
  std::optional<bool> outside_office_hours;
  std::vector<Condition> any;  // when not empty, at least one holds
};

// "hv-{area}", "gp-{child.gp_practice_code}", or a plain inbox name.
struct InboxTemplate {
  std::string text;
  std::vector<std::variant<std::string, FieldPath>> parts;
};

struct RoutingRule {
  std::string name;
  Condition when;
  std::vector<InboxTemplate> deliver;
  std::optional<v1::Notification::Priority> raise_priority;
};

struct RoutingRules {
  // Where a copy goes when a template names an inbox that does not exist, and where a
  // notification goes when no rule placed it (DESIGN.md promise 2: nothing is dropped).
  std::string fallback_inbox;
  std::vector<RoutingRule> rules;  // applied in order, all of them
};

}  // namespace dutyhub
