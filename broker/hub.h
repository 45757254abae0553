// The broker's request logic: authorise, validate, route, and either answer from the
// store at once (reads) or hand a write to the writer, which answers after it committed.
//
// Threads: Handle runs on the reactor thread and reads through the reactor's Store;
// a WriteJob runs later on the writer thread against the writer's Store.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "broker/access.h"
#include "broker/clock.h"
#include "broker/config.h"
#include "broker/escalation.h"
#include "broker/ids.h"
#include "broker/store.h"
#include "hub.pb.h"

namespace dutyhub {

// A change to make in the writer's transaction. When `apply` returns a Reply whose status is
// not OK, its changes are rolled back. It may run more than once for one request (the writer
// runs a batch again, each request in a savepoint of its own, when one failed after writing),
// so it changes nothing but the store, or does so the same way each time.
struct WriteJob {
  std::function<v1::Reply(Store&)> apply;
  // Said in the log after the transaction committed (ids only, never a child's details).
  std::string log_line;
  // The engine must take every step due before this is answered (advance-clock): if it
  // cannot, the answer is UNAVAILABLE.
  bool needs_engine = false;
  // The gateway that carried it on a person's behalf: written beside their audit entries.
  std::string via;
  // Run on the reactor's thread with the answer, once the transaction is over, for a
  // refusal only the store could decide (a publish's id used before for other contents).
  std::function<void(const v1::Reply&)> refused;
};

// Start sending this connection the inbox's events (the reactor keeps the subscription).
struct Subscription {
  std::string inbox;
  v1::WatchReply started;                // the answer that starts it
  std::vector<v1::WatchEvent> replayed;  // sent before that answer and any new event
};

using Outcome = std::variant<v1::Reply, WriteJob, Subscription>;

// What the broker reports about itself (`dutyhub admin stats`); any thread.
struct BrokerFigures {
  std::function<int64_t()> write_transactions;
  std::function<int64_t()> writes;
  std::function<int64_t()> publishes;
  std::function<int64_t()> duplicates;
  std::function<v1::Histogram()> commit_latency;
  std::function<v1::Histogram()> time_to_acknowledge;
  std::function<int64_t()> writer_cpu_us;
};

v1::Reply ErrorReply(const Status& status);

class Hub {
 public:
  // `simulated` is the broker's clock when it runs a simulated one, else null.
  // `insecure_dev`: development mode (AccessPolicy lets anyone known run admin commands).
  Hub(std::shared_ptr<const Config> config, const Clock& clock, SimulatedClock* simulated,
      Store& reader, IdSource& ids, const EscalationEngine& engine, bool insecure_dev);

  void set_figures(BrokerFigures figures) { figures_ = std::move(figures); }

  // `principal` is who the transport authenticated (under --insecure-dev, the request's
  // `as`). REQUIRES: called on the reactor thread only. The reply's correlation id is set
  // by the caller.
  Outcome Handle(v1::Request request, const std::string& principal);
  // The id of the notification an item carries; empty when it cannot be read (an event
  // then goes out without it rather than not at all). REQUIRES: reactor thread.
  std::string NotificationIdOf(const std::string& delivery_id);
  // Whose share of the request rate a request spends: the principal's own; a configured
  // gateway's for each person or agency it may act for, apart; and one share for every
  // name the configuration does not know (under --insecure-dev anyone may claim one, and
  // each is refused). Only configured names, so what the rates remember is bounded by the
  // configuration, never by what clients send.
  std::string RateShare(const std::string& principal, const std::string& on_behalf_of) const;

 private:
  // Takes the notification out of `send` rather than copying it.
  Outcome Send(const std::string& principal, v1::SendRequest&& send);
  Outcome Inbox(const std::string& principal, const v1::InboxRequest& request);
  Outcome Show(const std::string& principal, const v1::ShowRequest& request);
  Outcome Ack(const std::string& principal, const v1::AckRequest& request);
  Outcome Transfer(const std::string& principal, const v1::TransferRequest& request);
  Outcome StatusOf(const std::string& principal, const v1::StatusRequest& request);
  Outcome AdvanceClock(const v1::AdvanceClockRequest& request);
  Outcome Watch(const std::string& principal, const v1::WatchRequest& request);
  Outcome Overdue(const std::string& principal, const v1::OverdueRequest& request);
  Outcome Report(const std::string& principal, const v1::ReportRequest& request);
  Outcome Stats(const std::string& principal);
  Outcome AuditVerify(const std::string& principal);
  Outcome AuditAccess(const std::string& principal, const v1::AuditAccessRequest& request);
  Outcome WhoAmI(const std::string& principal);
  Outcome Metrics(const std::string& principal);
  // Counts a refused notification for /metrics: by reason, and each violation by field.
  void CountRejection(const std::string& reason, const Status& status);

  // The item, if it exists and the principal may do `operation` in its inbox.
  Result<v1::Delivery> ItemFor(const std::string& principal, const std::string& delivery_id,
                               Operation operation);

  std::shared_ptr<const Config> config_;
  const Clock& clock_;
  SimulatedClock* simulated_;
  Store& reader_;
  IdSource& ids_;
  const EscalationEngine& engine_;
  AccessPolicy access_;
  BrokerFigures figures_;
  // Since start, for /metrics; reactor thread only. Field paths are a bounded set (the
  // notification's fields, indexes folded to []), never values.
  std::map<std::string, int64_t> rejections_;
  std::map<std::string, int64_t> rejected_fields_;
};

}  // namespace dutyhub
