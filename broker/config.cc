#include "broker/config.h"

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "broker/keys.h"
#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub {
namespace {

using v1::Notification;

// Thrown only inside this file, to unwind out of nested reading with the first mistake,
// and turned into a Status at ParseConfig's boundary. yaml-cpp reports through
// exceptions too, so one catch handles both.
struct ConfigError {
  std::string message;
};

// A node with the dotted key path that leads to it, so every message can say where.
class Node {
 public:
  Node(YAML::Node node, std::string path, const std::string* source, int line)
      : node_(std::move(node)), path_(std::move(path)), source_(source), line_(line) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw ConfigError{*source_ + ":" + std::to_string(line_) + ": " +
                      (path_.empty() ? std::string("(top level)") : path_) + ": " + what};
  }

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  const std::string& path() const { return path_; }

  // Every key must be one of `allowed`: a misspelt key is a mistake, not a default.
  void ExpectMap(std::initializer_list<const char*> allowed) const {
    if (!node_.IsMap()) Fail("expected a mapping of keys to values");
    for (const auto& entry : node_) {
      std::string key = entry.first.Scalar();
      bool known = false;
      std::string list;
      for (const char* a : allowed) {
        known = known || key == a;
        list += std::string(list.empty() ? "" : ", ") + a;
      }
      if (!known) Child(entry.first, key).Fail("unknown key (expected one of: " + list + ")");
    }
  }

  bool Has(const char* key) const { return node_.IsMap() && node_[key].IsDefined(); }

  Node Get(const char* key) const {
    if (!node_.IsMap()) Fail("expected a mapping of keys to values");
    YAML::Node child = node_[key];
    if (!child.IsDefined() || child.IsNull())
      Fail(std::string("missing required key '") + key + "'");
    return Child(child, key);
  }

  std::vector<std::pair<std::string, Node>> Entries() const {
    if (!node_.IsMap()) Fail("expected a mapping");
    std::vector<std::pair<std::string, Node>> out;
    for (const auto& entry : node_) {
      std::string key = entry.first.Scalar();
      out.emplace_back(key, Child(entry.second, key, entry.first.Mark().line + 1));
    }
    return out;
  }

  std::vector<Node> Items() const {
    if (!node_.IsSequence()) Fail("expected a list");
    std::vector<Node> out;
    for (size_t i = 0; i < node_.size(); ++i) {
      out.emplace_back(node_[i], path_ + "[" + std::to_string(i) + "]", source_,
                       node_[i].Mark().line + 1);
    }
    return out;
  }

  std::string Text() const {
    if (!node_.IsScalar()) Fail("expected a single value");
    return node_.Scalar();
  }

  std::vector<std::string> TextList() const {
    std::vector<std::string> out;
    for (const Node& item : Items()) out.push_back(item.Text());
    return out;
  }

  int Int(int min, int max) const {
    std::string text = Text();
    int value = 0;
    try {
      size_t used = 0;
      value = std::stoi(text, &used);
      if (used != text.size()) Fail("expected a whole number, not '" + text + "'");
    } catch (const std::logic_error&) {
      Fail("expected a whole number, not '" + text + "'");
    }
    if (value < min || value > max) {
      Fail("must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return value;
  }

  bool Bool() const {
    std::string text = Text();
    if (text == "true") return true;
    if (text == "false") return false;
    Fail("expected true or false, not '" + text + "'");
  }

  TimeMs Duration() const {
    std::optional<TimeMs> d = ParseDuration(Text());
    if (!d) Fail("expected a duration such as 0m, 15m, 4h or 2d, not '" + Text() + "'");
    return *d;
  }

  // {after: 4h, counted_in: office_hours | wall_clock}, with the key for `after` named.
  Wait ReadWait(const char* after_key) const {
    ExpectMap({after_key, "counted_in", "to"});
    Node counted = Get("counted_in");
    if (counted.Text() != "wall_clock" && counted.Text() != "office_hours") {
      counted.Fail("expected wall_clock or office_hours");
    }
    return Wait{Get(after_key).Duration(), counted.Text() == "office_hours"};
  }

  template <typename Enum>
  Enum EnumValue(bool (*parse)(const std::string&, Enum*)) const {
    Enum value{};
    if (!parse(Text(), &value) || static_cast<int>(value) == 0) {
      Fail("'" + Text() + "' is not one of the values docs/notifications.md lists");
    }
    return value;
  }

 private:
  Node Child(const YAML::Node& node, const std::string& key, int line = 0) const {
    return Node(node, path_.empty() ? key : path_ + "." + key, source_,
                line > 0 ? line : node.Mark().line + 1);
  }

  YAML::Node node_;
  std::string path_;
  const std::string* source_;
  int line_;
};

const char* const kWeekdays[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                  "friday", "saturday", "sunday"};

DailySpan ReadSpan(const Node& node) {
  std::string text = node.Text();
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  char c1 = 0, dash = 0, c2 = 0;
  std::istringstream in(text);
  if (!(in >> h1 >> c1 >> m1 >> dash >> h2 >> c2 >> m2) || c1 != ':' || dash != '-' || c2 != ':' ||
      !in.eof() || m1 > 59 || m2 > 59 || h1 > 24 || h2 > 24) {
    node.Fail("expected hours as HH:MM-HH:MM, e.g. 09:00-17:00, not '" + text + "'");
  }
  DailySpan span{h1 * 60 + m1, h2 * 60 + m2};
  if (span.end_minute <= span.begin_minute || span.end_minute > 24 * 60) {
    node.Fail("the span must end after it begins, within the day");
  }
  return span;
}

std::map<std::string, std::shared_ptr<const OfficeHours>> ReadCalendars(const Node& root) {
  std::string zone = root.Get("time_zone").Text();
  std::map<std::string, std::shared_ptr<const OfficeHours>> calendars;
  calendars["always"] = OfficeHours::Always();
  std::vector<std::pair<std::string, Node>> complements;
  for (auto& [name, node] : root.Get("calendars").Entries()) {
    node.ExpectMap({"weekly", "closed_on", "complement_of"});
    if (node.Has("complement_of")) {
      complements.emplace_back(name, node.Get("complement_of"));
      continue;
    }
    std::vector<std::vector<DailySpan>> weekly(7);
    Node week = node.Get("weekly");
    week.ExpectMap({kWeekdays[0], kWeekdays[1], kWeekdays[2], kWeekdays[3], kWeekdays[4],
                    kWeekdays[5], kWeekdays[6]});
    for (int d = 0; d < 7; ++d) {
      if (!week.Has(kWeekdays[d])) continue;
      for (const Node& span : week.Get(kWeekdays[d]).Items()) weekly[d].push_back(ReadSpan(span));
    }
    std::vector<int64_t> closed;
    if (node.Has("closed_on")) {
      for (const Node& day : node.Get("closed_on").Items()) {
        std::optional<int64_t> parsed = ParseDate(day.Text());
        if (!parsed) day.Fail("expected a date as YYYY-MM-DD, not '" + day.Text() + "'");
        closed.push_back(*parsed);
      }
    }
    auto hours = OfficeHours::Create(zone, std::move(weekly), std::move(closed));
    if (!hours.ok()) node.Fail(hours.status().message());
    calendars[name] = *hours;
  }
  for (auto& [name, base] : complements) {
    auto it = calendars.find(base.Text());
    if (it == calendars.end()) base.Fail("no calendar '" + base.Text() + "' is configured");
    calendars[name] = OfficeHours::Complement(it->second);
  }
  return calendars;
}

Condition ReadCondition(const Node& node) {
  node.ExpectMap({"type", "area", "child_age_under", "child_age_at_least", "child_unborn",
                  "concerns_any", "fields", "priority", "unplaced", "outside_office_hours", "any"});
  Condition c;
  auto list_or_one = [](const Node& n) {
    return n.IsSequence() ? n.Items() : std::vector<Node>{n};
  };
  if (node.Has("type")) {
    for (const Node& t : list_or_one(node.Get("type"))) {
      c.types.insert(t.EnumValue<Notification::Type>(Notification::Type_Parse));
    }
  }
  if (node.Has("area")) {
    for (const Node& a : list_or_one(node.Get("area"))) c.areas.insert(a.Text());
  }
  if (node.Has("child_age_under")) c.child_age_under = node.Get("child_age_under").Int(0, 120);
  if (node.Has("child_age_at_least")) {
    c.child_age_at_least = node.Get("child_age_at_least").Int(0, 120);
  }
  if (node.Has("child_unborn")) c.child_unborn = node.Get("child_unborn").Bool();
  if (node.Has("concerns_any")) {
    for (const Node& t : node.Get("concerns_any").Items()) {
      c.concerns_any.insert(t.EnumValue<Notification::Concern>(Notification::Concern_Parse));
    }
  }
  if (node.Has("priority")) {
    for (const Node& p : list_or_one(node.Get("priority"))) {
      c.priorities.insert(p.EnumValue<Notification::Priority>(Notification::Priority_Parse));
    }
  }
  if (node.Has("fields")) {
    for (auto& [key, value] : node.Get("fields").Entries()) {
      Result<FieldPath> path = FieldPath::Parse(key);
      if (!path.ok()) value.Fail(path.status().message());
      std::string wanted = value.Text();
      const auto* leaf = path->leaf();
      if (leaf->enum_type() != nullptr && leaf->enum_type()->FindValueByName(wanted) == nullptr) {
        value.Fail("'" + wanted + "' is not a value of " + key);
      }
      c.fields.emplace_back(std::move(*path), wanted);
    }
  }
  if (node.Has("unplaced")) c.unplaced = node.Get("unplaced").Bool();
  if (node.Has("outside_office_hours")) {
    c.outside_office_hours = node.Get("outside_office_hours").Bool();
  }
  if (node.Has("any")) {
    for (const Node& alt : node.Get("any").Items()) c.any.push_back(ReadCondition(alt));
  }
  return c;
}

InboxTemplate ReadTemplate(const Node& node, const Config& config) {
  InboxTemplate t;
  t.text = node.Text();
  size_t pos = 0;
  while (pos < t.text.size()) {
    size_t open = t.text.find('{', pos);
    if (open == std::string::npos) {
      t.parts.emplace_back(t.text.substr(pos));
      break;
    }
    if (open > pos) t.parts.emplace_back(t.text.substr(pos, open - pos));
    size_t close = t.text.find('}', open);
    if (close == std::string::npos) node.Fail("a '{' in the inbox template is never closed");
    Result<FieldPath> path = FieldPath::Parse(t.text.substr(open + 1, close - open - 1));
    if (!path.ok()) node.Fail(path.status().message());
    t.parts.emplace_back(std::move(*path));
    pos = close + 1;
  }
  if (t.parts.size() == 1 && std::holds_alternative<std::string>(t.parts[0]) &&
      config.FindInbox(t.text) == nullptr) {
    node.Fail("no inbox '" + t.text + "' is configured");
  }
  return t;
}

std::string ReadKey(const Node& node) {
  std::string key = node.Text();
  if (!IsZ85Key(key))
    node.Fail("expected a CURVE public key: 40 characters of Z85, as `dutyhub keygen` prints");
  return key;
}

void ReadInboxesAndPeople(const Node& root, Config& config) {
  auto calendars = ReadCalendars(root);
  for (auto& [id, node] : root.Get("inboxes").Entries()) {
    node.ExpectMap({"team", "office_hours", "managers_inbox"});
    Inbox inbox{id, node.Has("team") ? node.Get("team").Text() : "", "", nullptr, ""};
    Node hours = node.Get("office_hours");
    auto it = calendars.find(hours.Text());
    if (it == calendars.end()) hours.Fail("no calendar '" + hours.Text() + "' is configured");
    inbox.office_hours_name = it->first;
    inbox.office_hours = it->second;
    config.inboxes[id] = inbox;
  }
  for (auto& [id, node] : root.Get("inboxes").Entries()) {
    Node managers = node.Get("managers_inbox");
    if (!config.FindInbox(managers.Text())) {
      managers.Fail("no inbox '" + managers.Text() + "' is configured");
    }
    config.inboxes[id].managers_inbox = managers.Text();
  }
  for (auto& [id, node] : root.Get("agencies").Entries()) {
    node.ExpectMap({"name", "sends", "public_key"});
    Agency agency{id, node.Has("name") ? node.Get("name").Text() : id, {}, ""};
    if (node.Has("public_key")) agency.public_key = ReadKey(node.Get("public_key"));
    for (const Node& t : node.Get("sends").Items()) {
      agency.sends.insert(t.EnumValue<Notification::Type>(Notification::Type_Parse));
    }
    config.agencies[id] = agency;
  }
  for (auto& [id, node] : root.Get("users").Entries()) {
    node.ExpectMap({"role", "member_of", "manages", "admin", "public_key"});
    if (config.FindAgency(id)) node.Fail("'" + id + "' is already an agency's id");
    User user{id, node.Has("role") ? node.Get("role").Text() : "", {}, {}, false, ""};
    if (node.Has("admin")) user.admin = node.Get("admin").Bool();
    if (node.Has("public_key")) user.public_key = ReadKey(node.Get("public_key"));
    auto inbox_list = [&](const Node& list, std::set<std::string>& into) {
      if (!list.IsSequence() && list.Text() == "all") {
        for (const auto& entry : config.inboxes) into.insert(entry.first);
        return;
      }
      for (const Node& inbox : list.Items()) {
        if (!config.FindInbox(inbox.Text()))
          inbox.Fail("no inbox '" + inbox.Text() + "' is configured");
        into.insert(inbox.Text());
      }
    };
    if (node.Has("member_of")) inbox_list(node.Get("member_of"), user.member_of);
    if (node.Has("manages")) inbox_list(node.Get("manages"), user.manages);
    config.users[id] = user;
  }
  // Optional: the gateways (dutyhub-web) that may act on behalf of a signed-in person.
  if (root.Has("gateways")) {
    for (auto& [id, node] : root.Get("gateways").Entries()) {
      node.ExpectMap({"name", "public_key"});
      if (config.FindAgency(id) || config.FindUser(id)) {
        node.Fail("'" + id + "' is already an agency's or a person's id");
      }
      Gateway gateway{id, node.Has("name") ? node.Get("name").Text() : id, ""};
      if (node.Has("public_key")) gateway.public_key = ReadKey(node.Get("public_key"));
      config.gateways[id] = gateway;
    }
  }
}

void ReadDueAndRouting(const Node& root, Config& config) {
  Node due = root.Get("due");
  due.ExpectMap({"IMMEDIATE", "URGENT", "ROUTINE", "no_later_than"});
  Node escalation = root.Get("escalation");
  escalation.ExpectMap({"IMMEDIATE", "URGENT", "ROUTINE"});
  for (Notification::Priority p :
       {Notification::IMMEDIATE, Notification::URGENT, Notification::ROUTINE}) {
    const std::string name = Notification::Priority_Name(p);
    config.due[p] = due.Get(name.c_str()).ReadWait("after");
    Node ladder = escalation.Get(name.c_str());
    ladder.ExpectMap({"levels", "repeat", "when_office_closes"});
    EscalationPolicy policy;
    for (const Node& level : ladder.Get("levels").Items()) {
      EscalationLevel step{"", level.ReadWait("after")};
      Node to = level.Get("to");
      if (to.Text() != "managers_inbox") {
        if (!config.FindInbox(to.Text())) to.Fail("no inbox '" + to.Text() + "' is configured");
        step.to = to.Text();
      }
      policy.levels.push_back(step);
    }
    if (policy.levels.empty()) ladder.Get("levels").Fail("a ladder needs at least one level");
    policy.repeat = ladder.Get("repeat").ReadWait("every");
    if (policy.repeat.after <= 0)
      ladder.Get("repeat").Fail("must repeat after some time, e.g. 30m");
    if (ladder.Has("when_office_closes")) {
      Node target = ladder.Get("when_office_closes");
      if (!config.FindInbox(target.Text()))
        target.Fail("no inbox '" + target.Text() + "' is configured");
      policy.when_office_closes = target.Text();
    }
    config.escalation[p] = std::move(policy);
  }
  if (due.Has("no_later_than")) {
    for (const Node& field : due.Get("no_later_than").Items()) {
      Result<FieldPath> path = FieldPath::Parse(field.Text());
      if (!path.ok()) field.Fail(path.status().message());
      if (path->leaf()->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
        field.Fail("must name a timestamp field");
      }
      config.due_no_later_than.push_back(std::move(*path));
    }
  }
  Node routing = root.Get("routing");
  routing.ExpectMap({"fallback_inbox", "rules"});
  Node fallback = routing.Get("fallback_inbox");
  if (!config.FindInbox(fallback.Text()))
    fallback.Fail("no inbox '" + fallback.Text() + "' is configured");
  config.routing.fallback_inbox = fallback.Text();
  for (const Node& node : routing.Get("rules").Items()) {
    node.ExpectMap({"name", "when", "deliver", "raise_priority"});
    RoutingRule rule;
    rule.name = node.Get("name").Text();
    if (node.Has("when")) rule.when = ReadCondition(node.Get("when"));
    if (node.Has("deliver")) {
      for (const Node& t : node.Get("deliver").Items())
        rule.deliver.push_back(ReadTemplate(t, config));
    }
    if (node.Has("raise_priority")) {
      rule.raise_priority = node.Get("raise_priority")
                                .EnumValue<Notification::Priority>(Notification::Priority_Parse);
    }
    if (rule.deliver.empty() && !rule.raise_priority)
      node.Fail("a rule must deliver or raise_priority");
    config.routing.rules.push_back(std::move(rule));
  }
}

void ReadBroker(const Node& root, Config& config) {
  if (!root.Has("broker")) return;
  Node b = root.Get("broker");
  b.ExpectMap({"listen", "max_message_bytes", "max_in_flight_per_connection", "max_in_flight_total",
               "heartbeat_interval_ms", "heartbeat_timeout_ms", "max_batch", "rate_per_principal",
               "burst_per_principal"});
  if (b.Has("max_in_flight_total"))
    config.broker.max_in_flight_total = b.Get("max_in_flight_total").Int(1, 10000000);
  if (b.Has("rate_per_principal"))
    config.broker.rate_per_principal = b.Get("rate_per_principal").Int(1, 10000000);
  if (b.Has("burst_per_principal"))
    config.broker.burst_per_principal = b.Get("burst_per_principal").Int(1, 10000000);
  if (b.Has("listen")) config.broker.listen = b.Get("listen").Text();
  if (b.Has("max_message_bytes"))
    // Room for the largest notification validation lets through and the request around it:
    // a smaller bound would drop forms that passed, unanswered (validation.h).
    config.broker.max_message_bytes =
        b.Get("max_message_bytes")
            .Int(static_cast<int>(kMaxNotificationBytes) + 64 * 1024, 64 << 20);
  if (b.Has("max_in_flight_per_connection")) {
    config.broker.max_in_flight_per_connection =
        b.Get("max_in_flight_per_connection").Int(1, 100000);
  }
  if (b.Has("heartbeat_interval_ms"))
    config.broker.heartbeat_interval_ms = b.Get("heartbeat_interval_ms").Int(100, 600000);
  if (b.Has("heartbeat_timeout_ms"))
    config.broker.heartbeat_timeout_ms = b.Get("heartbeat_timeout_ms").Int(100, 600000);
  if (b.Has("max_batch")) config.broker.max_batch = b.Get("max_batch").Int(1, 100000);
}

}  // namespace

const Agency* Config::FindAgency(const std::string& id) const {
  auto it = agencies.find(id);
  return it == agencies.end() ? nullptr : &it->second;
}
const User* Config::FindUser(const std::string& id) const {
  auto it = users.find(id);
  return it == users.end() ? nullptr : &it->second;
}
const Gateway* Config::FindGateway(const std::string& id) const {
  auto it = gateways.find(id);
  return it == gateways.end() ? nullptr : &it->second;
}
const Inbox* Config::FindInbox(const std::string& id) const {
  auto it = inboxes.find(id);
  return it == inboxes.end() ? nullptr : &it->second;
}
bool Config::IsMember(const std::string& user, const std::string& inbox) const {
  const User* u = FindUser(user);
  return u != nullptr && u->member_of.count(inbox) > 0;
}
bool Config::Manages(const std::string& user, const std::string& inbox) const {
  const User* u = FindUser(user);
  return u != nullptr && u->manages.count(inbox) > 0;
}
bool Config::MayActOn(const std::string& user, const std::string& inbox) const {
  return IsMember(user, inbox) || Manages(user, inbox);
}
bool Config::IsManager(const std::string& user) const {
  const User* u = FindUser(user);
  return u != nullptr && !u->manages.empty();
}

const std::string& Config::EscalationTarget(v1::Notification::Priority priority,
                                            const std::string& inbox, int level) const {
  const EscalationLevel& step = escalation.at(priority).levels.at(static_cast<size_t>(level - 1));
  return step.to.empty() ? inboxes.at(inbox).managers_inbox : step.to;
}

Result<std::shared_ptr<const Config>> ParseConfig(const std::string& text,
                                                  const std::string& source) {
  auto config = std::make_shared<Config>();
  config->source = source;
  try {
    YAML::Node yaml = YAML::Load(text);
    Node root(yaml, "", &config->source, 1);
    root.ExpectMap({"partnership", "broker", "time_zone", "calendars", "agencies", "inboxes",
                    "users", "gateways", "due", "escalation", "routing"});
    config->partnership = root.Get("partnership").Text();
    ReadBroker(root, *config);
    ReadInboxesAndPeople(root, *config);
    ReadDueAndRouting(root, *config);
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) +
                                   ": not readable YAML: " + e.msg);
  }
  return std::shared_ptr<const Config>(std::move(config));
}

Result<std::shared_ptr<const Config>> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace dutyhub
