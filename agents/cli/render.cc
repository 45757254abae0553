#include "agents/cli/render.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <sstream>

#include "broker/time_text.h"

namespace dutyhub::cli {
namespace {

using nlohmann::json;

json TimeOrNull(int64_t ms) { return ms == 0 ? json(nullptr) : json(FormatTimestamp(ms)); }
json TextOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string EventName(v1::EventKind kind) {
  std::string name = v1::EventKind_Name(kind);
  return name.rfind("EVENT_", 0) == 0 ? name.substr(6) : name;
}

json ItemJson(const v1::Delivery& d) {
  return json{{"delivery_id", d.delivery_id()},
              {"notification_id", d.notification_id()},
              {"inbox", d.inbox()},
              {"type", v1::Notification::Type_Name(d.type())},
              {"priority", v1::Notification::Priority_Name(d.priority())},
              {"from", d.from()},
              {"summary", d.summary()},
              {"received_at", TimeOrNull(d.received_at_ms())},
              {"due_at", TimeOrNull(d.due_at_ms())},
              {"state", v1::DeliveryState_Name(d.state())},
              {"escalation_level", d.escalation_level()},
              {"escalated_from", TextOrNull(d.escalated_from())}};
}

std::string Local(int64_t ms) { return ms == 0 ? "-" : FormatLocalForPeople(ms); }

}  // namespace

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
  return out.str();
}

json SendJson(const v1::SendReply& reply) {
  json deliveries = json::array();
  for (const auto& d : reply.deliveries()) {
    deliveries.push_back({{"delivery_id", d.delivery_id()}, {"inbox", d.inbox()},
                          {"due_at", TimeOrNull(d.due_at_ms())}});
  }
  return json{{"id", reply.id()},
              {"duplicate", reply.duplicate()},
              {"priority", v1::Notification::Priority_Name(reply.priority())},
              {"deliveries", deliveries}};
}

json InboxJson(const v1::InboxReply& reply) {
  json items = json::array();
  for (const auto& d : reply.items()) items.push_back(ItemJson(d));
  return json{{"inbox", reply.inbox()}, {"items", items}};
}

json ShowJson(const v1::ShowReply& reply) {
  std::string notification;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(reply.notification(), &notification, options);
  json history = json::array();
  for (const auto& e : reply.history()) {
    history.push_back({{"at", TimeOrNull(e.at_ms())}, {"event", EventName(e.event())},
                       {"by", TextOrNull(e.by())}, {"inbox", e.inbox()}, {"note", TextOrNull(e.note())}});
  }
  return json{{"delivery", ItemJson(reply.delivery())},
              {"notification", json::parse(notification, nullptr, false)},
              {"history", history}};
}

json AckJson(const v1::AckReply& reply) {
  return json{{"delivery_id", reply.delivery_id()},
              {"acknowledged_by", reply.acknowledged_by()},
              {"acknowledged_at", TimeOrNull(reply.acknowledged_at_ms())},
              {"note", reply.note()},
              {"already_acknowledged", reply.already_acknowledged()}};
}

json TransferJson(const v1::TransferReply& reply) {
  return json{{"delivery_id", reply.delivery_id()}, {"inbox", reply.inbox()},
              {"due_at", TimeOrNull(reply.due_at_ms())}};
}

json StatusJson(const v1::StatusReply& reply) {
  json deliveries = json::array();
  for (const auto& d : reply.deliveries()) {
    deliveries.push_back({{"delivery_id", d.delivery_id()},
                          {"inbox", d.inbox()},
                          {"state", v1::DeliveryState_Name(d.state())},
                          {"due_at", TimeOrNull(d.due_at_ms())},
                          {"escalation_level", d.escalation_level()},
                          {"opened_by", d.opened_by()},
                          {"acknowledged_by", TextOrNull(d.acknowledged_by())},
                          {"acknowledged_at", TimeOrNull(d.acknowledged_at_ms())},
                          {"note", TextOrNull(d.note())}});
  }
  return json{{"id", reply.id()},
              {"from", reply.from()},
              {"received_at", TimeOrNull(reply.received_at_ms())},
              {"priority", v1::Notification::Priority_Name(reply.priority())},
              {"deliveries", deliveries}};
}

json TimeJson(int64_t now_ms) { return json{{"now", FormatTimestamp(now_ms)}}; }

json ErrorJson(const v1::Status& status) {
  json error{{"code", v1::Status::Code_Name(status.code())}, {"message", status.message()}};
  if (status.violations_size() > 0) {
    json violations = json::array();
    for (const auto& v : status.violations()) {
      violations.push_back({{"field", v.field()}, {"description", v.description()}});
    }
    error["violations"] = violations;
  }
  return json{{"error", error}};
}

std::string SendText(const v1::SendReply& reply) {
  std::string out = std::string(reply.duplicate() ? "already accepted (a retry): " : "accepted: ") +
                    reply.id() + ", " + v1::Notification::Priority_Name(reply.priority()) + "\n";
  std::vector<std::vector<std::string>> rows{{"INBOX", "DUE", "DELIVERY"}};
  for (const auto& d : reply.deliveries()) rows.push_back({d.inbox(), Local(d.due_at_ms()), d.delivery_id()});
  return out + Table(rows);
}

std::string InboxText(const v1::InboxReply& reply) {
  if (reply.items_size() == 0) return reply.inbox() + ": nothing outstanding\n";
  std::vector<std::vector<std::string>> rows{
      {"DUE", "PRIORITY", "STATE", "TYPE", "FROM", "DELIVERY", "SUMMARY"}};
  for (const auto& d : reply.items()) {
    std::string summary = d.summary().size() > 60 ? d.summary().substr(0, 57) + "..." : d.summary();
    rows.push_back({Local(d.due_at_ms()), v1::Notification::Priority_Name(d.priority()),
                    v1::DeliveryState_Name(d.state()), v1::Notification::Type_Name(d.type()), d.from(),
                    d.delivery_id(), summary});
  }
  return reply.inbox() + ": " + std::to_string(reply.items_size()) + " item(s)\n" + Table(rows);
}

std::string ShowText(const v1::ShowReply& reply) {
  const v1::Delivery& d = reply.delivery();
  std::string notification;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(reply.notification(), &notification, options);
  std::vector<std::vector<std::string>> head{
      {"delivery", d.delivery_id()},
      {"inbox", d.inbox()},
      {"notification", d.notification_id() + " from " + d.from()},
      {"type", v1::Notification::Type_Name(d.type())},
      {"priority", v1::Notification::Priority_Name(d.priority())},
      {"state", v1::DeliveryState_Name(d.state())},
      {"received", Local(d.received_at_ms())},
      {"due", Local(d.due_at_ms())}};
  std::vector<std::vector<std::string>> history{{"WHEN", "EVENT", "BY", "INBOX", "NOTE"}};
  for (const auto& e : reply.history()) {
    history.push_back({Local(e.at_ms()), EventName(e.event()), e.by().empty() ? "-" : e.by(),
                       e.inbox(), e.note()});
  }
  return Table(head) + "\n" + notification + "\n" + Table(history);
}

std::string AckText(const v1::AckReply& reply) {
  if (reply.already_acknowledged()) {
    return "already acknowledged by " + reply.acknowledged_by() + " at " +
           Local(reply.acknowledged_at_ms()) + ": " + reply.note() + "\n";
  }
  return "acknowledged by " + reply.acknowledged_by() + " at " + Local(reply.acknowledged_at_ms()) + "\n";
}

std::string TransferText(const v1::TransferReply& reply) {
  return "transferred to " + reply.inbox() + " as " + reply.delivery_id() + ", due " +
         Local(reply.due_at_ms()) + "\n";
}

std::string StatusText(const v1::StatusReply& reply) {
  std::string out = reply.id() + " from " + reply.from() + ", received " +
                    Local(reply.received_at_ms()) + ", " +
                    v1::Notification::Priority_Name(reply.priority()) + "\n";
  std::vector<std::vector<std::string>> rows{
      {"INBOX", "STATE", "DUE", "OPENED BY", "ACKNOWLEDGED BY", "AT", "NOTE"}};
  for (const auto& d : reply.deliveries()) {
    std::string opened;
    for (const auto& who : d.opened_by()) opened += (opened.empty() ? "" : ",") + who;
    rows.push_back({d.inbox(), v1::DeliveryState_Name(d.state()), Local(d.due_at_ms()),
                    opened.empty() ? "-" : opened,
                    d.acknowledged_by().empty() ? "-" : d.acknowledged_by(),
                    d.acknowledged_at_ms() ? Local(d.acknowledged_at_ms()) : "-", d.note()});
  }
  return out + Table(rows);
}

std::string ErrorText(const v1::Status& status) {
  std::string out = v1::Status::Code_Name(status.code()) + ": " + status.message();
  for (const auto& v : status.violations()) out += "\n  " + v.field() + ": " + v.description();
  return out;
}

}  // namespace dutyhub::cli
