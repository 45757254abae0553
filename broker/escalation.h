// The escalation engine: nothing left unacknowledged goes unnoticed. Computes each new
// item's deadlines from the configuration, and moves every item whose deadline has passed
// one step up its ladder (northshire.md, acknowledgement and escalation).
//
// Learned from GoAlert: the state is one row per item with an absolute next deadline; a
// step and its audit rows are written in one transaction; the engine reads what is due
// from the store, never from timers in memory, so a restart loses no step and repeats none.
//
// Threads: RunDue runs on the writer thread, inside the writer's transaction. NewItem is
// pure and may run on any thread. The figures are atomics, readable from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/ids.h"
#include "broker/store.h"

namespace dutyhub {

class EscalationEngine {
 public:
  EscalationEngine(std::shared_ptr<const Config> config, IdSource& ids)
      : config_(std::move(config)), ids_(ids) {}

  // A new root item in `inbox` arriving at `arrival`: its due time (level 0), when level
  // 1 fires, and, for a priority handed over when offices close, when its inbox closes.
  Result<NewDelivery> NewItem(const std::string& inbox, v1::Notification::Priority priority,
                              const v1::Notification& notification, TimeMs arrival) const;

  // Takes one step for every item due at or before `now`, at most `limit` items per call;
  // returns how many items it moved. REQUIRES: inside the store's write transaction. Call
  // again until it returns 0: a step's next deadline may already have passed too.
  Result<int> RunDue(Store& store, TimeMs now, int limit);

  // When the next step falls due, if any item is outstanding.
  Result<std::optional<TimeMs>> NextDeadline(Store& store) const {
    return store.EarliestDeadline();
  }

  int64_t steps() const { return steps_.load(); }
  // How late the latest step fired against its deadline.
  int64_t lag_ms() const { return lag_ms_.load(); }

  // The writer says how the transaction holding the steps ended. Only then are the steps
  // logged and counted: a log must never claim an escalation that was rolled back.
  void Committed();
  void RolledBack();

 private:
  // `from` plus `wait`, in wall-clock time or in `inbox`'s office time.
  Result<TimeMs> After(const std::string& inbox, TimeMs from, const Wait& wait) const;
  Status Step(Store& store, DueItem item, TimeMs now);

  std::shared_ptr<const Config> config_;
  IdSource& ids_;
  std::atomic<int64_t> steps_{0};
  std::atomic<int64_t> lag_ms_{0};
  // Since the last Committed or RolledBack (writer thread only).
  std::vector<std::string> pending_log_;
  int64_t pending_steps_ = 0;
  std::optional<int64_t> pending_lag_ms_;
};

// When the office that is open at `t` closes, following spans that run on across
// midnight; nullopt when it is closed at `t`.
std::optional<TimeMs> OfficeClosesAfter(const OfficeHours& hours, TimeMs t);
// The end of the next span of office hours after `t`, open at `t` or not: when the office
// closes next. nullopt for an office that never closes (or never opens).
std::optional<TimeMs> NextOfficeClose(const OfficeHours& hours, TimeMs t);

}  // namespace dutyhub
