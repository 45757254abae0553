#include "broker/escalation.h"

#include <spdlog/spdlog.h>

#include "broker/routing.h"

namespace dutyhub {

std::optional<TimeMs> OfficeClosesAfter(const OfficeHours& hours, TimeMs t) {
  if (!hours.IsOpen(t)) return std::nullopt;
  TimeMs end = t;
  int64_t day = hours.LocalDay(t);
  // A week of spans that each begin where the last ended is as long as any office runs
  // on; an office that never closes (always staffed) has no closing time.
  for (int i = 0; i < 8; ++i, ++day) {
    bool extended = false;
    for (const auto& [begin, finish] : hours.OpenSpansOn(day)) {
      if (begin <= end && finish > end) {
        end = finish;
        extended = true;
      }
    }
    if (!extended && i > 0) return end;
  }
  return std::nullopt;
}

Result<TimeMs> EscalationEngine::After(const std::string& inbox, TimeMs from,
                                       const Wait& wait) const {
  if (!wait.office_time) return from + wait.after;
  const Inbox* in = config_->FindInbox(inbox);
  if (in == nullptr) return from + wait.after;  // an inbox since removed: count wall-clock time
  return in->office_hours->AddOfficeTime(from, wait.after);
}

std::optional<TimeMs> NextOfficeClose(const OfficeHours& hours, TimeMs t) {
  if (hours.IsOpen(t)) return OfficeClosesAfter(hours, t);
  // A millisecond of office time from `t` is a millisecond into its next span.
  Result<TimeMs> opened = hours.AddOfficeTime(t, 1);
  if (!opened.ok()) return std::nullopt;
  return OfficeClosesAfter(hours, *opened);
}

Result<NewDelivery> EscalationEngine::NewItem(const std::string& inbox,
                                              v1::Notification::Priority priority,
                                              const v1::Notification& notification,
                                              TimeMs arrival) const {
  Result<TimeMs> due = DueAt(*config_, inbox, priority, notification, arrival);
  if (!due.ok()) return due.status();
  auto found = config_->escalation.find(priority);
  if (found == config_->escalation.end()) return Status::Internal("no escalation policy");
  const EscalationPolicy& policy = found->second;
  Result<TimeMs> first_step = After(inbox, *due, policy.levels.front().wait);
  if (!first_step.ok()) return first_step.status();
  NewDelivery item{ids_.NewId(), inbox, *due, *first_step, std::nullopt};
  if (!policy.when_office_closes.empty() && policy.when_office_closes != inbox) {
    // Arriving while the inbox is closed (a transfer out of hours, or routing: rule 8 then
    // has it in eds already, and the hand-over finds it there): handed over at once.
    const OfficeHours& hours = *config_->FindInbox(inbox)->office_hours;
    item.handover_at =
        hours.IsOpen(arrival) ? OfficeClosesAfter(hours, arrival) : std::optional<TimeMs>(arrival);
  }
  return item;
}

Result<int> EscalationEngine::RunDue(Store& store, TimeMs now, int limit) {
  auto due = store.DueBy(now, limit);
  if (!due.ok()) return due.status();
  for (const DueItem& item : *due) {
    // Each item in a savepoint of its own: one item that cannot be moved must not hold up
    // the escalation of every other. It is tried again in a minute, and said loudly.
    if (Status s = store.Savepoint(); !s.ok()) return s;
    Status s = Step(store, item, now);
    if (s.ok()) {
      if (Status r = store.ReleaseSavepoint(); !r.ok()) return r;
      continue;
    }
    store.RollbackToSavepoint();
    spdlog::error("escalation of delivery {} failed ({}); trying again in a minute",
                  item.delivery_id, s.message());
    if (Status d = store.Defer(item, now + kMinuteMs); !d.ok()) return d;
  }
  return static_cast<int>(due->size());
}

void EscalationEngine::Committed() {
  for (const std::string& line : pending_log_) spdlog::info("{}", line);
  steps_.fetch_add(pending_steps_);
  if (pending_lag_ms_) lag_ms_.store(*pending_lag_ms_);
  RolledBack();
}

void EscalationEngine::RolledBack() {
  pending_log_.clear();
  pending_steps_ = 0;
  pending_lag_ms_.reset();
}

Status EscalationEngine::Step(Store& store, DueItem item, TimeMs now) {
  const TimeMs deadline =
      item.handover_at ? std::min(*item.handover_at, item.escalation_at) : item.escalation_at;
  pending_lag_ms_ = now - deadline;
  ++pending_steps_;
  auto found = config_->escalation.find(item.priority);
  if (found == config_->escalation.end()) {
    return Status::Internal("no escalation policy for delivery " + item.delivery_id);
  }
  const EscalationPolicy& policy = found->second;

  // Both due (after an outage, or a clock moved on in one step): the one that fell due first
  // is taken first, as it would have been, so a copy handed over after a level step that came
  // before it is at that level. The other is taken in the engine's next round.
  const bool level_first =
      item.escalation_at <= now && item.handover_at && item.escalation_at < *item.handover_at;
  if (item.handover_at && *item.handover_at <= now && !level_first) {
    // A copy in the group, not an item of its own: the EDS's acknowledgement is the
    // original's, and the original's acknowledgement closes it (CLI.md, `inbox`).
    const std::string copy_id = ids_.NewId();
    const Inbox* inbox = config_->FindInbox(item.inbox);
    const std::optional<TimeMs> next_close =
        inbox != nullptr ? NextOfficeClose(*inbox->office_hours, now) : std::nullopt;
    Result<bool> copied = store.HandOver(item, policy.when_office_closes, copy_id, now, next_close);
    if (!copied.ok()) return copied.status();
    if (*copied) {
      pending_log_.push_back("delivery " + item.delivery_id + " outstanding as " + item.inbox +
                             " closed: escalated to " + policy.when_office_closes + " as " +
                             copy_id);
    }
    // Armed for the next close: a level step or repeat taken in this round keeps it.
    item.handover_at = next_close;
    if (item.escalation_at > now) return Status::Ok();
  }

  const int levels = static_cast<int>(policy.levels.size());
  if (item.level < levels) {
    const int level = item.level + 1;
    const Wait& wait =
        level < levels ? policy.levels[static_cast<size_t>(level)].wait : policy.repeat;
    // The next step counts from this step's deadline, not from when it fired, so a late
    // wake-up does not push the ladder back.
    Result<TimeMs> next = After(item.inbox, item.escalation_at, wait);
    if (!next.ok()) return next.status();
    const Inbox* inbox = config_->FindInbox(item.inbox);
    const std::string target = inbox != nullptr
                                   ? config_->EscalationTarget(item.priority, item.inbox, level)
                                   : config_->routing.fallback_inbox;
    if (Status s = store.Escalate(item, level, target, ids_.NewId(), now, *next); !s.ok()) return s;
    pending_log_.push_back("delivery " + item.delivery_id + " in " + item.inbox +
                           " escalated to level " + std::to_string(level) + " in " + target);
    return Status::Ok();
  }
  // Past the last level: every level again, each repeat, until someone acknowledges. After
  // a long outage, missed repeats are not replayed one by one: the next one counts from now.
  Result<TimeMs> next = After(item.inbox, item.escalation_at, policy.repeat);
  if (next.ok() && *next <= now) next = After(item.inbox, now, policy.repeat);
  if (!next.ok()) return next.status();
  if (Status s = store.Renotify(item, now, *next); !s.ok()) return s;
  pending_log_.push_back("delivery " + item.delivery_id + " in " + item.inbox +
                         " still unacknowledged: every level notified again");
  return Status::Ok();
}

}  // namespace dutyhub
