#include "broker/access.h"

namespace dutyhub {

Status AccessPolicy::Known(const std::string& principal) const {
  if (config_.FindAgency(principal) || config_.FindUser(principal) ||
      config_.FindGateway(principal)) {
    return Status::Ok();
  }
  return Status::PermissionDenied("'" + principal +
                                  "' is neither an agency nor a person in the configuration");
}

Result<std::string> AccessPolicy::Acting(const std::string& principal,
                                         const std::string& on_behalf_of) const {
  if (on_behalf_of.empty()) return principal;
  if (config_.FindGateway(principal) == nullptr) {
    return Status::PermissionDenied(
        "'" + principal + "' is not a gateway: only a configured gateway acts on behalf of others");
  }
  if (config_.FindUser(on_behalf_of) == nullptr && config_.FindAgency(on_behalf_of) == nullptr) {
    return Status::PermissionDenied("gateway '" + principal +
                                    "' may act only for a configured person or agency");
  }
  return on_behalf_of;
}

Status AccessPolicy::ThroughGateway(const std::string& acting, Operation operation) const {
  if (operation == Operation::kAdmin || operation == Operation::kMetrics) {
    return Status::PermissionDenied(
        "administration is not done through a gateway: use the command line");
  }
  if (config_.FindAgency(acting) != nullptr && operation != Operation::kStatus) {
    return Status::PermissionDenied(
        "through a gateway an agency may only read its notifications' status");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> AccessPolicy::ManagedInboxes(const std::string& principal,
                                                              const std::string& inbox) const {
  const User* user = config_.FindUser(principal);
  if (user == nullptr || user->manages.empty()) {
    return Status::PermissionDenied("only managers see this: '" + principal + "' manages no inbox");
  }
  if (inbox.empty()) return std::vector<std::string>(user->manages.begin(), user->manages.end());
  if (config_.FindInbox(inbox) == nullptr)
    return Status::NotFound("no inbox '" + inbox + "' is configured");
  if (!user->manages.count(inbox)) {
    return Status::PermissionDenied("'" + principal + "' does not manage inbox '" + inbox + "'");
  }
  return std::vector<std::string>{inbox};
}

Status AccessPolicy::Decide(const std::string& principal, Operation operation,
                            const Target& target) const {
  if (Status s = Known(principal); !s.ok()) return s;
  const Agency* agency = config_.FindAgency(principal);
  const User* user = config_.FindUser(principal);
  switch (operation) {
    case Operation::kSend:
      if (agency == nullptr) {
        return Status::PermissionDenied(
            "'" + principal + "' is not an agency: only an agency's system sends notifications");
      }
      if (target.type != v1::Notification::TYPE_UNSPECIFIED && !agency->sends.count(target.type)) {
        return Status::PermissionDenied("agency '" + principal + "' may not send " +
                                        v1::Notification::Type_Name(target.type) +
                                        " notifications (see its `sends` in the configuration)");
      }
      return Status::Ok();
    case Operation::kWatch:
      // A gateway watches every inbox for the live pages it serves: events carry ids only,
      // and it hands each page only its own inboxes' events.
      if (config_.FindGateway(principal) != nullptr) return Status::Ok();
      [[fallthrough]];
    case Operation::kListInbox:
    case Operation::kOpen:
    case Operation::kAcknowledge:
    case Operation::kTransfer:
      // Only people act on inboxes; an agency's system never reads or acknowledges.
      if (user != nullptr && config_.MayActOn(principal, target.inbox)) return Status::Ok();
      return Status::PermissionDenied(
          "'" + principal + "' is neither a member nor a manager of inbox '" + target.inbox + "'");
    case Operation::kStatus:
      if (agency != nullptr && principal == target.sender) return Status::Ok();
      for (const std::string& inbox : target.delivered_to) {
        if (config_.Manages(principal, inbox)) return Status::Ok();
      }
      return Status::PermissionDenied(
          "only the sending agency and the managers of its inboxes may read "
          "this notification's status");
    case Operation::kOverdue:
    case Operation::kReport:
    case Operation::kAuditAccess: {
      auto inboxes = ManagedInboxes(principal, target.inbox);
      return inboxes.ok() ? Status::Ok() : inboxes.status();
    }
    case Operation::kAdmin:
      if (insecure_dev_ || (user != nullptr && user->admin)) return Status::Ok();
      return Status::PermissionDenied("'" + principal + "' is not the hub's administrator");
    case Operation::kMetrics:
      if (config_.FindGateway(principal) != nullptr || (user != nullptr && user->admin))
        return Status::Ok();
      return Status::PermissionDenied(
          "only a gateway or the administrator reads the broker's counters");
  }
  return Status::PermissionDenied("unknown operation");
}

}  // namespace dutyhub
