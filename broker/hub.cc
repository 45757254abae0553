#include "broker/hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "broker/routing.h"
#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub {
namespace {

constexpr size_t kMaxNoteLength = 4000;

v1::Reply OkReply() {
  v1::Reply reply;
  reply.mutable_status()->set_code(v1::Status::OK);
  return reply;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// Notes and reasons are free text from a person: required, bounded, and never logged.
Status CheckText(const std::string& field, const std::string& text, const char* what) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument(field + " is required", {{field, std::string("say ") + what}});
  }
  if (text.size() > kMaxNoteLength) {
    return Status::InvalidArgument(field + " is too long",
                                   {{field, "keep it to " + std::to_string(kMaxNoteLength) +
                                                " characters; put the detail in the case record"}});
  }
  return Status::Ok();
}

// The notification's id for the log, only once it is known to be a UUID: a malformed id
// field could hold anything, including a child's name.
std::string LoggableId(const std::string& id) {
  if (id.size() != 36) return "(malformed id)";
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) {
      return "(malformed id)";
    }
  }
  return id;
}

// The operation a request asks for, for what a gateway may ask on someone's behalf; null
// for what anyone may ask (ping, who am I).
std::optional<Operation> OperationOf(v1::Request::BodyCase body) {
  switch (body) {
    case v1::Request::kSend:
      return Operation::kSend;
    case v1::Request::kInbox:
      return Operation::kListInbox;
    case v1::Request::kShow:
      return Operation::kOpen;
    case v1::Request::kAck:
      return Operation::kAcknowledge;
    case v1::Request::kTransfer:
      return Operation::kTransfer;
    case v1::Request::kStatus:
      return Operation::kStatus;
    case v1::Request::kWatch:
      return Operation::kWatch;
    case v1::Request::kOverdue:
      return Operation::kOverdue;
    case v1::Request::kReport:
      return Operation::kReport;
    case v1::Request::kAuditAccess:
      return Operation::kAuditAccess;
    case v1::Request::kMetrics:
      return Operation::kMetrics;
    case v1::Request::kPing:
    case v1::Request::kWhoAmI:
      return std::nullopt;
    default:
      return Operation::kAdmin;  // admin time, advance-clock, stats, audit verify, and anything new
  }
}

}  // namespace

v1::Reply ErrorReply(const Status& status) {
  v1::Reply reply;
  reply.mutable_status()->set_code(static_cast<v1::Status::Code>(status.code()));
  reply.mutable_status()->set_message(status.message());
  for (const Violation& v : status.violations()) {
    v1::Violation* out = reply.mutable_status()->add_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  return reply;
}

Hub::Hub(std::shared_ptr<const Config> config, const Clock& clock, SimulatedClock* simulated,
         Store& reader, IdSource& ids, const EscalationEngine& engine, bool insecure_dev)
    : config_(std::move(config)),
      clock_(clock),
      simulated_(simulated),
      reader_(reader),
      ids_(ids),
      engine_(engine),
      access_(*config_, insecure_dev) {}

Outcome Hub::Handle(v1::Request request, const std::string& principal) {
  if (request.body_case() == v1::Request::kPing) {
    v1::Reply reply = OkReply();
    reply.mutable_ping()->set_now_ms(clock_.Now());
    return reply;
  }
  if (request.body_case() == v1::Request::BODY_NOT_SET) {
    return ErrorReply(Status::InvalidArgument(
        "the request names no operation: is the client older or newer than the broker?"));
  }
  if (Status s = access_.Known(principal); !s.ok()) return ErrorReply(s);
  if (!request.on_behalf_of().empty()) {
    auto acting = access_.Acting(principal, request.on_behalf_of());
    if (!acting.ok()) return ErrorReply(acting.status());
    if (auto operation = OperationOf(request.body_case())) {
      if (Status s = access_.ThroughGateway(*acting, *operation); !s.ok()) return ErrorReply(s);
    }
    request.clear_on_behalf_of();
    Outcome outcome = Handle(std::move(request), *acting);
    if (auto* job = std::get_if<WriteJob>(&outcome)) {
      job->via = principal;
      job->log_line += " via " + principal;
    }
    return outcome;
  }
  switch (request.body_case()) {
    case v1::Request::kSend:
      return Send(principal, std::move(*request.mutable_send()));
    case v1::Request::kInbox:
      return Inbox(principal, request.inbox());
    case v1::Request::kShow:
      return Show(principal, request.show());
    case v1::Request::kAck:
      return Ack(principal, request.ack());
    case v1::Request::kTransfer:
      return Transfer(principal, request.transfer());
    case v1::Request::kStatus:
      return StatusOf(principal, request.status());
    case v1::Request::kAdminTime: {
      if (Status s = access_.Decide(principal, Operation::kAdmin, {}); !s.ok())
        return ErrorReply(s);
      v1::Reply reply = OkReply();
      reply.mutable_time()->set_now_ms(clock_.Now());
      return reply;
    }
    case v1::Request::kAdvanceClock:
      if (Status s = access_.Decide(principal, Operation::kAdmin, {}); !s.ok())
        return ErrorReply(s);
      return AdvanceClock(request.advance_clock());
    case v1::Request::kAuditVerify:
      return AuditVerify(principal);
    case v1::Request::kAuditAccess:
      return AuditAccess(principal, request.audit_access());
    case v1::Request::kWatch:
      return Watch(principal, request.watch());
    case v1::Request::kOverdue:
      return Overdue(principal, request.overdue());
    case v1::Request::kReport:
      return Report(principal, request.report());
    case v1::Request::kStats:
      return Stats(principal);
    case v1::Request::kWhoAmI:
      return WhoAmI(principal);
    case v1::Request::kMetrics:
      return Metrics(principal);
    default:
      return ErrorReply(Status::InvalidArgument("unknown operation"));
  }
}

Outcome Hub::Send(const std::string& principal, v1::SendRequest&& send) {
  if (Status s = access_.Decide(principal, Operation::kSend, {}); !s.ok()) {
    CountRejection("not_permitted", s);
    return ErrorReply(s);
  }
  v1::Notification notification;
  const TimeMs now = clock_.Now();
  if (send.payload_case() == v1::SendRequest::kNotificationJson) {
    Result<v1::Notification> parsed = ParseNotificationJson(send.notification_json(), now);
    if (!parsed.ok()) {
      // Readable JSON with fields in the wrong shape names them (and every other broken rule).
      CountRejection(parsed.status().violations().empty() ? "unreadable" : "invalid",
                     parsed.status());
      return ErrorReply(parsed.status());
    }
    notification = std::move(*parsed);
  } else if (send.payload_case() == v1::SendRequest::kNotification) {
    notification = std::move(*send.mutable_notification());
  } else {
    return ErrorReply(Status::InvalidArgument(
        "the send request carries no notification: set `notification` (protobuf) or "
        "`notification_json` (the notifications.md form)",
        {{"notification", "Required: the notification, as protobuf or as JSON."}}));
  }
  // Validate before the type check: a form whose type contradicts its body has no
  // trustworthy type to authorise, and its sender needs every violation to fix it.
  if (Status s = CheckNotification(notification, now); !s.ok()) {
    spdlog::info("rejected notification {} from {}: {} violation(s)", LoggableId(notification.id()),
                 principal, s.violations().size());
    CountRejection("invalid", s);
    return ErrorReply(s);
  }
  if (Status s = access_.Decide(principal, Operation::kSend, Target{notification.type()});
      !s.ok()) {
    spdlog::info("refused notification {} from {}: may not send {}", notification.id(), principal,
                 v1::Notification::Type_Name(notification.type()));
    CountRejection("not_permitted", s);
    return ErrorReply(s);
  }
  Normalize(notification);
  const v1::Notification::Priority as_sent = notification.priority();
  RoutePlan plan = Route(*config_, notification, now);
  notification.set_priority(plan.priority);
  std::vector<NewDelivery> deliveries;
  for (const std::string& inbox : plan.inboxes) {
    Result<NewDelivery> item = engine_.NewItem(inbox, plan.priority, notification, now);
    if (!item.ok()) return ErrorReply(item.status());
    deliveries.push_back(std::move(*item));
  }
  std::string log_line = "accepted notification " + notification.id() + " from " + principal +
                         ": " + v1::Notification::Priority_Name(plan.priority) + " to " +
                         Joined(plan.inboxes);
  if (!plan.unknown_inboxes.empty()) {
    log_line += " (no inbox for " + Joined(plan.unknown_templates) + ": fallback used)";
  }
  std::string body;
  if (!notification.SerializeToString(&body)) {
    return ErrorReply(Status::Internal("the notification could not be serialized for the store"));
  }
  WriteJob job;
  job.log_line = std::move(log_line);
  job.refused = [this, principal, id = LoggableId(notification.id())](const v1::Reply& reply) {
    if (reply.status().code() != v1::Status::INVALID_ARGUMENT) return;
    spdlog::info("refused notification {} from {}: its id was used before for other contents", id,
                 principal);
    ++rejections_["id_reused"];
    ++rejected_fields_["id"];
  };
  job.apply = [principal, notification = std::move(notification), body = std::move(body), now,
               deliveries = std::move(deliveries), as_sent](Store& store) -> v1::Reply {
    auto existing = store.PublishOnce(principal, notification, body, now, deliveries, as_sent);
    if (!existing.ok()) return ErrorReply(existing.status());
    v1::Reply reply = OkReply();
    if (existing->has_value()) {  // a retry: the first answer, and nothing stored again
      *reply.mutable_send() = std::move(**existing);
      reply.mutable_send()->set_duplicate(true);
      return reply;
    }
    v1::SendReply* out = reply.mutable_send();
    out->set_id(notification.id());
    out->set_priority(notification.priority());
    for (const NewDelivery& d : deliveries) {
      v1::Delivery* item = out->add_deliveries();
      item->set_delivery_id(d.delivery_id);
      item->set_inbox(d.inbox);
      item->set_due_at_ms(d.due_at);
    }
    return reply;
  };
  return job;
}

Outcome Hub::Inbox(const std::string& principal, const v1::InboxRequest& request) {
  if (config_->FindInbox(request.inbox()) == nullptr) {
    return ErrorReply(Status::NotFound("no inbox '" + request.inbox() + "' is configured"));
  }
  if (Status s = access_.Decide(principal, Operation::kListInbox, {.inbox = request.inbox()});
      !s.ok()) {
    return ErrorReply(s);
  }
  bool truncated = false;
  auto items = reader_.ListInbox(request.inbox(), request.all(), &truncated);
  if (!items.ok()) return ErrorReply(items.status());
  v1::Reply reply = OkReply();
  reply.mutable_inbox()->set_inbox(request.inbox());
  reply.mutable_inbox()->set_truncated(truncated);
  for (auto& item : *items) *reply.mutable_inbox()->add_items() = std::move(item);
  return reply;
}

std::string Hub::RateShare(const std::string& principal, const std::string& on_behalf_of) const {
  if (!access_.Known(principal).ok()) return "";
  if (on_behalf_of.empty() || !access_.Acting(principal, on_behalf_of).ok()) return principal;
  return principal + "/" + on_behalf_of;
}

std::string Hub::NotificationIdOf(const std::string& delivery_id) {
  auto item = reader_.GetDeliveryBrief(delivery_id);
  return item.ok() ? item->notification_id() : std::string();
}

Result<v1::Delivery> Hub::ItemFor(const std::string& principal, const std::string& delivery_id,
                                  Operation operation) {
  if (delivery_id.empty()) {
    return Status::InvalidArgument("a delivery id is required",
                                   {{"delivery_id", "give the item's delivery id"}});
  }
  auto item = reader_.GetDeliveryBrief(delivery_id);
  if (!item.ok()) return item.status();
  if (Status s = access_.Decide(principal, operation, {.inbox = item->inbox()}); !s.ok()) return s;
  return item;
}

Outcome Hub::Show(const std::string& principal, const v1::ShowRequest& request) {
  auto item = ItemFor(principal, request.delivery_id(), Operation::kOpen);
  if (!item.ok()) return ErrorReply(item.status());
  const TimeMs now = clock_.Now();
  WriteJob job;
  job.log_line = "delivery " + request.delivery_id() + " opened by " + principal;
  job.apply = [id = request.delivery_id(), principal, now](Store& store) -> v1::Reply {
    // Opening is recorded before the content is handed over: every access leaves a trace.
    if (Status s = store.RecordOpened(id, principal, now); !s.ok()) return ErrorReply(s);
    auto delivery = store.GetDelivery(id);
    auto body = store.GetNotificationBody(id);
    auto history = store.History(id);
    if (!delivery.ok()) return ErrorReply(delivery.status());
    if (!body.ok()) return ErrorReply(body.status());
    if (!history.ok()) return ErrorReply(history.status());
    v1::Reply reply = OkReply();
    v1::ShowReply* show = reply.mutable_show();
    *show->mutable_delivery() = std::move(*delivery);
    *show->mutable_notification() = std::move(*body);
    for (auto& entry : *history) *show->add_history() = std::move(entry);
    return reply;
  };
  return job;
}

Outcome Hub::Ack(const std::string& principal, const v1::AckRequest& request) {
  if (request.delivery_id().empty()) {
    return ErrorReply(Status::InvalidArgument("a delivery id is required",
                                              {{"delivery_id", "give the item's delivery id"}}));
  }
  const TimeMs now = clock_.Now();
  WriteJob job;
  job.log_line = "delivery " + request.delivery_id() + " acknowledged by " + principal;
  // Who may acknowledge is decided by the writer, on the row it is about to change: the
  // reactor reading the item first as well spent over half of its time per acknowledgement
  // on that read (every commit empties its connection's cache). The policy is a pure
  // function of the configuration; the hub holding it outlives the writer (main.cc).
  job.apply = [access = &access_, request, principal, now](Store& store) -> v1::Reply {
    // Refused before anything else is said about the request, the note included.
    auto may_act = [&](const std::string& inbox) {
      if (Status s = access->Decide(principal, Operation::kAcknowledge, {.inbox = inbox}); !s.ok())
        return s;
      return CheckText("note", request.note(), "what you will do about it");
    };
    auto ack = store.Acknowledge(request.delivery_id(), principal, request.note(), now, may_act);
    if (!ack.ok()) return ErrorReply(ack.status());
    v1::Reply reply = OkReply();
    *reply.mutable_ack() = std::move(*ack);
    return reply;
  };
  return job;
}

Outcome Hub::Transfer(const std::string& principal, const v1::TransferRequest& request) {
  auto item = ItemFor(principal, request.delivery_id(), Operation::kTransfer);
  if (!item.ok()) return ErrorReply(item.status());
  if (!item->escalated_from().empty()) {
    // Transferring a copy would start a fresh ladder and silence the overdue original.
    return ErrorReply(Status::InvalidArgument(
        "this is an escalated copy of an item in " + item->escalated_from() +
            ": acknowledge it, or transfer the original there",
        {{"delivery_id", "give the original item's delivery id"}}));
  }
  if (config_->FindInbox(request.to_inbox()) == nullptr) {
    return ErrorReply(Status::NotFound("no inbox '" + request.to_inbox() + "' is configured"));
  }
  if (request.to_inbox() == item->inbox()) {
    return ErrorReply(
        Status::InvalidArgument("the item is already in " + request.to_inbox(),
                                {{"to", "name the inbox that should act on it instead"}}));
  }
  if (Status s = CheckText("reason", request.reason(), "why it is for them, not you"); !s.ok()) {
    return ErrorReply(s);
  }
  const TimeMs now = clock_.Now();
  auto body = reader_.GetNotificationBody(request.delivery_id());
  if (!body.ok()) return ErrorReply(body.status());
  // The clock starts afresh in the new inbox (northshire.md), by its own office hours, and
  // so does the ladder.
  Result<NewDelivery> moved_to = engine_.NewItem(request.to_inbox(), item->priority(), *body, now);
  if (!moved_to.ok()) return ErrorReply(moved_to.status());
  NewDelivery to = std::move(*moved_to);
  WriteJob job;
  job.log_line = "delivery " + request.delivery_id() + " transferred by " + principal + " to " +
                 to.inbox + " as " + to.delivery_id;
  job.apply = [request, principal, now, to](Store& store) -> v1::Reply {
    auto moved = store.Transfer(request.delivery_id(), principal, request.reason(), now, to);
    if (!moved.ok()) return ErrorReply(moved.status());
    v1::Reply reply = OkReply();
    *reply.mutable_transfer() = std::move(*moved);
    return reply;
  };
  return job;
}

Outcome Hub::StatusOf(const std::string& principal, const v1::StatusRequest& request) {
  auto found = reader_.FindNotifications(request.notification_id());
  if (!found.ok()) return ErrorReply(found.status());
  Status refusal = Status::NotFound("no notification " + request.notification_id());
  for (const NotificationRecord& record : *found) {
    auto deliveries = reader_.DeliveriesOf(record.seq);
    if (!deliveries.ok()) return ErrorReply(deliveries.status());
    // Another agency's notification with the same id is none of this agency's business:
    // answer as if it did not exist.
    if (config_->FindAgency(principal) && principal != record.agency) continue;
    Target target{.sender = record.agency};
    for (const v1::Delivery& d : *deliveries) target.delivered_to.push_back(d.inbox());
    if (Status s = access_.Decide(principal, Operation::kStatus, target); !s.ok()) {
      refusal = s;
      continue;
    }
    v1::Reply reply = OkReply();
    v1::StatusReply* status = reply.mutable_status_reply();
    status->set_id(record.id);
    status->set_from(record.agency);
    status->set_received_at_ms(record.received_at);
    status->set_priority(record.priority);
    // The sender hears where all of it went. A manager reads what is in the inboxes they
    // manage or belong to (northshire.md: "Nobody else sees a thing"): not who opened or
    // acknowledged the copies in other teams' inboxes, nor their notes.
    const bool sender = principal == record.agency;
    for (auto& d : *deliveries) {
      if (sender || config_->MayActOn(principal, d.inbox()))
        *status->add_deliveries() = std::move(d);
    }
    return reply;
  }
  return ErrorReply(refusal);
}

Outcome Hub::AdvanceClock(const v1::AdvanceClockRequest& request) {
  if (simulated_ == nullptr) {
    return ErrorReply(Status::InvalidArgument(
        "the broker runs on the real clock: start it with --simulated-clock to move time"));
  }
  constexpr TimeMs kLongestMove = 10LL * 366 * kDayMs;
  if (request.by_ms() <= 0 || request.by_ms() > kLongestMove) {
    // Bounded, so that no deadline computed from the new time can overflow.
    return ErrorReply(
        Status::InvalidArgument("time only moves forward, by ten years at most",
                                {{"duration", "give a positive duration such as 15m"}}));
  }
  // The clock moves on the writer thread, between requests; the engine then takes every
  // step due up to the new time in the same transaction, before this is answered.
  WriteJob job;
  job.log_line = "simulated clock advanced by " + std::to_string(request.by_ms()) + " ms";
  job.needs_engine = true;
  // `apply` may run twice (the writer runs a batch again when a request in it fails after
  // writing): the time to move to is fixed at the first run, so the clock moves once.
  job.apply = [clock = simulated_, by = request.by_ms(),
               to = std::make_shared<std::optional<TimeMs>>()](Store&) -> v1::Reply {
    if (!to->has_value()) *to = clock->Now() + by;
    clock->Set(**to);
    v1::Reply reply = OkReply();
    reply.mutable_time()->set_now_ms(clock->Now());
    return reply;
  };
  return job;
}

Outcome Hub::Watch(const std::string& principal, const v1::WatchRequest& request) {
  if (config_->FindInbox(request.inbox()) == nullptr) {
    return ErrorReply(Status::NotFound("no inbox '" + request.inbox() + "' is configured"));
  }
  if (Status s = access_.Decide(principal, Operation::kWatch, {.inbox = request.inbox()});
      !s.ok()) {
    return ErrorReply(s);
  }
  // A watcher picking up again gets what it missed from the audit (a paging script must not
  // lose the escalations a restarted broker takes before it subscribes again), within a
  // window of the audit's entries, so that one long gone does not hold up the reactor.
  constexpr int64_t kMostReplayed = 10'000;
  // And at most this many of them sent again: well under the socket's queue of 1,000
  // replies to one connection, past which ZeroMQ would drop them without a word.
  constexpr size_t kMostResent = 500;
  if (request.after_seq() < 0) {
    return ErrorReply(Status::InvalidArgument(
        "after_seq is negative", {{"after_seq", "give the seq of the last event seen, or 0"}}));
  }
  auto head = reader_.LastEventSeq();
  if (!head.ok()) return ErrorReply(head.status());
  Subscription subscription{request.inbox(), {}, {}};
  subscription.started.set_seq(*head);
  if (request.resume() && request.after_seq() < *head) {
    if (*head - request.after_seq() > kMostReplayed) {
      subscription.started.set_missed(true);
    } else {
      auto events = reader_.InboxEventsBetween(request.inbox(), request.after_seq(), *head);
      if (!events.ok()) return ErrorReply(events.status());
      if (events->size() > kMostResent) {
        subscription.started.set_missed(true);
      } else {
        subscription.replayed = std::move(*events);
      }
    }
  } else if (request.resume() && request.after_seq() > *head) {
    // The audit is behind what the watcher saw: the store was restored from a backup.
    subscription.started.set_missed(true);
  }
  subscription.started.set_replayed(static_cast<int32_t>(subscription.replayed.size()));
  return subscription;
}

Outcome Hub::Overdue(const std::string& principal, const v1::OverdueRequest& request) {
  auto inboxes = access_.ManagedInboxes(principal, request.inbox());
  if (!inboxes.ok()) return ErrorReply(inboxes.status());
  const TimeMs now = clock_.Now();
  v1::Reply reply = OkReply();
  v1::OverdueReply* out = reply.mutable_overdue();
  out->set_now_ms(now);
  // A copy escalated or handed over into an inbox listed here is the same duty as its root:
  // listed once, as the root when the root's inbox is listed too, otherwise as its first copy
  // listed (so the EDS's manager sees what waits in the EDS from inboxes she does not
  // manage). Routing reaches an inbox once, so a root is known by its notification and inbox.
  const std::set<std::string> listed(inboxes->begin(), inboxes->end());
  std::set<std::pair<std::string, std::string>> copies_listed;
  for (const std::string& inbox : *inboxes) {
    auto items = reader_.Overdue(inbox, now);
    if (!items.ok()) return ErrorReply(items.status());
    for (auto& item : *items) {
      if (!item.escalated_from().empty() &&
          (listed.contains(item.escalated_from()) ||
           !copies_listed.emplace(item.notification_id(), item.escalated_from()).second))
        continue;
      *out->add_items() = std::move(item);
    }
  }
  std::stable_sort(
      out->mutable_items()->begin(), out->mutable_items()->end(),
      [](const v1::Delivery& a, const v1::Delivery& b) { return a.due_at_ms() < b.due_at_ms(); });
  return reply;
}

Outcome Hub::Report(const std::string& principal, const v1::ReportRequest& request) {
  auto inboxes = access_.ManagedInboxes(principal, request.inbox());
  if (!inboxes.ok()) return ErrorReply(inboxes.status());
  // Days are the partnership's local days: a report "for 24 November" means London's.
  const OfficeHours& local = *config_->inboxes.begin()->second.office_hours;
  auto day_start = [&](const std::string& text, const char* field,
                       int64_t add_days) -> Result<TimeMs> {
    std::optional<int64_t> day = ParseDate(text);
    if (!day) {
      return Status::InvalidArgument(std::string(field) + " is not a date",
                                     {{field, "give a date as YYYY-MM-DD"}});
    }
    return local.LocalMidnight(*day + add_days);
  };
  TimeMs from = 0;
  TimeMs to = clock_.Now() + 1;
  if (!request.from_date().empty()) {
    auto t = day_start(request.from_date(), "from", 0);
    if (!t.ok()) return ErrorReply(t.status());
    from = *t;
  }
  if (!request.to_date().empty()) {
    auto t = day_start(request.to_date(), "to", 1);
    if (!t.ok()) return ErrorReply(t.status());
    to = *t;
  }
  if (from >= to) {
    return ErrorReply(Status::InvalidArgument(
        "the report's period is empty", {{"from", "give a first day on or before the last"}}));
  }
  v1::Reply reply = OkReply();
  v1::ReportReply* out = reply.mutable_report();
  out->set_from_ms(from);
  out->set_to_ms(to);
  int levels = 0;
  for (const auto& [priority, policy] : config_->escalation) {
    levels = std::max(levels, static_cast<int>(policy.levels.size()));
  }
  for (const std::string& inbox : *inboxes) {
    auto report = reader_.Report(inbox, from, to, levels, clock_.Now());
    if (!report.ok()) return ErrorReply(report.status());
    *out->add_inboxes() = std::move(*report);
  }
  return reply;
}

Outcome Hub::Stats(const std::string& principal) {
  if (Status s = access_.Decide(principal, Operation::kAdmin, {}); !s.ok()) return ErrorReply(s);
  v1::Reply reply = OkReply();
  v1::StatsReply* stats = reply.mutable_stats();
  stats->set_now_ms(clock_.Now());
  auto outstanding = reader_.CountOutstanding();
  if (!outstanding.ok()) return ErrorReply(outstanding.status());
  stats->set_outstanding(*outstanding);
  stats->set_escalation_steps(engine_.steps());
  stats->set_engine_lag_ms(engine_.lag_ms());
  if (figures_.write_transactions) stats->set_write_transactions(figures_.write_transactions());
  if (figures_.writes) stats->set_writes(figures_.writes());
  if (figures_.writer_cpu_us) stats->set_writer_cpu_us(figures_.writer_cpu_us());
  return reply;
}

Outcome Hub::AuditVerify(const std::string& principal) {
  if (Status s = access_.Decide(principal, Operation::kAdmin, {}); !s.ok()) return ErrorReply(s);
  auto check = reader_.VerifyAudit();
  if (!check.ok()) return ErrorReply(check.status());
  v1::Reply reply = OkReply();
  *reply.mutable_audit_verify() = std::move(*check);
  return reply;
}

Outcome Hub::AuditAccess(const std::string& principal, const v1::AuditAccessRequest& request) {
  auto inboxes = access_.ManagedInboxes(principal, "");
  if (!inboxes.ok()) return ErrorReply(inboxes.status());
  const std::string nhs_number = NormalizeNhsNumber(request.nhs_number());
  if (!IsValidNhsNumber(nhs_number)) {
    return ErrorReply(Status::InvalidArgument(
        "not an NHS number", {{"nhs_number", "give the child's 10-digit NHS number"}}));
  }
  auto accesses = reader_.AccessLog(nhs_number);
  if (!accesses.ok()) return ErrorReply(accesses.status());
  v1::Reply reply = OkReply();
  const std::set<std::string> managed(inboxes->begin(), inboxes->end());
  for (auto& access : *accesses) {
    if (managed.count(access.inbox()))
      *reply.mutable_audit_access()->add_accesses() = std::move(access);
  }
  return reply;
}

void Hub::CountRejection(const std::string& reason, const Status& status) {
  ++rejections_[reason];
  for (const Violation& v : status.violations()) ++rejected_fields_[FormFieldLabel(v.field)];
}

Outcome Hub::WhoAmI(const std::string& principal) {
  v1::Reply reply = OkReply();
  v1::WhoAmIReply* me = reply.mutable_who_am_i();
  me->set_principal(principal);
  me->set_partnership(config_->partnership);
  if (const User* user = config_->FindUser(principal)) {
    me->set_kind(v1::WhoAmIReply::PERSON);
    me->set_role(user->role);
    for (const std::string& inbox : user->member_of) me->add_member_of(inbox);
    for (const std::string& inbox : user->manages) me->add_manages(inbox);
    me->set_admin(user->admin);
  } else if (const Agency* agency = config_->FindAgency(principal)) {
    me->set_kind(v1::WhoAmIReply::AGENCY);
    me->set_role(agency->name);
  } else if (const Gateway* gateway = config_->FindGateway(principal)) {
    me->set_kind(v1::WhoAmIReply::GATEWAY);
    me->set_role(gateway->name);
  }
  for (const auto& entry : config_->inboxes) me->add_inboxes(entry.first);
  return reply;
}

Outcome Hub::Metrics(const std::string& principal) {
  if (Status s = access_.Decide(principal, Operation::kMetrics, {}); !s.ok()) return ErrorReply(s);
  v1::Reply reply = OkReply();
  v1::MetricsReply* out = reply.mutable_metrics();
  out->set_now_ms(clock_.Now());
  std::vector<std::string> inboxes;
  for (const auto& entry : config_->inboxes) inboxes.push_back(entry.first);
  if (Status s = reader_.FillMetrics(inboxes, *out); !s.ok()) return ErrorReply(s);
  if (figures_.time_to_acknowledge)
    *out->mutable_time_to_acknowledge() = figures_.time_to_acknowledge();
  if (figures_.publishes) out->set_publishes(figures_.publishes());
  if (figures_.duplicates) out->set_duplicates(figures_.duplicates());
  if (figures_.write_transactions) out->set_write_transactions(figures_.write_transactions());
  if (figures_.commit_latency) *out->mutable_commit_latency() = figures_.commit_latency();
  for (const auto& [label, count] : rejections_) {
    auto* c = out->add_rejections();
    c->set_label(label);
    c->set_count(count);
  }
  for (const auto& [label, count] : rejected_fields_) {
    auto* c = out->add_rejected_fields();
    c->set_label(label);
    c->set_count(count);
  }
  out->set_escalations(engine_.steps());
  out->set_engine_lag_ms(engine_.lag_ms());
  return reply;
}

}  // namespace dutyhub
