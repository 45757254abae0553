// The configuration check that a partnership can trust at start: for every inbox, every
// quarter hour of a week (and every bank holiday) in which an IMMEDIATE item arriving there
// would reach nobody on duty: not the inbox itself, not the inbox its policy hands over to
// when offices close, not an inbox a rule delivers to out of hours, not any inbox on its
// escalation ladder.
#pragma once

#include <string>
#include <vector>

#include "broker/clock.h"
#include "broker/config.h"

namespace dutyhub {

// One gap: "hv-north: nobody on duty for an IMMEDIATE item Mon 17:00 to Tue 09:00".
// `week_start` is a local Monday midnight to check from; the bank holidays come from the
// calendars. Empty when every hour is covered.
std::vector<std::string> FindImmediateGaps(const Config& config, TimeMs week_start);

}  // namespace dutyhub
