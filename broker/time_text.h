// The hub's textual times: RFC 3339 timestamps and YYYY-MM-DD dates as agencies send
// them, and durations as people type them ("15m", "4h", "2d").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/clock.h"

namespace dutyhub {

// "2026-11-23T10:15:00Z", "2026-11-23T10:15:00.250+01:00". Requires the offset (RFC 3339
// does). Returns nullopt for anything else, including impossible dates.
std::optional<TimeMs> ParseTimestamp(std::string_view text);

// "2026-11-23" -> days since 1970-01-01. nullopt for anything else or an impossible date.
std::optional<int64_t> ParseDate(std::string_view text);

// UTC, second precision unless there are milliseconds: "2026-11-23T10:15:00Z".
std::string FormatTimestamp(TimeMs t);

// The same instant as Europe/London wall time with its offset, for people:
// "Mon 23 Nov 10:15 GMT".
std::string FormatLocalForPeople(TimeMs t);

// The Europe/London calendar date of an instant, "2026-11-23": the partnership's day, as
// reports count days.
std::string FormatLocalDate(TimeMs t);

// "90s", "15m", "4h", "2d", "1h30m", "0m". nullopt for anything else.
std::optional<TimeMs> ParseDuration(std::string_view text);

}  // namespace dutyhub
