#include "broker/routing.h"

#include <date/date.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>

#include "broker/time_text.h"

namespace dutyhub {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool ContainsInbox(const std::vector<std::string>& inboxes, const std::string& inbox) {
  return std::find(inboxes.begin(), inboxes.end(), inbox) != inboxes.end();
}

struct Evaluation {
  const Config& config;
  const v1::Notification& notification;
  TimeMs arrival;
  const RoutePlan& plan;
};

bool Holds(const Condition& c, const Evaluation& e) {
  const v1::Notification& n = e.notification;
  if (!c.types.empty() && !c.types.count(n.type())) return false;
  if (!c.areas.empty() && !c.areas.count(n.area())) return false;
  if (!c.priorities.empty() && !c.priorities.count(e.plan.priority)) return false;
  const bool unborn =
      n.child().date_of_birth().empty() && !n.child().expected_delivery_date().empty();
  if (c.child_unborn && *c.child_unborn != unborn) return false;
  if (c.child_age_under || c.child_age_at_least) {
    std::optional<int> age = ChildAgeYears(n);
    if (!age) return false;
    if (c.child_age_under && !(*age < *c.child_age_under)) return false;
    if (c.child_age_at_least && !(*age >= *c.child_age_at_least)) return false;
  }
  if (!c.concerns_any.empty()) {
    bool any = std::any_of(n.concerns().begin(), n.concerns().end(), [&](int concern) {
      return c.concerns_any.count(static_cast<v1::Notification::Concern>(concern)) > 0;
    });
    if (!any) return false;
  }
  for (const auto& [path, wanted] : c.fields) {
    if (path.ValueIn(n) != wanted) return false;
  }
  if (c.unplaced && *c.unplaced != e.plan.inboxes.empty()) return false;
  if (c.outside_office_hours) {
    bool outside = std::any_of(e.plan.inboxes.begin(), e.plan.inboxes.end(), [&](auto& id) {
      const Inbox* inbox = e.config.FindInbox(id);
      return inbox != nullptr && !inbox->office_hours->IsOpen(e.arrival);
    });
    if (*c.outside_office_hours != outside) return false;
  }
  if (!c.any.empty()) {
    return std::any_of(c.any.begin(), c.any.end(),
                       [&](const Condition& alt) { return Holds(alt, e); });
  }
  return true;
}

// The inbox a template names for this notification; nullopt when a field it needs is
// not set (rule 4: "gp-<practice> when the child has one").
std::optional<std::string> Expand(const InboxTemplate& t, const v1::Notification& n) {
  std::string out;
  for (const auto& part : t.parts) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      out += *literal;
    } else {
      std::optional<std::string> value = std::get<FieldPath>(part).ValueIn(n);
      if (!value) return std::nullopt;
      out += *value;
    }
  }
  return out;
}

}  // namespace

Result<FieldPath> FieldPath::Parse(const std::string& dotted) {
  FieldPath path;
  path.text_ = dotted;
  const google::protobuf::Descriptor* message = v1::Notification::descriptor();
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string step = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    if (message == nullptr) {
      return Status::InvalidArgument("'" + dotted + "' goes past a field that is not a message");
    }
    const FieldDescriptor* field = message->FindFieldByName(step);
    if (field == nullptr) {
      return Status::InvalidArgument("'" + dotted + "': the notification has no field '" + step +
                                     "' there (see docs/notifications.md)");
    }
    if (field->is_repeated()) {
      return Status::InvalidArgument("'" + dotted + "': '" + step +
                                     "' is a list; conditions name single fields");
    }
    path.steps_.push_back(field);
    message =
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? field->message_type() : nullptr;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (message != nullptr) {
    return Status::InvalidArgument("'" + dotted +
                                   "' names a group of fields; name one field in it");
  }
  return path;
}

std::optional<std::string> FieldPath::ValueIn(const v1::Notification& notification) const {
  const Message* message = &notification;
  for (size_t i = 0; i + 1 < steps_.size(); ++i) {
    const Reflection* r = message->GetReflection();
    if (!r->HasField(*message, steps_[i])) return std::nullopt;
    message = &r->GetMessage(*message, steps_[i]);
  }
  const FieldDescriptor* leaf = steps_.back();
  const Reflection* r = message->GetReflection();
  if (leaf->has_presence() && !r->HasField(*message, leaf)) return std::nullopt;
  switch (leaf->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value = r->GetString(*message, leaf);
      if (value.empty()) return std::nullopt;
      return value;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = r->GetEnum(*message, leaf);
      if (value->number() == 0) return std::nullopt;
      return value->name();
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(*message, leaf) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(r->GetInt32(*message, leaf));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(r->GetInt64(*message, leaf));
    default:
      return std::nullopt;
  }
}

std::optional<int> ChildAgeYears(const v1::Notification& n) {
  std::optional<int64_t> born = ParseDate(n.child().date_of_birth());
  // The date part of created_at as the sender wrote it, with its own offset: the child's
  // age on the sender's calendar, not on UTC's, so a fifth birthday starts at local midnight.
  std::optional<int64_t> on = ParseTimestamp(n.created_at())
                                  ? ParseDate(std::string_view(n.created_at()).substr(0, 10))
                                  : std::nullopt;
  if (!born || !on) return std::nullopt;
  date::year_month_day b{date::sys_days{date::days{*born}}};
  date::year_month_day c{date::sys_days{date::days{*on}}};
  int age = static_cast<int>(c.year()) - static_cast<int>(b.year());
  if (c.month() < b.month() || (c.month() == b.month() && c.day() < b.day())) --age;
  if (age < 0) return std::nullopt;
  return age;
}

RoutePlan Route(const Config& config, const v1::Notification& notification, TimeMs arrival) {
  RoutePlan plan;
  plan.priority = notification.priority();
  const std::string& fallback = config.routing.fallback_inbox;
  auto place = [&](const std::string& inbox) {
    if (!ContainsInbox(plan.inboxes, inbox)) plan.inboxes.push_back(inbox);
  };
  for (const RoutingRule& rule : config.routing.rules) {
    if (!Holds(rule.when, Evaluation{config, notification, arrival, plan})) continue;
    plan.rules_applied.push_back(rule.name);
    if (rule.raise_priority && *rule.raise_priority > plan.priority) {
      plan.priority = *rule.raise_priority;
    }
    for (const InboxTemplate& t : rule.deliver) {
      std::optional<std::string> inbox = Expand(t, notification);
      if (!inbox) continue;
      if (config.FindInbox(*inbox) == nullptr) {
        plan.unknown_inboxes.push_back(*inbox);
        plan.unknown_templates.push_back(t.text);
        place(fallback);
      } else {
        place(*inbox);
      }
    }
  }
  if (plan.inboxes.empty()) place(fallback);  // promise 2, whatever the rules say
  return plan;
}

Result<TimeMs> DueAt(const Config& config, const std::string& inbox_id,
                     v1::Notification::Priority priority, const v1::Notification& notification,
                     TimeMs arrival) {
  const Inbox* inbox = config.FindInbox(inbox_id);
  auto policy = config.due.find(priority);
  if (inbox == nullptr || policy == config.due.end()) {
    return Status::Internal("no inbox or due policy for " + inbox_id);
  }
  TimeMs due = arrival + policy->second.after;
  if (policy->second.office_time) {
    Result<TimeMs> office_due = inbox->office_hours->AddOfficeTime(arrival, policy->second.after);
    if (!office_due.ok()) return office_due.status();
    due = *office_due;
  }
  for (const FieldPath& cap : config.due_no_later_than) {
    std::optional<std::string> text = cap.ValueIn(notification);
    if (!text) continue;
    std::optional<TimeMs> limit = ParseTimestamp(*text);
    // A respond_by already past makes the item overdue at once, honestly dated.
    if (limit && *limit < due) due = *limit;
  }
  return due;
}

}  // namespace dutyhub
