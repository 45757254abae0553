#include "broker/access.h"

namespace dutyhub {

Status AccessPolicy::Known(const std::string& principal) const {
  if (config_.FindAgency(principal) || config_.FindUser(principal)) return Status::Ok();
  return Status::PermissionDenied("'" + principal +
                                  "' is neither an agency nor a person in the configuration");
}

Status AccessPolicy::MaySend(const std::string& principal, v1::Notification::Type type) const {
  const Agency* agency = config_.FindAgency(principal);
  if (agency == nullptr) {
    return Status::PermissionDenied("'" + principal +
                                    "' is not an agency: only an agency's system sends notifications");
  }
  if (type != v1::Notification::TYPE_UNSPECIFIED && !agency->sends.count(type)) {
    return Status::PermissionDenied("agency '" + principal + "' may not send " +
                                    v1::Notification::Type_Name(type) +
                                    " notifications (see its `sends` in the configuration)");
  }
  return Status::Ok();
}

Status AccessPolicy::MayActOn(const std::string& principal, const std::string& inbox) const {
  if (config_.MayActOn(principal, inbox)) return Status::Ok();
  return Status::PermissionDenied("'" + principal + "' is neither a member nor a manager of inbox '" +
                                  inbox + "'");
}

Status AccessPolicy::MayReadStatus(const std::string& principal, const std::string& sender,
                                   const std::vector<v1::Delivery>& deliveries) const {
  if (principal == sender) return Status::Ok();
  for (const v1::Delivery& d : deliveries) {
    if (config_.Manages(principal, d.inbox())) return Status::Ok();
  }
  return Status::PermissionDenied("only the sending agency and the managers of its inboxes may "
                                  "read this notification's status");
}

}  // namespace dutyhub
