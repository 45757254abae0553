#include "broker/coverage.h"

#include <set>

#include "broker/time_text.h"

namespace dutyhub {
namespace {

constexpr TimeMs kStep = 15 * kMinuteMs;

// Inboxes that would also hear of an IMMEDIATE item in `inbox`, whatever the time.
std::set<std::string> Reach(const Config& config, const std::string& inbox) {
  std::set<std::string> reach = {inbox};
  auto policy = config.escalation.find(v1::Notification::IMMEDIATE);
  if (policy != config.escalation.end()) {
    if (!policy->second.when_office_closes.empty()) reach.insert(policy->second.when_office_closes);
    for (size_t level = 1; level <= policy->second.levels.size(); ++level) {
      reach.insert(
          config.EscalationTarget(v1::Notification::IMMEDIATE, inbox, static_cast<int>(level)));
    }
  }
  // Rules that deliver out of hours (Northshire's rule 8) to named inboxes.
  for (const RoutingRule& rule : config.routing.rules) {
    if (!rule.when.outside_office_hours.value_or(false)) continue;
    for (const InboxTemplate& t : rule.deliver) {
      if (t.parts.size() == 1 && std::holds_alternative<std::string>(t.parts[0]))
        reach.insert(t.text);
    }
  }
  return reach;
}

bool Covered(const Config& config, const std::set<std::string>& reach, TimeMs t) {
  for (const std::string& id : reach) {
    const Inbox* inbox = config.FindInbox(id);
    if (inbox != nullptr && inbox->office_hours->IsOpen(t)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> FindImmediateGaps(const Config& config, TimeMs week_start) {
  // The week, and each configured closed day (bank holiday) as a whole local day.
  std::vector<std::pair<TimeMs, TimeMs>> periods = {{week_start, week_start + 7 * kDayMs}};
  std::set<int64_t> closed_days;
  for (const auto& [id, inbox] : config.inboxes) {
    (void)id;
    for (int64_t day : inbox.office_hours->closed_days()) closed_days.insert(day);
  }
  const OfficeHours& local = *config.inboxes.begin()->second.office_hours;
  for (int64_t day : closed_days)
    periods.emplace_back(local.LocalMidnight(day), local.LocalMidnight(day + 1));

  std::vector<std::string> gaps;
  for (const auto& [id, inbox] : config.inboxes) {
    (void)inbox;
    const std::set<std::string> reach = Reach(config, id);
    for (const auto& [begin, end] : periods) {
      std::optional<TimeMs> gap_start;
      for (TimeMs t = begin; t <= end; t += kStep) {
        bool covered = t == end || Covered(config, reach, t);
        if (!covered && !gap_start) gap_start = t;
        if (covered && gap_start) {
          gaps.push_back(id + ": nobody on duty for an IMMEDIATE item from " +
                         FormatLocalForPeople(*gap_start) + " to " + FormatLocalForPeople(t));
          gap_start.reset();
        }
      }
    }
  }
  return gaps;
}

}  // namespace dutyhub
