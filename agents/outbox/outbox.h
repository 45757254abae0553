// The agency side's durable outbox: store-and-forward, so an adapter never loses a
// notification when the hub or the network is down.
//
// A notification is accepted from the agency system only after it passed the broker's own
// validation (so the source system hears about a bad form at once) and was stored, with
// its id, in the adapter's own SQLite file (WAL, synchronous=FULL). A sender thread then
// publishes what is pending, in order, with up to `window` requests in flight, retrying
// with backoff and the same id while the broker is away; a notification is marked sent
// only when the broker confirmed it (a retry the broker already has is confirmed as a
// duplicate, so nothing is ever stored twice). Once sent, its receipt (where it went, who
// opened and acknowledged it, when, with what note) is fetched from the broker until
// every copy is acknowledged or transferred, and kept here.
//
// Threads: Accept, GetReceipt and the counters may be called from any thread; the
// receipt callback runs on the sender thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agents/client/hub_client.h"
#include "broker/clock.h"
#include "broker/status.h"
#include "hub.pb.h"
#include "notification.pb.h"

namespace dutyhub {

class Database;

struct OutboxOptions {
  std::string path;                // the outbox's SQLite file
  std::string broker;              // e.g. tcp://127.0.0.1:5570
  std::optional<ClientKeys> keys;  // CURVE; without, `insecure_as` against --insecure-dev
  std::string insecure_as;
  int window = 32;                   // publishes in flight at once
  TimeMs first_retry = 200;          // backoff after the broker did not answer ...
  TimeMs longest_retry = 10 * 1000;  // ... doubling up to this
  TimeMs receipt_interval = 1000;    // how often unfinished receipts are fetched ...
  int receipts_per_round = 500;      // ... at most this many at a time, in turn
  TimeMs broker_timeout = 3000;      // how long one attempt waits for answers
};

struct Accepted {
  std::string id;
  bool duplicate = false;  // this id was accepted before; nothing new was stored
};

// What the sender knows of one notification.
struct Receipt {
  std::string id;
  std::string state;  // PENDING (not yet confirmed by the broker), SENT, REFUSED
  int attempts = 0;
  std::string refusal;                    // the broker's reason, when REFUSED
  std::optional<v1::StatusReply> status;  // from the broker, once fetched
};

class Outbox {
 public:
  static Result<std::unique_ptr<Outbox>> Open(OutboxOptions options, const Clock& clock);
  ~Outbox();

  // Validates with the broker's rules at `clock` time and stores. INVALID_ARGUMENT with
  // every violation for a bad form (nothing stored). The same notification again (a
  // retry: SameNotification) is OK with `duplicate` set, and the first one stands, as at
  // the broker, unless the broker refused it: then the broker's refusal (its code,
  // PERMISSION_DENIED or INVALID_ARGUMENT with its violations). Its id with other contents
  // is INVALID_ARGUMENT naming `id`. UNAVAILABLE when it could not be stored, and for good
  // (until a restart) once a write or sync of the outbox's file failed.
  Result<Accepted> Accept(v1::Notification notification);

  // Starts and stops the sender thread. Stop returns after the current attempt.
  void Start();
  void Stop();

  Result<std::optional<Receipt>> GetReceipt(const std::string& id);

  // Called on the sender thread whenever a stored receipt changes.
  void OnReceiptChanged(std::function<void(const Receipt&)> callback);

  int64_t pending() const { return pending_.load(); }
  int64_t sent() const { return sent_.load(); }

 private:
  Outbox(OutboxOptions options, const Clock& clock, std::unique_ptr<Database> db);
  void Run();
  // One round: publish what is pending; false when the broker did not answer.
  bool SendPending(HubClient& client);
  // The answer to `notification` when its id is in the outbox already: a duplicate when it
  // says the same (SameNotification, the same priority), else INVALID_ARGUMENT naming `id`
  // and every rule it breaks; nullopt when the id is new. REQUIRES: mu_ held.
  std::optional<Result<Accepted>> AnswerIfSeen(const v1::Notification& notification);
  void FetchReceipts(HubClient& client);
  Status LoadCounters();
  // After a failed statement: latches failed_ when the file could not be written or
  // synced. REQUIRES: mu_ held.
  void NoteWriteFailure();
  Status Failed() const;  // REQUIRES: mu_ held

  OutboxOptions options_;
  const Clock& clock_;
  std::mutex mu_;  // guards db_ (one connection shared by Accept and the sender)
  std::unique_ptr<Database> db_;
  std::function<void(const Receipt&)> on_receipt_;
  std::string failed_;          // why the file cannot be trusted; guarded by mu_
  int64_t receipts_after_ = 0;  // the last seq the previous receipts round asked about ...
  int64_t fresh_after_ = 0;     // ... and of those never fetched
  bool fresh_turn_ = true;      // with a round of one: whose turn it is
  std::string cannot_send_;     // why sends fail now, as last logged; the sender's thread only
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> sent_{0};
};

}  // namespace dutyhub
