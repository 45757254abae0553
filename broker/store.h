// The durable store: notifications, their deliveries into inboxes, and every event of an
// item as an audit row, in one SQLite file (WAL, synchronous=FULL).
//
// Threads: a Store wraps one connection and belongs to one thread. The broker opens two:
// the writer's (all changes, batched into group-commit transactions) and the reactor's
// (reads only). WAL lets the reader see every committed transaction without blocking
// the writer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/clock.h"
#include "broker/sqlite.h"
#include "broker/status.h"
#include "hub.pb.h"
#include "notification.pb.h"

namespace dutyhub {

struct NewDelivery {
  std::string delivery_id;
  std::string inbox;
  TimeMs due_at = 0;
};

// What the store knows about one notification, without its body.
struct NotificationRecord {
  int64_t seq = 0;
  std::string agency;
  std::string id;
  v1::Notification::Priority priority = v1::Notification::ROUTINE;
  TimeMs received_at = 0;
};

class Store {
 public:
  // Opens (creating and migrating when `writer`) the store at `path`. The writer's
  // connection applies every pending schema migration inside a transaction.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, bool writer);

  // The schema version this build writes; the file's user_version after Open.
  static int SchemaVersion();

  // Transactions, used by the writer around a batch of requests. A savepoint wraps each
  // request so that one request's failure rolls back only its own changes.
  Status Begin();
  Status Commit();
  void Rollback();
  Status Savepoint();
  Status ReleaseSavepoint();
  void RollbackToSavepoint();

  // The first answer to a publish of (agency, id), for a retry: nullopt when it was never
  // stored. The deliveries are those made when it was published (not later transfers).
  Result<std::optional<v1::SendReply>> FindPublished(const std::string& agency,
                                                     const std::string& id);

  // Stores a validated, routed notification with its deliveries and a DELIVERED audit
  // row for each. REQUIRES: inside a transaction; (agency, id) not stored yet.
  Status InsertNotification(const std::string& agency, const v1::Notification& notification,
                            TimeMs received_at, const std::vector<NewDelivery>& deliveries);

  // An OPENED audit row; the item's state moves from DELIVERED to OPENED.
  Status RecordOpened(const std::string& delivery_id, const std::string& by, TimeMs at);

  // Acknowledges an outstanding item; an acknowledged one answers with its first
  // acknowledgement and already_acknowledged. A transferred item is INVALID_ARGUMENT.
  Result<v1::AckReply> Acknowledge(const std::string& delivery_id, const std::string& by,
                                   const std::string& note, TimeMs at);

  // Marks the item TRANSFERRED and makes `to` a new item with a fresh clock.
  Result<v1::TransferReply> Transfer(const std::string& delivery_id, const std::string& by,
                                     const std::string& reason, TimeMs at, const NewDelivery& to);

  // Reads.
  Result<v1::Delivery> GetDelivery(const std::string& delivery_id);
  // Outstanding items, earliest due first; with `all`, every item, newest first after them.
  Result<std::vector<v1::Delivery>> ListInbox(const std::string& inbox, bool all);
  Result<std::vector<v1::HistoryEntry>> History(const std::string& delivery_id);
  Result<v1::Notification> GetNotificationBody(const std::string& delivery_id);
  // Every notification with this id (one per sending agency that used it).
  Result<std::vector<NotificationRecord>> FindNotifications(const std::string& id);
  Result<std::vector<v1::Delivery>> DeliveriesOf(int64_t notification_seq);

 private:
  explicit Store(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  Status Migrate();
  Status AddEvent(const std::string& delivery_id, TimeMs at, v1::EventKind event,
                  const std::string& by, const std::string& inbox, const std::string& note);
  Result<std::vector<v1::Delivery>> QueryDeliveries(const std::string& where,
                                                    const std::string& key);
  Status FillOpenedBy(v1::Delivery& delivery);

  std::unique_ptr<Database> db_;
};

}  // namespace dutyhub
