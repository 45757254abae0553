// Time is injected (DESIGN.md promise 8): every component reads it from a Clock, so tests
// and the broker's --simulated-clock mode move it explicitly and nothing sleeps to wait.
#pragma once

#include <atomic>
#include <cstdint>

namespace dutyhub {

// Milliseconds since the Unix epoch, UTC. The one time type inside the hub.
using TimeMs = int64_t;

constexpr TimeMs kSecondMs = 1000;
constexpr TimeMs kMinuteMs = 60 * kSecondMs;
constexpr TimeMs kHourMs = 60 * kMinuteMs;
constexpr TimeMs kDayMs = 24 * kHourMs;

// Thread-safe: any thread may call Now().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs Now() const override;
};

// Moves only when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimeMs start) : now_(start) {}
  TimeMs Now() const override { return now_.load(); }
  void Advance(TimeMs by) { now_.fetch_add(by); }
  void Set(TimeMs to) { now_.store(to); }

 private:
  std::atomic<TimeMs> now_;
};

}  // namespace dutyhub
