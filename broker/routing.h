// Routing: which inboxes must act on a notification, at which priority, and by when.
// Pure functions of the configuration, the notification and the arrival time; any thread.
#pragma once

#include <string>
#include <vector>

#include "broker/clock.h"
#include "broker/config.h"
#include "notification.pb.h"

namespace dutyhub {

struct RoutePlan {
  v1::Notification::Priority priority = v1::Notification::ROUTINE;
  std::vector<std::string> inboxes;        // each once, in the order the rules placed them
  std::vector<std::string> rules_applied;  // rule names, for the log
  // Templates that named an inbox that does not exist, e.g. "hv-west"; the copy went to
  // the fallback inbox instead.
  std::vector<std::string> unknown_inboxes;
  // The same, as the rules wrote them ("hv-{area}"), for the log: an expanded name holds
  // the payload's own words (`area` is any text), which promise 7 keeps out of logs.
  std::vector<std::string> unknown_templates;
};

// Applies every rule in order. Never returns an empty plan: with no inbox placed, the
// notification goes to the fallback inbox. Priority is only ever raised.
// REQUIRES: the notification passed validation.
RoutePlan Route(const Config& config, const v1::Notification& notification, TimeMs arrival);

// The child's age in whole years on the notification's created_at date; nullopt when
// unborn or the dates are unreadable.
std::optional<int> ChildAgeYears(const v1::Notification& notification);

// When a delivery to `inbox` at `priority` that arrived at `arrival` falls due (level 0):
// the priority's due policy in wall-clock or the inbox's office time, capped by the
// configured no-later-than fields (a MASH request's respond_by).
// REQUIRES: the inbox exists in the configuration.
Result<TimeMs> DueAt(const Config& config, const std::string& inbox,
                     v1::Notification::Priority priority, const v1::Notification& notification,
                     TimeMs arrival);

}  // namespace dutyhub
