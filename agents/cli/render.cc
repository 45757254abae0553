#include "agents/cli/render.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
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

// "1h 05m", "3d 2h", "45s": how long, for people.
std::string Span(int64_t ms) {
  int64_t s = ms / 1000;
  char out[64];
  if (s >= 86400) {
    std::snprintf(out, sizeof out, "%lldd %lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  } else if (s >= 3600) {
    std::snprintf(out, sizeof out, "%lldh %02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(out, sizeof out, "%lldm", static_cast<long long>(s / 60));
  } else {
    std::snprintf(out, sizeof out, "%llds", static_cast<long long>(s));
  }
  return out;
}

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
    deliveries.push_back({{"delivery_id", d.delivery_id()},
                          {"inbox", d.inbox()},
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
  json out{{"inbox", reply.inbox()}, {"items", items}};
  // Only when it happens (docs/CLI.md): the shape CLI.md gives is otherwise unchanged.
  if (reply.truncated()) out["truncated"] = true;
  return out;
}

json ShowJson(const v1::ShowReply& reply) {
  std::string notification;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(reply.notification(), &notification, options);
  json history = json::array();
  for (const auto& e : reply.history()) {
    history.push_back({{"at", TimeOrNull(e.at_ms())},
                       {"event", EventName(e.event())},
                       {"by", TextOrNull(e.by())},
                       {"inbox", e.inbox()},
                       {"note", TextOrNull(e.note())},
                       {"via", TextOrNull(e.via())}});
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
  return json{{"delivery_id", reply.delivery_id()},
              {"inbox", reply.inbox()},
              {"due_at", TimeOrNull(reply.due_at_ms())},
              {"already_transferred", reply.already_transferred()}};
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

json OverdueJson(const v1::OverdueReply& reply) {
  json items = json::array();
  for (const auto& d : reply.items()) {
    json item = ItemJson(d);
    item["overdue_seconds"] = (reply.now_ms() - d.due_at_ms()) / 1000;
    items.push_back(item);
  }
  return json{{"now", FormatTimestamp(reply.now_ms())}, {"items", items}};
}

json ReportJson(const v1::ReportReply& reply) {
  json inboxes = json::array();
  for (const auto& r : reply.inboxes()) {
    json levels = json::object();
    for (int i = 0; i < r.reached_level_size(); ++i)
      levels[std::to_string(i + 1)] = r.reached_level(i);
    inboxes.push_back(
        {{"inbox", r.inbox()},
         {"received", r.received()},
         {"acknowledged", r.acknowledged()},
         {"median_seconds_to_acknowledge", r.median_ms() / 1000},
         {"p90_seconds_to_acknowledge", r.p90_ms() / 1000},
         {"p99_seconds_to_acknowledge", r.p99_ms() / 1000},
         {"reached_level", levels},
         {"outstanding", r.outstanding()},
         {"oldest_outstanding",
          r.has_oldest_outstanding() ? ItemJson(r.oldest_outstanding()) : json(nullptr)}});
  }
  return json{{"from", TimeOrNull(reply.from_ms())},
              {"to", TimeOrNull(reply.to_ms())},
              {"inboxes", inboxes}};
}

json EventJson(const v1::WatchEvent& e) {
  std::string name = EventName(e.event());
  return json{{"event", name == "DELIVERED" ? "NEW" : name},
              {"at", TimeOrNull(e.at_ms())},
              {"inbox", e.inbox()},
              {"delivery_id", e.delivery_id()},
              {"notification_id", e.notification_id()},
              {"by", TextOrNull(e.by())},
              {"escalation_level", e.escalation_level()},
              {"seq", e.seq()}};
}

json StatsJson(const v1::StatsReply& r) {
  return json{{"now", FormatTimestamp(r.now_ms())},
              {"outstanding", r.outstanding()},
              {"escalation_steps", r.escalation_steps()},
              {"engine_lag_ms", r.engine_lag_ms()},
              {"write_transactions", r.write_transactions()},
              {"writes", r.writes()},
              {"writer_cpu_seconds", static_cast<double>(r.writer_cpu_us()) / 1e6}};
}

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
  for (const auto& d : reply.deliveries())
    rows.push_back({d.inbox(), Local(d.due_at_ms()), d.delivery_id()});
  return out + Table(rows);
}

std::string InboxText(const v1::InboxReply& reply) {
  if (reply.items_size() == 0) return reply.inbox() + ": nothing outstanding\n";
  std::vector<std::vector<std::string>> rows{
      {"DUE", "PRIORITY", "STATE", "ESCALATED", "TYPE", "FROM", "DELIVERY", "SUMMARY"}};
  for (const auto& d : reply.items()) {
    std::string summary = d.summary().size() > 60 ? d.summary().substr(0, 57) + "..." : d.summary();
    std::string escalated =
        d.escalation_level() == 0 ? "-" : "level " + std::to_string(d.escalation_level());
    if (!d.escalated_from().empty()) escalated += " from " + d.escalated_from();
    rows.push_back({Local(d.due_at_ms()), v1::Notification::Priority_Name(d.priority()),
                    v1::DeliveryState_Name(d.state()), escalated,
                    v1::Notification::Type_Name(d.type()), d.from(), d.delivery_id(), summary});
  }
  return reply.inbox() + ": " + std::to_string(reply.items_size()) + " item(s)" +
         (reply.truncated() ? " listed: the first 5,000 (outstanding first, then the newest); "
                              "more are stored"
                            : "") +
         "\n" + Table(rows);
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
    history.push_back({Local(e.at_ms()), EventName(e.event()),
                       e.by().empty()    ? "-"
                       : e.via().empty() ? e.by()
                                         : e.by() + " (via " + e.via() + ")",
                       e.inbox(), e.note()});
  }
  return Table(head) + "\n" + notification + "\n" + Table(history);
}

std::string AckText(const v1::AckReply& reply) {
  if (reply.already_acknowledged()) {
    return "already acknowledged by " + reply.acknowledged_by() + " at " +
           Local(reply.acknowledged_at_ms()) + ": " + reply.note() + "\n";
  }
  return "acknowledged by " + reply.acknowledged_by() + " at " + Local(reply.acknowledged_at_ms()) +
         "\n";
}

std::string TransferText(const v1::TransferReply& reply) {
  return std::string(reply.already_transferred() ? "already transferred (a retry) to "
                                                 : "transferred to ") +
         reply.inbox() + " as " + reply.delivery_id() + ", due " + Local(reply.due_at_ms()) + "\n";
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

std::string OverdueText(const v1::OverdueReply& reply) {
  if (reply.items_size() == 0) return "nothing overdue\n";
  std::vector<std::vector<std::string>> rows{
      {"OVERDUE BY", "INBOX", "PRIORITY", "STATE", "LEVEL", "DUE", "DELIVERY", "SUMMARY"}};
  for (const auto& d : reply.items()) {
    std::string summary = d.summary().size() > 50 ? d.summary().substr(0, 47) + "..." : d.summary();
    rows.push_back({Span(reply.now_ms() - d.due_at_ms()), d.inbox(),
                    v1::Notification::Priority_Name(d.priority()),
                    v1::DeliveryState_Name(d.state()), std::to_string(d.escalation_level()),
                    Local(d.due_at_ms()), d.delivery_id(), summary});
  }
  return std::to_string(reply.items_size()) + " item(s) overdue\n" + Table(rows);
}

std::string ReportText(const v1::ReportReply& reply) {
  std::vector<std::vector<std::string>> rows{
      {"INBOX", "RECEIVED", "ACKED", "MEDIAN", "P90", "P99"}};
  int levels = reply.inboxes_size() > 0 ? reply.inboxes(0).reached_level_size() : 0;
  for (int i = 1; i <= levels; ++i) rows[0].push_back("LEVEL " + std::to_string(i));
  rows[0].insert(rows[0].end(), {"OUTSTANDING", "OLDEST OUTSTANDING"});
  for (const auto& r : reply.inboxes()) {
    bool any = r.acknowledged() > 0;
    std::vector<std::string> row{r.inbox(),
                                 std::to_string(r.received()),
                                 std::to_string(r.acknowledged()),
                                 any ? Span(r.median_ms()) : "-",
                                 any ? Span(r.p90_ms()) : "-",
                                 any ? Span(r.p99_ms()) : "-"};
    for (int64_t n : r.reached_level()) row.push_back(std::to_string(n));
    row.push_back(std::to_string(r.outstanding()));
    row.push_back(r.has_oldest_outstanding() ? Local(r.oldest_outstanding().received_at_ms())
                                             : "-");
    rows.push_back(row);
  }
  return "time to acknowledge, " +
         (reply.from_ms() ? Local(reply.from_ms()) : std::string("the start")) + " to " +
         Local(reply.to_ms()) + "\n" + Table(rows);
}

std::string ReportCsv(const v1::ReportReply& reply) {
  std::string out = "inbox,received,acknowledged,median_seconds,p90_seconds,p99_seconds";
  int levels = reply.inboxes_size() > 0 ? reply.inboxes(0).reached_level_size() : 0;
  for (int i = 1; i <= levels; ++i) out += ",reached_level_" + std::to_string(i);
  out += ",outstanding,oldest_outstanding_received_at\n";
  for (const auto& r : reply.inboxes()) {
    out += r.inbox() + "," + std::to_string(r.received()) + "," + std::to_string(r.acknowledged()) +
           "," + std::to_string(r.median_ms() / 1000) + "," + std::to_string(r.p90_ms() / 1000) +
           "," + std::to_string(r.p99_ms() / 1000);
    for (int64_t n : r.reached_level()) out += "," + std::to_string(n);
    out += "," + std::to_string(r.outstanding()) + "," +
           (r.has_oldest_outstanding() ? FormatTimestamp(r.oldest_outstanding().received_at_ms())
                                       : "") +
           "\n";
  }
  return out;
}

// Microseconds as seconds to the millisecond: "12.345 s".
static std::string Seconds(int64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(us) / 1e6);
  return text;
}

std::string StatsText(const v1::StatsReply& r) {
  return Table({{"broker time", FormatTimestamp(r.now_ms())},
                {"outstanding items", std::to_string(r.outstanding())},
                {"escalation steps", std::to_string(r.escalation_steps())},
                {"engine lag", std::to_string(r.engine_lag_ms()) + " ms"},
                {"write transactions", std::to_string(r.write_transactions())},
                {"writes", std::to_string(r.writes())},
                {"writer CPU", Seconds(r.writer_cpu_us())}});
}

json AuditVerifyJson(const v1::AuditVerifyReply& r) {
  json out{{"entries", r.entries()}, {"intact", r.intact()}};
  if (!r.intact()) {
    out["first_bad_entry"] = r.first_bad_entry();
    out["problem"] = r.problem();
  }
  return out;
}

std::string AuditVerifyText(const v1::AuditVerifyReply& r) {
  if (r.intact())
    return "audit intact: " + std::to_string(r.entries()) + " entries, every link checked\n";
  return "AUDIT BROKEN at entry " + std::to_string(r.first_bad_entry()) + ": " + r.problem() + "\n";
}

json AuditAccessJson(const v1::AuditAccessReply& r) {
  json accesses = json::array();
  for (const auto& a : r.accesses()) {
    accesses.push_back({{"at", TimeOrNull(a.at_ms())},
                        {"by", a.by()},
                        {"inbox", a.inbox()},
                        {"delivery_id", a.delivery_id()},
                        {"notification_id", a.notification_id()},
                        {"from", a.from()}});
  }
  return json{{"accesses", accesses}};
}

std::string AuditAccessText(const v1::AuditAccessReply& r) {
  if (r.accesses_size() == 0) return "nobody has opened a notification about this child\n";
  std::vector<std::vector<std::string>> rows{
      {"WHEN", "WHO", "INBOX", "NOTIFICATION", "FROM", "DELIVERY"}};
  for (const auto& a : r.accesses()) {
    rows.push_back(
        {Local(a.at_ms()), a.by(), a.inbox(), a.notification_id(), a.from(), a.delivery_id()});
  }
  return Table(rows);
}

std::string ErrorText(const v1::Status& status) {
  std::string out = v1::Status::Code_Name(status.code()) + ": " + status.message();
  for (const auto& v : status.violations()) out += "\n  " + v.field() + ": " + v.description();
  return out;
}

}  // namespace dutyhub::cli
