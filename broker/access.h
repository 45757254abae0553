// Who may do what, decided in one place (northshire.md): an agency sends only its types;
// members and managers act on an inbox; the sender and managers read a notification's
// status; managers see overdue items, reports and the access log for their inboxes; the
// administrator runs admin commands; everyone else is refused. Pure functions of the
// configuration; any thread.
#pragma once

#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/status.h"
#include "hub.pb.h"

namespace dutyhub {

enum class Operation {
  kSend,         // target.type
  kListInbox,    // target.inbox
  kOpen,         // target.inbox: the item's inbox
  kAcknowledge,  // target.inbox
  kTransfer,     // target.inbox: the inbox it leaves
  kWatch,        // target.inbox (a gateway may watch any: events are ids only)
  kStatus,       // target.sender and target.delivered_to
  kOverdue,      // target.inbox, or every managed inbox when empty
  kReport,       // likewise
  kAuditAccess,  // likewise
  kAdmin,        // admin time, advance-clock, stats, audit verify
  kMetrics,      // the broker's counters: gateways and the administrator
};

struct Target {
  v1::Notification::Type type = v1::Notification::TYPE_UNSPECIFIED;
  std::string inbox;
  std::string sender;
  std::vector<std::string> delivered_to;
};

class AccessPolicy {
 public:
  // `insecure_dev`: development mode, in which anyone known may run admin commands.
  AccessPolicy(const Config& config, bool insecure_dev)
      : config_(config), insecure_dev_(insecure_dev) {}

  // The principal is a configured agency, user or gateway; PERMISSION_DENIED otherwise.
  Status Known(const std::string& principal) const;
  // Who a request acts as: the authenticated principal itself or, when a gateway sends it
  // `on_behalf_of` someone, that person or agency. PERMISSION_DENIED when a non-gateway
  // claims to act for anyone, or a gateway for another gateway or a stranger.
  Result<std::string> Acting(const std::string& principal, const std::string& on_behalf_of) const;
  // What a gateway may ask on someone's behalf: a person anything but the administrator's
  // commands (the pages offer none, and a gateway's key must not be able to move the
  // clock); an agency only its notifications' status (a web page never publishes).
  Status ThroughGateway(const std::string& acting, Operation operation) const;
  // OK, or PERMISSION_DENIED with a sentence saying why.
  Status Decide(const std::string& principal, Operation operation, const Target& target) const;
  // The inboxes a manager's question covers: `inbox` if they manage it, else all they do.
  Result<std::vector<std::string>> ManagedInboxes(const std::string& principal,
                                                  const std::string& inbox) const;

 private:
  const Config& config_;
  bool insecure_dev_;
};

}  // namespace dutyhub
