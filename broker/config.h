// The partnership's configuration: who may send what, which inboxes exist and when they
// are staffed, who belongs to and manages which inbox, when a delivery falls due, and the
// routing rules. Loaded once at start; immutable afterwards, so any thread may read it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/clock.h"
#include "broker/office_hours.h"
#include "broker/routing_rules.h"
#include "broker/status.h"
#include "notification.pb.h"

namespace dutyhub {

struct Agency {
  std::string id;
  std::string name;
  std::set<v1::Notification::Type> sends;
  std::string public_key;  // Z85 CURVE key of its system; may also come from --keys DIR
};

struct User {
  std::string id;
  std::string role;
  std::set<std::string> member_of;
  std::set<std::string> manages;  // filled in for every inbox when the file says `all`
  bool admin = false;             // may run `admin` and `audit verify`
  std::string public_key;
};

// A system people sign in to (dutyhub-web), which then asks the broker on their behalf.
// The broker believes its `on_behalf_of` because the gateway authenticated with its own
// key and the configuration names it here; nobody else's is believed.
struct Gateway {
  std::string id;
  std::string name;
  std::string public_key;
};

struct Inbox {
  std::string id;
  std::string team;
  std::string office_hours_name;
  std::shared_ptr<const OfficeHours> office_hours;
  // Where an item left unacknowledged here escalates first (northshire.md).
  std::string managers_inbox;
};

// A wait of `after` of wall-clock time, or of the inbox's own office time: when a delivery
// falls due on arrival (level 0 of the escalation table), and between escalation levels.
struct Wait {
  TimeMs after = 0;
  bool office_time = false;
};

// Where an item left unacknowledged goes next, and how long after the previous step.
struct EscalationLevel {
  std::string to;  // an inbox id; empty means the delivery inbox's managers' inbox
  Wait wait;       // from the previous level's deadline (level 1: from the due time)
};

// One ladder per priority. Past the last level the item is notified again at every
// level each `repeat`, until someone acknowledges it: no policy ever just ends.
struct EscalationPolicy {
  std::vector<EscalationLevel> levels;
  Wait repeat;
  // When set, an item of this priority still outstanding as its inbox's office hours end
  // is delivered to this inbox as well (Northshire: IMMEDIATE to eds).
  std::string when_office_closes;
};

struct BrokerSettings {
  std::string listen = "tcp://127.0.0.1:5570";
  int64_t max_message_bytes = 1 << 20;
  int max_in_flight_per_connection = 64;
  int max_in_flight_total = 10000;
  int heartbeat_interval_ms = 5000;
  int heartbeat_timeout_ms = 15000;
  int max_batch = 512;  // requests committed in one transaction at most
  // Requests per second each principal may make, and the burst above that it may use up;
  // past it the answer is UNAVAILABLE (retry later), so one flood cannot starve the rest.
  int rate_per_principal = 5000;
  int burst_per_principal = 10000;
};

class Config {
 public:
  std::string source;  // the file it was read from, for messages
  std::string partnership;
  BrokerSettings broker;
  std::map<std::string, Agency> agencies;
  std::map<std::string, User> users;
  std::map<std::string, Gateway> gateways;
  std::map<std::string, Inbox> inboxes;
  std::map<v1::Notification::Priority, Wait> due;
  std::map<v1::Notification::Priority, EscalationPolicy> escalation;
  // Timestamp fields that cap a delivery's due time, e.g. mash_request.respond_by.
  std::vector<FieldPath> due_no_later_than;
  RoutingRules routing;

  const Agency* FindAgency(const std::string& id) const;
  const User* FindUser(const std::string& id) const;
  const Gateway* FindGateway(const std::string& id) const;
  const Inbox* FindInbox(const std::string& id) const;

  bool IsMember(const std::string& user, const std::string& inbox) const;
  bool Manages(const std::string& user, const std::string& inbox) const;
  // Members and managers may read and act on an inbox's items.
  bool MayActOn(const std::string& user, const std::string& inbox) const;
  // Manages at least one inbox.
  bool IsManager(const std::string& user) const;
  // The inbox a delivery in `inbox` escalates to at `level` (1-based).
  // REQUIRES: the inbox exists and 1 <= level <= the policy's levels.
  const std::string& EscalationTarget(v1::Notification::Priority priority, const std::string& inbox,
                                      int level) const;
};

// Reads and checks a configuration file. Any mistake (malformed YAML, a missing or unknown
// key, an unknown inbox, user, agency, calendar or field) is INVALID_ARGUMENT whose
// message names the file, the line and the key: "config/x.yaml:42: inboxes.hv-north.
// managers_inbox: no inbox 'hv-managerz' is configured".
Result<std::shared_ptr<const Config>> LoadConfig(const std::string& path);

// The same from text already in memory; `source` names it in messages.
Result<std::shared_ptr<const Config>> ParseConfig(const std::string& text,
                                                  const std::string& source);

}  // namespace dutyhub
