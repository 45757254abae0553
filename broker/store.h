// The durable store: notifications, their deliveries into inboxes with each outstanding
// item's escalation state, and every event of an item as an audit row, in one SQLite file
// (WAL, synchronous=FULL).
//
// Threads: a Store wraps one connection and belongs to one thread. The broker opens two:
// the writer's (all changes, batched into group-commit transactions) and the reactor's
// (reads only). WAL lets the reader see every committed transaction without blocking
// the writer.
//
// Escalation state (DESIGN.md promise 5): an outstanding item delivered to an inbox (a
// "root": routed, transferred, or handed over by a broker older than schema 6) carries its ladder
// level, the time of its next escalation step, optionally the time its inbox's office closes (the
// EDS hand-over), and `next_deadline`, the earlier of the two: its one next deadline. An escalated
// copy (in a managers' inbox, the safeguarding leads', or the EDS's when the root's office closed
// on it) carries no deadline of its own; acknowledging it acknowledges its root.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/checkpointer.h"
#include "broker/clock.h"
#include "broker/sqlite.h"
#include "broker/status.h"
#include "hub.pb.h"
#include "notification.pb.h"

namespace dutyhub {

// SHA-256 over one audit row's content and the previous row's hash: the audit chain.
// `via`: the gateway that carried a person's action, hashed only when there was one.
std::string AuditHash(const std::string& previous, int64_t seq, const std::string& delivery_id,
                      TimeMs at, int event, const std::string& by, const std::string& inbox,
                      const std::string& note, const std::string& via);

// Whether someone may act on an item in `inbox`: OK, or the refusal to answer with.
using MayAct = std::function<Status(const std::string& inbox)>;

// A new item with its escalation timers, computed by the caller from the configuration.
struct NewDelivery {
  std::string delivery_id;
  std::string inbox;
  TimeMs due_at = 0;
  TimeMs escalation_at = 0;           // level 1 fires then
  std::optional<TimeMs> handover_at;  // the inbox's office closes then (IMMEDIATE)
};

// What the store knows about one notification, without its body.
struct NotificationRecord {
  int64_t seq = 0;
  std::string agency;
  std::string id;
  v1::Notification::Priority priority = v1::Notification::ROUTINE;
  TimeMs received_at = 0;
};

// An outstanding root item whose next deadline has passed.
struct DueItem {
  std::string delivery_id;
  std::string notification_id;
  std::string inbox;
  v1::Notification::Priority priority = v1::Notification::ROUTINE;
  int level = 0;
  TimeMs escalation_at = 0;
  std::optional<TimeMs> handover_at;
  int64_t notification_seq = 0;
};

class Store {
 public:
  // Opens (creating and migrating when `writer`) the store at `path`. The writer's
  // connection applies every pending schema migration inside a transaction.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, bool writer);

  // The schema version this build writes; the file's user_version after Open.
  static int SchemaVersion();

  // While set, every audit row written is also appended here as a WatchEvent, for the
  // watchers, who hear of it once the transaction committed. Null to stop.
  void set_event_sink(std::vector<v1::WatchEvent>* sink) { events_ = sink; }
  // The gateway that carried the actions about to be recorded (empty: none), written beside
  // each person's audit entry until it is set again. The writer sets it for every request.
  void set_via(std::string via) { via_ = std::move(via); }

  // Transactions, used by the writer around a batch of requests. When a request fails after
  // writing, the writer runs the batch again with a savepoint around each request, so that
  // its failure rolls back only its own changes (Writer::ApplyBatch).
  Status Begin();
  Status Commit();
  // Whether the last failure was the disk filling up (SQLITE_FULL): SQLite then undid the
  // transaction cleanly, and the store is sound; other failures leave the disk's state unknown.
  bool DiskFull() const;
  // Leaves checkpoints to `checkpointer`'s connection, telling it the log's size after each
  // commit, so no commit waits for one. Nor does a commit cut the log's file back, but past
  // Checkpointer::kLogCeilingBytes: the checkpointer does, when the writer is quiet
  // (Checkpointer::kLogKeptBytes).
  // REQUIRES: `checkpointer` outlives this store.
  Status HandOverCheckpoints(Checkpointer& checkpointer);
  // Has the checkpointer's thread copy the log's uncopied pages into the database file now,
  // when there are at least Checkpointer::kIdleWriterCopies. For a lightly loaded writer:
  // it never waits for a copy itself.
  void AskForCheckpoint();
  void Rollback();
  Status Savepoint();
  Status ReleaseSavepoint();
  void RollbackToSavepoint();

  // --- Writes (inside a transaction) ---

  // The first answer to a publish of (agency, id), for a retry: nullopt when it was never
  // stored. The deliveries are those made when it was published (not later ones).
  Result<std::optional<v1::SendReply>> FindPublished(const std::string& agency,
                                                     const std::string& id);

  // Stores a validated, routed notification with its deliveries and a DELIVERED audit
  // row for each. REQUIRES: (agency, id) not stored yet.
  Status InsertNotification(const std::string& agency, const v1::Notification& notification,
                            TimeMs received_at, const std::vector<NewDelivery>& deliveries);
  // The same, with `body` the notification already serialized: the reactor does that, off
  // the writer's thread, which is the one every commit waits for.
  Status InsertNotification(const std::string& agency, const v1::Notification& notification,
                            const std::string& body, TimeMs received_at,
                            const std::vector<NewDelivery>& deliveries);
  // Promise 3 in one step: stores the notification as InsertNotification does unless
  // (agency, id) is stored already, in which case nothing is written and the first answer
  // is returned. One walk of the (agency, id) index for a new notification, where a lookup
  // first took two.
  // A notification of that (agency, id) with other contents is no retry: it is refused,
  // INVALID_ARGUMENT naming `id`, rather than confirmed and then found in no inbox (promise
  // 2). Contents are compared as SameNotification does; `as_sent`, the priority the sender
  // gave (`notification`'s own when not given), must be no higher than the one stored.
  Result<std::optional<v1::SendReply>> PublishOnce(
      const std::string& agency, const v1::Notification& notification, const std::string& body,
      TimeMs received_at, const std::vector<NewDelivery>& deliveries,
      std::optional<v1::Notification::Priority> as_sent = std::nullopt);

  // An OPENED audit row; the item's state moves from DELIVERED to OPENED.
  Status RecordOpened(const std::string& delivery_id, const std::string& by, TimeMs at);

  // Acknowledges an outstanding item and, with it, its root and every escalated copy of
  // it: one acknowledgement ends the escalation everywhere. An acknowledged item answers
  // with its first acknowledgement and already_acknowledged; a transferred one is
  // INVALID_ARGUMENT.
  // `may_act` decides, given the inbox of the item as read in this transaction, whether
  // `by` may act on it; its refusal is returned, and nothing changes. Its events carry no
  // notification id (see Group).
  Result<v1::AckReply> Acknowledge(const std::string& delivery_id, const std::string& by,
                                   const std::string& note, TimeMs at, const MayAct& may_act);

  // Marks the item's root (and its escalated copies) TRANSFERRED and makes `to` a new
  // item with a fresh clock.
  Result<v1::TransferReply> Transfer(const std::string& delivery_id, const std::string& by,
                                     const std::string& reason, TimeMs at, const NewDelivery& to);

  // Outstanding roots whose next deadline is at or before `now`, earliest first.
  Result<std::vector<DueItem>> DueBy(TimeMs now, int limit);
  // The earliest next deadline of any outstanding item.
  Result<std::optional<TimeMs>> EarliestDeadline();

  // Raises `root` to `level`: an escalated copy in `target` (unless the root is already
  // there, or a copy is: then that copy is raised), ESCALATED audit rows on both, and the
  // root's next step at `next_escalation_at`.
  Status Escalate(const DueItem& root, int level, const std::string& target,
                  const std::string& copy_id, TimeMs at, TimeMs next_escalation_at);
  // Past the last level: a RENOTIFIED audit row on the root and every outstanding copy.
  Status Renotify(const DueItem& root, TimeMs at, TimeMs next_escalation_at);
  // The root's inbox has closed with it outstanding: an escalated copy of it goes to
  // `target` (the EDS) at the root's level, as CLI.md has it: shown there with the root's
  // inbox as `escalated_from`, acknowledged there for the root and every copy, closed when the
  // root is acknowledged, renotified with the root's ladder; the root's ladder goes on. None
  // when the notification is outstanding in `target` as an item of its own already (rule 8
  // put it there on arrival) or as this root's copy. Either way the root's hand-over deadline
  // becomes `next` (its inbox's next close; none for an inbox that never closes): still
  // outstanding then, and nothing of it outstanding in `target` (the EDS acknowledged rule
  // 8's item of its own, say), it is handed over then. True when a copy was made.
  Result<bool> HandOver(const DueItem& root, const std::string& target, const std::string& copy_id,
                        TimeMs at, std::optional<TimeMs> next);

  // Moves a root's deadlines to no earlier than `until` (a step that failed is tried again).
  Status Defer(const DueItem& root, TimeMs until);

  // Rows inserted, updated or deleted on this connection so far (statements rolled back
  // count nothing): whether a request that failed changed anything.
  int64_t Changes() const;
  // False once SQLite itself rolled the transaction back (a full disk, an I/O error).
  bool InTransaction() const;
  // PRAGMA synchronous of this connection: 2 is FULL (DESIGN.md promise 1).
  Result<int> SynchronousMode();
  // PRAGMA journal_size_limit of this connection: Checkpointer::kLogCeilingBytes once
  // checkpoints are handed over.
  Result<int64_t> LogSizeLimit();
  // How many temporary b-trees `sql` builds as it runs on this connection, as it has parsed
  // the schema (OpenEphemeral in its plan): none may be built by a statement the writer runs
  // per request.
  Result<int> TemporaryTreesIn(const std::string& sql);

  // --- Reads ---

  Result<v1::Delivery> GetDelivery(const std::string& delivery_id);
  // The same without the summary and who opened it: enough to decide who may act on it.
  Result<v1::Delivery> GetDeliveryBrief(const std::string& delivery_id);
  // Outstanding items, earliest due first; with `all`, outstanding first, then the most
  // recent acknowledged and transferred ones (5,000 items at most).
  // `truncated`, when given, is set when `all` left older items out.
  Result<std::vector<v1::Delivery>> ListInbox(const std::string& inbox, bool all,
                                              bool* truncated = nullptr);
  // Outstanding items past due in `inbox`, most overdue first: escalated and handed-over
  // copies with them, due when their roots are, each naming its root's inbox in
  // `escalated_from`.
  Result<std::vector<v1::Delivery>> Overdue(const std::string& inbox, TimeMs now);
  Result<std::vector<v1::HistoryEntry>> History(const std::string& delivery_id);
  Result<v1::Notification> GetNotificationBody(const std::string& delivery_id);
  // The audit's last entry's seq (0 when it has none).
  Result<int64_t> LastEventSeq();
  // The events of items in `inbox` with after_seq < seq <= upto_seq, oldest first, as the
  // writer sends them to watchers, but with each item's escalation level as it is now.
  Result<std::vector<v1::WatchEvent>> InboxEventsBetween(const std::string& inbox,
                                                         int64_t after_seq, int64_t upto_seq);
  static const char* const kInboxEventsBetween;  // its query, for a test of its plan
  // SQLite's plan for `sql`, one line per step ("SEARCH e USING INTEGER PRIMARY KEY ...").
  Result<std::string> PlanOf(const std::string& sql);
  // Every notification with this id (one per sending agency that used it).
  Result<std::vector<NotificationRecord>> FindNotifications(const std::string& id);
  Result<std::vector<v1::Delivery>> DeliveriesOf(int64_t notification_seq);
  // The managers' report for one inbox over [from, to), and what waits in it at `now`.
  Result<v1::InboxReport> Report(const std::string& inbox, TimeMs from, TimeMs to, int levels,
                                 TimeMs now);
  Result<int64_t> CountOutstanding();
  // The store's part of /metrics: outstanding items by inbox and level, one index range
  // of outstanding items per inbox (never a scan of everything ever delivered).
  Status FillMetrics(const std::vector<std::string>& inboxes, v1::MetricsReply& out);
  // Walks the audit's hash chain from the first row; names the first row that does not fit.
  Result<v1::AuditVerifyReply> VerifyAudit();
  // Every opening of a notification about the child with this (normalised) NHS number.
  Result<std::vector<v1::Access>> AccessLog(const std::string& nhs_number);

 private:
  explicit Store(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  Status Migrate();
  // OK when the stored notification of (agency, notification.id()) has the same contents
  // and a priority at least `as_sent`; else INVALID_ARGUMENT naming `id`. REQUIRES: stored.
  Status SameAsStored(const std::string& agency, const v1::Notification& notification,
                      v1::Notification::Priority as_sent);
  // An audit row about `item`; `inbox` is where it points (the target of a transfer or an
  // escalation), the item's own inbox when empty.
  Status AddEvent(const v1::Delivery& item, TimeMs at, v1::EventKind event, const std::string& by,
                  const std::string& note, const std::string& inbox = "");
  Status InsertDelivery(int64_t notification_seq, const NewDelivery& d, const char* origin,
                        const std::string& source, TimeMs received_at, int level);
  // The notification, its deliveries and their audit rows; false, with nothing written, if
  // `unless_stored` and (agency, id) is stored already.
  Result<bool> StoreNotification(const std::string& agency, const v1::Notification& notification,
                                 const std::string& body, TimeMs received_at,
                                 const std::vector<NewDelivery>& deliveries, bool unless_stored);
  Status SetTimers(const std::string& delivery_id, int level, std::optional<TimeMs> escalation_at,
                   std::optional<TimeMs> handover_at);
  // One item of a group, as changing it needs it: its row's rowid and notification, how it
  // came to be, and the item from the deliveries row alone (no notification id, summary or
  // openers).
  struct GroupMember {
    int64_t rowid = 0;
    int64_t notification_seq = 0;
    std::string origin;
    std::string source;        // the item it was escalated, transferred or handed over from
    bool handed_over = false;  // a root whose office closed on it: it has a copy in the EDS
    v1::Delivery item;
  };
  static GroupMember ReadGroupMember(const Statement& s);
  // The item's root and the escalated copies of it, root first. `may_act`, when given, is
  // asked about the item named (a copy's own inbox for a copy) before anything else is read.
  Result<std::vector<GroupMember>> Group(const std::string& delivery_id,
                                         const MayAct& may_act = nullptr);
  // `brief`: without the summary and who opened it, which need the notification's text
  // and a look through the item's events: for the writer's own changes, never for a reader.
  Result<std::vector<v1::Delivery>> QueryDeliveries(const std::string& where,
                                                    const std::string& key, int64_t number = 0,
                                                    bool brief = false);

  std::unique_ptr<Database> db_;
  Checkpointer* checkpointer_ = nullptr;  // set by HandOverCheckpoints
  std::vector<v1::WatchEvent>* events_ = nullptr;
  std::string via_;
  // The audit chain's last (seq, hash) as this connection wrote it; forgotten whenever a
  // rollback may have removed rows, and then read back from the store.
  std::optional<std::pair<int64_t, std::string>> chain_head_;
};

}  // namespace dutyhub
