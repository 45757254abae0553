// The store's side of escalation and of the managers' views: which items are due, moving
// an item up its ladder, the overdue list and the report. Part of Store (store.h).
#include <algorithm>

#include "broker/store.h"

namespace dutyhub {

Result<std::vector<DueItem>> Store::DueBy(TimeMs now, int limit) {
  auto s = db_->Prepare(
      "SELECT d.delivery_id, n.id, d.inbox, n.priority, d.escalation_level, d.escalation_at, "
      "d.handover_at, d.notification_seq FROM deliveries d "
      "JOIN notifications n ON n.seq = d.notification_seq "
      "WHERE d.next_deadline IS NOT NULL AND d.next_deadline <= ?1 "
      "ORDER BY d.next_deadline LIMIT ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, now).Bind(2, limit);
  std::vector<DueItem> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    DueItem& item = out.emplace_back();
    item.delivery_id = (*s)->Text(0);
    item.notification_id = (*s)->Text(1);
    item.inbox = (*s)->Text(2);
    item.priority = static_cast<v1::Notification::Priority>((*s)->Int(3));
    item.level = static_cast<int>((*s)->Int(4));
    item.escalation_at = (*s)->Int(5);
    if (!(*s)->IsNull(6)) item.handover_at = (*s)->Int(6);
    item.notification_seq = (*s)->Int(7);
  }
  if (rc != SQLITE_DONE) return db_->Error("finding what is due");
  return out;
}

Result<std::optional<TimeMs>> Store::EarliestDeadline() {
  auto s =
      db_->Prepare("SELECT MIN(next_deadline) FROM deliveries WHERE next_deadline IS NOT NULL");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("finding the next deadline");
  if ((*s)->IsNull(0)) return std::optional<TimeMs>();
  return std::optional<TimeMs>((*s)->Int(0));
}

Status Store::Escalate(const DueItem& root, int level, const std::string& target,
                       const std::string& copy_id, TimeMs at, TimeMs next_escalation_at) {
  auto item = GetDelivery(root.delivery_id);
  if (!item.ok()) return item.status();
  item->set_escalation_level(level);
  if (target != root.inbox) {
    // One copy per inbox: an item that reaches an inbox it already reached is raised there.
    auto existing = db_->Prepare(
        "SELECT delivery_id FROM deliveries WHERE source_delivery = ? AND origin = 'ESCALATED' "
        "AND inbox = ?");
    if (!existing.ok()) return existing.status();
    (*existing)->Bind(1, root.delivery_id).Bind(2, target);
    int rc = (*existing)->Step();
    v1::Delivery copy = *item;
    copy.set_inbox(target);
    if (rc == SQLITE_ROW) {
      copy.set_delivery_id((*existing)->Text(0));
      auto raise = db_->Prepare("UPDATE deliveries SET escalation_level = ? WHERE delivery_id = ?");
      if (!raise.ok()) return raise.status();
      (*raise)->Bind(1, level).Bind(2, copy.delivery_id());
      if ((*raise)->Step() != SQLITE_DONE) return db_->Error("escalating");
    } else if (rc == SQLITE_DONE) {
      copy.set_delivery_id(copy_id);
      NewDelivery d{copy_id, target, at, 0, std::nullopt};
      if (Status s =
              InsertDelivery(root.notification_seq, d, "ESCALATED", root.delivery_id, at, level);
          !s.ok()) {
        return s;
      }
    } else {
      return db_->Error("escalating");
    }
    if (Status s = AddEvent(copy, at, v1::EVENT_ESCALATED, "", ""); !s.ok()) return s;
  }
  if (Status s = AddEvent(*item, at, v1::EVENT_ESCALATED, "", "", target); !s.ok()) return s;
  return SetTimers(root.delivery_id, level, next_escalation_at, root.handover_at);
}

Status Store::Renotify(const DueItem& root, TimeMs at, TimeMs next_escalation_at) {
  auto group = Group(root.delivery_id);
  if (!group.ok()) return group.status();
  for (const GroupMember& member : *group) {
    if (member.item.state() != v1::DELIVERED && member.item.state() != v1::OPENED) continue;
    if (Status s = AddEvent(member.item, at, v1::EVENT_RENOTIFIED, "", ""); !s.ok()) return s;
  }
  return SetTimers(root.delivery_id, root.level, next_escalation_at, root.handover_at);
}

Result<bool> Store::HandOver(const DueItem& root, const std::string& target,
                             const std::string& copy_id, TimeMs at, std::optional<TimeMs> next) {
  // Another root's copy there does not count: each original is its own duty, and only a
  // copy of this one is acknowledged for it.
  auto there = db_->Prepare(
      "SELECT 1 FROM deliveries WHERE notification_seq = ? AND inbox = ? AND state IN (1, 2) "
      "AND (origin <> 'ESCALATED' OR source_delivery = ?)");
  if (!there.ok()) return there.status();
  (*there)->Bind(1, root.notification_seq).Bind(2, target).Bind(3, root.delivery_id);
  int rc = (*there)->Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_->Error("handing over");
  if (rc == SQLITE_DONE) {
    NewDelivery d{copy_id, target, at, 0, std::nullopt};
    if (Status s =
            InsertDelivery(root.notification_seq, d, "ESCALATED", root.delivery_id, at, root.level);
        !s.ok()) {
      return s;
    }
    auto stamp = db_->Prepare("UPDATE deliveries SET handed_over_at = ? WHERE delivery_id = ?");
    if (!stamp.ok()) return stamp.status();
    (*stamp)->Bind(1, at).Bind(2, root.delivery_id);
    if ((*stamp)->Step() != SQLITE_DONE) return db_->Error("handing over");
    auto source = GetDelivery(root.delivery_id);
    if (!source.ok()) return source.status();
    const std::string note = "office hours of " + root.inbox + " ended with it outstanding";
    v1::Delivery copy = *source;
    copy.set_delivery_id(copy_id);
    copy.set_inbox(target);
    if (Status s = AddEvent(copy, at, v1::EVENT_ESCALATED, "", note); !s.ok()) return s;
    if (Status s = AddEvent(*source, at, v1::EVENT_ESCALATED, "", note, target); !s.ok()) return s;
  }
  if (Status s = SetTimers(root.delivery_id, root.level, root.escalation_at, next); !s.ok()) {
    return s;
  }
  return rc == SQLITE_DONE;
}

Status Store::Defer(const DueItem& root, TimeMs until) {
  std::optional<TimeMs> handover = root.handover_at;
  if (handover) handover = std::max(*handover, until);
  return SetTimers(root.delivery_id, root.level, std::max(root.escalation_at, until), handover);
}

int64_t Store::Changes() const { return sqlite3_total_changes64(db_->raw()); }
bool Store::InTransaction() const { return sqlite3_get_autocommit(db_->raw()) == 0; }

Result<int> Store::SynchronousMode() {
  auto s = db_->Prepare("PRAGMA synchronous");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("reading PRAGMA synchronous");
  return static_cast<int>((*s)->Int(0));
}

Result<int64_t> Store::LogSizeLimit() {
  auto s = db_->Prepare("PRAGMA journal_size_limit");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("reading PRAGMA journal_size_limit");
  return (*s)->Int(0);
}

Result<int> Store::TemporaryTreesIn(const std::string& sql) {
  auto s = db_->Prepare("EXPLAIN " + sql);
  if (!s.ok()) return s.status();
  int trees = 0;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) trees += (*s)->Text(1) == "OpenEphemeral";
  if (rc != SQLITE_DONE) return db_->Error("explaining a statement");
  return trees;
}

Result<std::string> Store::PlanOf(const std::string& sql) {
  auto s = db_->Prepare("EXPLAIN QUERY PLAN " + sql);
  if (!s.ok()) return s.status();
  std::string plan;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) plan += (*s)->Text(3) + "\n";
  if (rc != SQLITE_DONE) return db_->Error("planning a statement");
  return plan;
}

Result<std::vector<v1::Delivery>> Store::Overdue(const std::string& inbox, TimeMs now) {
  // Escalated and handed-over copies too, each due when its root is (the duty is the
  // root's): `escalated_from` names the root's inbox, for the caller to leave out copies whose
  // root it lists already. A copy is stored due when it arrived, which is never after now, so
  // `d.due_at <= ?2` keeps the inbox index's range for both.
  auto items = QueryDeliveries(
      "WHERE d.inbox = ?1 AND d.state IN (1, 2) AND d.due_at <= ?2 AND "
      "CASE WHEN d.origin = 'ESCALATED' THEN s.due_at < ?2 ELSE d.due_at < ?2 END "
      "ORDER BY CASE WHEN d.origin = 'ESCALATED' THEN s.due_at ELSE d.due_at END, d.rowid",
      inbox, now);
  if (!items.ok()) return items;
  auto root_due = db_->Prepare(
      "SELECT s.due_at FROM deliveries d JOIN deliveries s ON s.delivery_id = d.source_delivery "
      "WHERE d.delivery_id = ?");
  if (!root_due.ok()) return root_due.status();
  for (v1::Delivery& item : *items) {
    if (item.escalated_from().empty()) continue;
    (*root_due)->Reset();
    (*root_due)->Bind(1, item.delivery_id());
    if ((*root_due)->Step() != SQLITE_ROW) return db_->Error("reading an escalated copy's root");
    item.set_due_at_ms((*root_due)->Int(0));
  }
  return items;
}

Result<int64_t> Store::CountOutstanding() {
  auto s = db_->Prepare("SELECT COUNT(*) FROM deliveries WHERE next_deadline IS NOT NULL");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("counting");
  return (*s)->Int(0);
}

Status Store::FillMetrics(const std::vector<std::string>& inboxes, v1::MetricsReply& out) {
  auto s = db_->Prepare(
      "SELECT escalation_level, COUNT(*) FROM deliveries WHERE inbox = ? AND state IN (1, 2) "
      "GROUP BY escalation_level ORDER BY escalation_level");
  if (!s.ok()) return s.status();
  for (const std::string& inbox : inboxes) {
    (*s)->Reset();
    (*s)->Bind(1, inbox);
    int rc;
    while ((rc = (*s)->Step()) == SQLITE_ROW) {
      v1::OutstandingCount* count = out.add_outstanding();
      count->set_inbox(inbox);
      count->set_escalation_level(static_cast<int32_t>((*s)->Int(0)));
      count->set_count((*s)->Int(1));
    }
    if (rc != SQLITE_DONE) return db_->Error("counting outstanding items");
  }
  return Status::Ok();
}

namespace {

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the values at or below it.
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

Result<v1::InboxReport> Store::Report(const std::string& inbox, TimeMs from, TimeMs to, int levels,
                                      TimeMs now) {
  v1::InboxReport report;
  report.set_inbox(inbox);
  auto s = db_->Prepare(
      "SELECT state, received_at, acknowledged_at, escalation_level FROM deliveries "
      "WHERE inbox = ?1 AND origin <> 'ESCALATED' AND received_at >= ?2 AND received_at < ?3");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, inbox).Bind(2, from).Bind(3, to);
  std::vector<int64_t> to_ack;
  std::vector<int64_t> reached(static_cast<size_t>(levels), 0);
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    report.set_received(report.received() + 1);
    if ((*s)->Int(0) == v1::ACKNOWLEDGED) {
      report.set_acknowledged(report.acknowledged() + 1);
      to_ack.push_back((*s)->Int(2) - (*s)->Int(1));
    }
    int level = static_cast<int>((*s)->Int(3));
    for (int l = 1; l <= std::min(level, levels); ++l) ++reached[static_cast<size_t>(l - 1)];
  }
  if (rc != SQLITE_DONE) return db_->Error("reporting");
  std::sort(to_ack.begin(), to_ack.end());
  report.set_median_ms(Percentile(to_ack, 0.5));
  report.set_p90_ms(Percentile(to_ack, 0.9));
  report.set_p99_ms(Percentile(to_ack, 0.99));
  for (int64_t n : reached) report.add_reached_level(n);
  {
    auto count = db_->Prepare(
        "SELECT COUNT(*) FROM deliveries WHERE inbox = ? AND state IN (1, 2) AND origin <> "
        "'ESCALATED'");
    if (!count.ok()) return count.status();
    (*count)->Bind(1, inbox);
    if ((*count)->Step() != SQLITE_ROW) return db_->Error("reporting");
    report.set_outstanding((*count)->Int(0));
  }
  auto oldest = QueryDeliveries(
      "WHERE d.inbox = ?1 AND d.state IN (1, 2) AND d.origin <> 'ESCALATED' "
      "ORDER BY d.received_at, d.rowid LIMIT 1",
      inbox);
  if (!oldest.ok()) return oldest.status();
  if (!oldest->empty()) *report.mutable_oldest_outstanding() = oldest->front();
  // The same rows as ListInbox's outstanding list (the inbox index finds them), counted.
  auto waiting = db_->Prepare(
      "SELECT escalation_level, COUNT(*), SUM(due_at <= ?2) FROM deliveries "
      "WHERE inbox = ?1 AND state IN (1, 2) GROUP BY escalation_level ORDER BY escalation_level");
  if (!waiting.ok()) return waiting.status();
  (*waiting)->Bind(1, inbox).Bind(2, now);
  while ((rc = (*waiting)->Step()) == SQLITE_ROW) {
    const int64_t level = (*waiting)->Int(0);
    const int64_t count = (*waiting)->Int(1);
    if (level < 0)
      return Status::Internal("an item of inbox " + inbox + " has a negative escalation level");
    while (report.waiting_at_level_size() <= level) report.add_waiting_at_level(0);
    report.set_waiting_at_level(static_cast<int>(level), count);
    report.set_waiting(report.waiting() + count);
    report.set_waiting_overdue(report.waiting_overdue() + (*waiting)->Int(2));
  }
  if (rc != SQLITE_DONE) return db_->Error("counting what waits in an inbox");
  return report;
}

Result<v1::AuditVerifyReply> Store::VerifyAudit() {
  v1::AuditVerifyReply reply;
  reply.set_intact(true);
  auto s = db_->Prepare(
      "SELECT seq, delivery_id, at, event, by, inbox, note, hash, via FROM events ORDER BY seq");
  if (!s.ok()) return s.status();
  std::string previous;
  int64_t expected = 1;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    const int64_t seq = (*s)->Int(0);
    reply.set_entries(reply.entries() + 1);
    std::string problem;
    if (seq != expected) {
      problem = "entries " + std::to_string(expected) + " to " + std::to_string(seq - 1) +
                " are missing: deleted from the audit";
    } else {
      std::string hash =
          AuditHash(previous, seq, (*s)->Text(1), (*s)->Int(2), static_cast<int>((*s)->Int(3)),
                    (*s)->Text(4), (*s)->Text(5), (*s)->Text(6), (*s)->Text(8));
      if (std::string((*s)->Blob(7)) != hash) {
        problem =
            "entry " + std::to_string(seq) +
            " does not match its hash: it, or the order of the entries before it, was changed";
      }
      previous = std::move(hash);
    }
    if (!problem.empty()) {
      reply.set_intact(false);
      reply.set_first_bad_entry(seq != expected ? expected : seq);
      reply.set_problem(problem);
      return reply;
    }
    ++expected;
  }
  if (rc != SQLITE_DONE) return db_->Error("reading the audit");
  return reply;
}

Result<std::vector<v1::Access>> Store::AccessLog(const std::string& nhs_number) {
  auto s = db_->Prepare(
      "SELECT e.at, e.by, d.inbox, d.delivery_id, n.id, n.agency FROM notifications n "
      "JOIN deliveries d ON d.notification_seq = n.seq JOIN events e ON e.delivery_id = "
      "d.delivery_id "
      "WHERE n.child_nhs_number = ?1 AND e.event = ?2 ORDER BY e.seq");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, nhs_number).Bind(2, static_cast<int>(v1::EVENT_OPENED));
  std::vector<v1::Access> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    v1::Access& a = out.emplace_back();
    a.set_at_ms((*s)->Int(0));
    a.set_by((*s)->Text(1));
    a.set_inbox((*s)->Text(2));
    a.set_delivery_id((*s)->Text(3));
    a.set_notification_id((*s)->Text(4));
    a.set_from((*s)->Text(5));
  }
  if (rc != SQLITE_DONE) return db_->Error("reading the access log");
  return out;
}

}  // namespace dutyhub
