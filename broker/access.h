// Who may do what, decided in one place (northshire.md): an agency sends only its types;
// members and managers act on an inbox; the sender and managers read a notification's
// status; everyone else is refused. Pure functions of the configuration; any thread.
#pragma once

#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/status.h"
#include "hub.pb.h"

namespace dutyhub {

class AccessPolicy {
 public:
  explicit AccessPolicy(const Config& config) : config_(config) {}

  // The principal is a configured agency or user; PERMISSION_DENIED otherwise.
  Status Known(const std::string& principal) const;
  Status MaySend(const std::string& principal, v1::Notification::Type type) const;
  // List, open, acknowledge or transfer items in `inbox`.
  Status MayActOn(const std::string& principal, const std::string& inbox) const;
  // The sending agency, or a manager of an inbox it was delivered to.
  Status MayReadStatus(const std::string& principal, const std::string& sender,
                       const std::vector<v1::Delivery>& deliveries) const;

 private:
  const Config& config_;
};

}  // namespace dutyhub
