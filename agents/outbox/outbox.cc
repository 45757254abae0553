#include "agents/outbox/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "broker/sqlite.h"
#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub {
namespace {

// Never edit a shipped schema: add a version.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  seq            INTEGER PRIMARY KEY,
  id             TEXT    NOT NULL UNIQUE,
  accepted_at    INTEGER NOT NULL,
  body           BLOB    NOT NULL,   -- dutyhub.v1.Notification as accepted
  state          TEXT    NOT NULL CHECK (state IN ('PENDING', 'SENT', 'REFUSED')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  refusal        TEXT,               -- the broker's reason, when it refused
  receipt        BLOB,               -- dutyhub.v1.StatusReply, the latest fetched
  receipt_final  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, seq);
PRAGMA user_version = 1;
)sql";

// Version 2: the broker's refusal whole (its code and every violation), so a retry of a
// refused notification is answered with the refusal itself, not "already accepted"; and the
// receipts still to fetch found without reading every notification ever sent. The column
// is added only where it is missing (kVersion2Column): an adapter of version 1 started on
// this file again stamps it version 1 (kSchema), and the next start comes back here.
const char* kVersion2Column =
    "ALTER TABLE outbox ADD COLUMN refused_with BLOB";  // dutyhub.v1.Status, when REFUSED
const char* kVersion2 = R"sql(
CREATE INDEX IF NOT EXISTS outbox_open_receipts ON outbox (seq)
  WHERE state = 'SENT' AND receipt_final = 0;
PRAGMA user_version = 2;
)sql";

// The refusal stored with a notification, as the Status its retry is answered with.
Status RefusalOf(const std::string& id, std::string_view refused_with, const std::string& text) {
  v1::Status wire;
  if (refused_with.empty() ||
      !wire.ParseFromArray(refused_with.data(), static_cast<int>(refused_with.size()))) {
    // Refused before version 2: only "CODE: message" was kept.
    const size_t colon = text.find(": ");
    v1::Status::Code code = v1::Status::INVALID_ARGUMENT;
    if (colon != std::string::npos) v1::Status::Code_Parse(text.substr(0, colon), &code);
    wire.set_code(code);
    wire.set_message(colon == std::string::npos ? text : text.substr(colon + 2));
  }
  const std::string message =
      "the hub refused notification " + id +
      " when it was sent on; sending it again changes nothing: " + wire.message();
  if (wire.code() == v1::Status::PERMISSION_DENIED) return Status::PermissionDenied(message);
  // The rules the hub found broken when it was sent on, field by field (a time-based rule
  // may be judged differently hours after the outbox took it). Without them (refused
  // before version 2) the refusal is named as the notification's whole, never as `id`,
  // which would read as "this id was used before".
  std::vector<Violation> violations;
  for (const auto& v : wire.violations()) violations.push_back({v.field(), v.description()});
  if (violations.empty()) violations.push_back({"notification", message});
  return Status::InvalidArgument(message, std::move(violations));
}

// Every copy acknowledged or transferred away: the receipt will not change again.
bool Final(const v1::StatusReply& status) {
  if (status.deliveries_size() == 0) return false;
  for (const auto& d : status.deliveries()) {
    if (d.state() != v1::ACKNOWLEDGED && d.state() != v1::TRANSFERRED) return false;
  }
  return true;
}

}  // namespace

Outbox::Outbox(OutboxOptions options, const Clock& clock, std::unique_ptr<Database> db)
    : options_(std::move(options)), clock_(clock), db_(std::move(db)) {}

Outbox::~Outbox() { Stop(); }

Result<std::unique_ptr<Outbox>> Outbox::Open(OutboxOptions options, const Clock& clock) {
  auto db = Database::Open(options.path, /*read_only=*/false);
  if (!db.ok()) return db.status();
  // Accepted means on disk, as at the broker: the agency system is told "accepted" only
  // after this file has the notification.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (Status s = (*db)->Exec(pragma); !s.ok()) return s;
  }
  int64_t found = 0;
  {
    auto version = (*db)->Prepare("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if ((*version)->Step() != SQLITE_ROW) return (*db)->Error("reading the outbox's version");
    found = (*version)->Int(0);
  }
  if (found > 2)
    return Status::InvalidArgument("the outbox was written by a newer dutyhub (version " +
                                   std::to_string(found) + "): run that version, or a new file");
  if (found < 1) {
    if (Status s = (*db)->Exec(kSchema); !s.ok()) return s;
  }
  if (found < 2) {
    bool has_column = false;
    {
      auto column = (*db)->Prepare(
          "SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name = 'refused_with'");
      if (!column.ok()) return column.status();
      if ((*column)->Step() != SQLITE_ROW) return (*db)->Error("reading the outbox's columns");
      has_column = (*column)->Int(0) > 0;
    }
    if (Status s = (*db)->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status upgraded = has_column ? Status::Ok() : (*db)->Exec(kVersion2Column);
    if (upgraded.ok()) upgraded = (*db)->Exec(kVersion2);
    if (upgraded.ok()) upgraded = (*db)->Exec("COMMIT");
    if (!upgraded.ok()) {
      (void)(*db)->Exec("ROLLBACK");
      return upgraded;
    }
  }
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(options), clock, std::move(*db)));
  if (Status s = outbox->LoadCounters(); !s.ok()) return s;
  return outbox;
}

Status Outbox::LoadCounters() {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = db_->Prepare("SELECT SUM(state = 'PENDING'), SUM(state = 'SENT') FROM outbox");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("counting the outbox");
  pending_ = (*s)->Int(0);
  sent_ = (*s)->Int(1);
  return Status::Ok();
}

std::optional<Result<Accepted>> Outbox::AnswerIfSeen(const v1::Notification& notification) {
  auto seen = db_->Prepare(
      "SELECT body, accepted_at, state, refusal, refused_with FROM outbox WHERE id = ?");
  if (!seen.ok()) return Result<Accepted>(seen.status());
  (*seen)->Bind(1, notification.id());
  const int rc = (*seen)->Step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return Result<Accepted>(db_->Error("reading the outbox"));
  v1::Notification first;
  const std::string_view bytes = (*seen)->Blob(0);
  // The outbox routes nothing, so a retry's priority is the first one's exactly.
  if (!first.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      (first.priority() == notification.priority() &&
       SameNotification(std::move(first), notification))) {
    // A retry of what the broker refused hears the refusal: "already accepted" would tell
    // the sender (an HL7 engine, a folder's exporter, which have no receipts) that it
    // arrived, when no inbox has it.
    if ((*seen)->Text(2) == "REFUSED") {
      return Result<Accepted>(RefusalOf(
          notification.id(), (*seen)->IsNull(4) ? "" : (*seen)->Blob(4), (*seen)->Text(3)));
    }
    return Result<Accepted>(Accepted{notification.id(), true});
  }
  // Every reason at once, as the broker gives them: the id's, and any rule the form breaks.
  return Result<Accepted>(ReusedIdRefusal(notification.id(),
                                          "accepted at " + FormatTimestamp((*seen)->Int(1)),
                                          Validate(notification, clock_.Now())));
}

void Outbox::NoteWriteFailure() {
  // A failed write or sync leaves what is on disk unknown (STYLE.md: stop confirming,
  // never retry and pretend); a full disk is rolled back cleanly and passes once freed.
  const int rc = sqlite3_extended_errcode(db_->raw()) & 0xff;
  if ((rc == SQLITE_IOERR || rc == SQLITE_CORRUPT) && failed_.empty()) {
    failed_ = sqlite3_errmsg(db_->raw());
    spdlog::critical(
        "the outbox could not write to its disk ({}): nothing more is accepted until the "
        "adapter is restarted, after the disk is checked",
        failed_);
  }
}

Status Outbox::Failed() const {
  return Status::Unavailable("the adapter's outbox could not write to its disk (" + failed_ +
                             "): it accepts nothing until it is restarted; send again later");
}

Result<Accepted> Outbox::Accept(v1::Notification notification) {
  // A retry of what was accepted before is answered as before, even if the rules of the
  // day would now judge it differently: the first one stands, as at the broker. Its id
  // with other contents is no retry, and is refused as the broker refuses it: answered as
  // a duplicate, the second form would be "accepted" and reach no one.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.empty()) return Failed();
    if (auto answered = AnswerIfSeen(notification)) return std::move(*answered);
  }
  if (Status s = CheckNotification(notification, clock_.Now()); !s.ok()) return s;
  std::string body;
  notification.SerializeToString(&body);
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.empty()) return Failed();
  auto s = db_->Prepare(
      "INSERT INTO outbox (id, accepted_at, body, state) VALUES (?, ?, ?, 'PENDING') "
      "ON CONFLICT (id) DO NOTHING");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, notification.id()).Bind(2, clock_.Now()).BindBlob(3, body);
  if ((*s)->Step() != SQLITE_DONE) {
    Status error = db_->Error("storing in the outbox");
    NoteWriteFailure();
    return error;
  }
  if (db_->Changes() == 0) {
    // Another request stored this id while this one was being checked: answered as if it
    // had come after it, same contents or not.
    if (auto answered = AnswerIfSeen(notification)) return std::move(*answered);
    return Status::Internal("the outbox neither stored notification " + notification.id() +
                            " nor holds it");
  }
  ++pending_;
  spdlog::info("accepted notification {} into the outbox", notification.id());
  return Accepted{notification.id(), false};
}

Result<std::optional<Receipt>> Outbox::GetReceipt(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = db_->Prepare("SELECT state, attempts, refusal, receipt FROM outbox WHERE id = ?");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  int rc = (*s)->Step();
  if (rc == SQLITE_DONE) return std::optional<Receipt>();
  if (rc != SQLITE_ROW) return db_->Error("reading a receipt");
  Receipt receipt{id, (*s)->Text(0), static_cast<int>((*s)->Int(1)), (*s)->Text(2), std::nullopt};
  if (!(*s)->IsNull(3)) {
    v1::StatusReply status;
    std::string_view blob = (*s)->Blob(3);
    if (status.ParseFromArray(blob.data(), static_cast<int>(blob.size())))
      receipt.status = std::move(status);
  }
  return std::optional<Receipt>(std::move(receipt));
}

void Outbox::OnReceiptChanged(std::function<void(const Receipt&)> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  on_receipt_ = std::move(callback);
}

void Outbox::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Outbox::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Outbox::Run() {
  HubClient client(options_.broker, options_.insecure_as, options_.keys);
  TimeMs backoff = options_.first_retry;
  auto last_receipts = std::chrono::steady_clock::now() - std::chrono::hours(1);
  auto pause = [this](TimeMs ms) {
    // In short steps, so Stop is never kept waiting for a long backoff.
    for (TimeMs waited = 0; waited < ms && !stop_; waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  while (!stop_) {
    if (!SendPending(client)) {
      pause(backoff);
      backoff = std::min(backoff * 2, options_.longest_retry);
      continue;
    }
    backoff = options_.first_retry;
    if (std::chrono::steady_clock::now() - last_receipts >=
        std::chrono::milliseconds(options_.receipt_interval)) {
      FetchReceipts(client);
      last_receipts = std::chrono::steady_clock::now();
    }
    if (pending_ == 0) pause(20);
  }
}

bool Outbox::SendPending(HubClient& client) {
  std::vector<std::pair<std::string, std::string>> batch;  // (id, body)
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto s =
        db_->Prepare("SELECT id, body FROM outbox WHERE state = 'PENDING' ORDER BY seq LIMIT ?");
    if (!s.ok()) return false;
    (*s)->Bind(1, options_.window);
    while ((*s)->Step() == SQLITE_ROW)
      batch.emplace_back((*s)->Text(0), std::string((*s)->Blob(1)));
  }
  if (batch.empty()) return true;
  const auto timeout = std::chrono::milliseconds(options_.broker_timeout);
  std::map<uint64_t, std::string> waiting;  // correlation id -> notification id
  std::vector<std::pair<std::string, v1::Status>> answers;
  for (const auto& [id, body] : batch) {
    v1::Request request;
    if (!request.mutable_send()->mutable_notification()->ParseFromString(body)) continue;
    if (body.size() > kMaxNotificationBytes) {
      // Taken by an adapter from before the bound (validation.h): the broker's socket would
      // drop it unanswered, and it would be sent again for ever with everything behind it
      // waiting. Refused here, with the rule it breaks, as the broker would have.
      v1::Status too_large;
      too_large.set_code(v1::Status::INVALID_ARGUMENT);
      too_large.set_message("the notification is larger than the hub takes");
      for (const Violation& v : Validate(request.send().notification(), clock_.Now())) {
        auto* out = too_large.add_violations();
        out->set_field(v.field);
        out->set_description(v.description);
      }
      answers.emplace_back(id, std::move(too_large));
      continue;
    }
    Result<uint64_t> correlation = client.Post(std::move(request), timeout);
    if (!correlation.ok()) {
      // No broker, or one that refused this adapter's key: retry the lot later, same ids.
      // Said once while it lasts, not at every retry: the integration engineer needs to know
      // that a key, not the network, is what holds everything up.
      if (correlation.status().message() != cannot_send_) {
        cannot_send_ = correlation.status().message();
        spdlog::error(
            "cannot send to the broker ({}: {}); everything accepted waits in the "
            "outbox and is sent once it can be",
            CodeName(correlation.status().code()), cannot_send_);
      }
      return false;
    }
    if (!cannot_send_.empty()) {
      spdlog::info("the broker takes this adapter's notifications again");
      cannot_send_.clear();
    }
    waiting[*correlation] = id;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool retry = false;
  while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
    auto reply = client.Next(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!reply) break;
    auto it = waiting.find(reply->correlation_id());
    if (it == waiting.end()) continue;  // a late answer to an earlier attempt
    if (reply->status().code() == v1::Status::UNAVAILABLE ||
        reply->status().code() == v1::Status::INTERNAL) {
      retry = true;  // told to come back: it stays pending
    } else {
      answers.emplace_back(it->second, reply->status());
    }
    waiting.erase(it);
  }
  std::vector<std::pair<std::string, v1::Status::Code>> refused;
  int64_t confirmed_now = 0;
  std::unique_lock<std::mutex> lock(mu_);
  // Every statement checked: after an I/O error SQLite may roll the transaction back by
  // itself, and the COMMIT would then fail as "no transaction", not as the disk's fault.
  auto abandon = [this] {
    NoteWriteFailure();
    (void)db_->Exec("ROLLBACK");
    return false;
  };
  if (!db_->Exec("BEGIN IMMEDIATE").ok()) return abandon();
  for (const auto& [id, unused] : batch) {
    auto s = db_->Prepare("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?");
    if (!s.ok()) return abandon();
    (*s)->Bind(1, id);
    if ((*s)->Step() != SQLITE_DONE) return abandon();
  }
  for (const auto& [id, status] : answers) {
    const bool confirmed = status.code() == v1::Status::OK;  // a duplicate is confirmed too
    auto s = db_->Prepare(
        "UPDATE outbox SET state = ?, refusal = ?, refused_with = ? "
        "WHERE id = ? AND state = 'PENDING'");
    if (!s.ok()) return abandon();
    (*s)->Bind(1, confirmed ? "SENT" : "REFUSED").Bind(4, id);
    if (confirmed) {
      (*s)->BindNull(2).BindNull(3);
    } else {
      (*s)->Bind(2, v1::Status::Code_Name(status.code()) + ": " + status.message())
          .BindBlob(3, status.SerializeAsString());
    }
    if ((*s)->Step() != SQLITE_DONE) return abandon();
    if (db_->Changes() == 0) continue;
    if (confirmed) {
      ++confirmed_now;
    } else {
      refused.emplace_back(id, status.code());
    }
  }
  if (!db_->Exec("COMMIT").ok()) return abandon();
  // Counted once the commit holds.
  pending_ -= confirmed_now + static_cast<int64_t>(refused.size());
  sent_ += confirmed_now;
  for (const auto& [id, code] : refused)
    spdlog::error("notification {} refused ({}): its receipt says why", id,
                  v1::Status::Code_Name(code));
  // A refusal is a receipt too: the agency system must hear of it without asking.
  std::function<void(const Receipt&)> callback = on_receipt_;
  lock.unlock();
  for (const auto& [id, unused] : refused) {
    auto receipt = GetReceipt(id);
    if (callback && receipt.ok() && receipt->has_value()) callback(**receipt);
  }
  return !retry && waiting.empty();
}

void Outbox::FetchReceipts(HubClient& client) {
  std::vector<std::pair<std::string, std::string>> unfinished;  // (id, receipt as stored)
  {
    // Two halves, each going round in turn from where it stopped (starting again from the
    // oldest once past the newest): those never fetched yet, so a notification's first
    // receipt (where it went) follows its SENT within a round or so however many are open;
    // and every open one, so notifications nobody has acknowledged for weeks, or ones the
    // broker no longer answers for (a store restored from an older backup), never keep
    // another's receipt from being fetched. A round of one takes the halves in turn.
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> taken_ids;
    auto take = [&](const char* sql, int64_t& after, int room) {
      auto s = db_->Prepare(sql);
      if (!s.ok() || room <= 0) return;
      (*s)->Bind(1, after).Bind(2, room);
      int64_t last = 0;
      int taken = 0;
      while ((*s)->Step() == SQLITE_ROW) {
        last = (*s)->Int(2);
        ++taken;
        if (taken_ids.insert((*s)->Text(0)).second)
          unfinished.emplace_back((*s)->Text(0), (*s)->IsNull(1) ? "" : std::string((*s)->Blob(1)));
      }
      after = taken < room ? 0 : last;
    };
    const int round = options_.receipts_per_round;
    const int fresh_room = round > 1 ? round / 2 : (fresh_turn_ ? 1 : 0);
    fresh_turn_ = !fresh_turn_;
    take(
        "SELECT id, receipt, seq FROM outbox WHERE state = 'SENT' AND receipt_final = 0 "
        "AND receipt IS NULL AND seq > ? ORDER BY seq LIMIT ?",
        fresh_after_, fresh_room);
    take(
        "SELECT id, receipt, seq FROM outbox WHERE state = 'SENT' AND receipt_final = 0 "
        "AND seq > ? ORDER BY seq LIMIT ?",
        receipts_after_, round - static_cast<int>(unfinished.size()));
  }
  const auto timeout = std::chrono::milliseconds(options_.broker_timeout);
  std::map<uint64_t, size_t> waiting;
  for (size_t i = 0; i < unfinished.size(); ++i) {
    v1::Request request;
    request.mutable_status()->set_notification_id(unfinished[i].first);
    Result<uint64_t> correlation = client.Post(std::move(request), timeout);
    if (!correlation.ok()) return;
    waiting[*correlation] = i;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
    auto reply = client.Next(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!reply) return;
    auto it = waiting.find(reply->correlation_id());
    if (it == waiting.end()) continue;  // a late answer to an earlier round
    const auto& [id, before] = unfinished[it->second];
    waiting.erase(it);
    // Answered, if with an error (the broker has no such notification): nothing to keep,
    // and no reason to wait out the round's timeout for it.
    if (!reply->has_status_reply()) continue;
    std::string now = reply->status_reply().SerializeAsString();
    if (now == before) continue;
    std::function<void(const Receipt&)> callback;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto s = db_->Prepare("UPDATE outbox SET receipt = ?, receipt_final = ? WHERE id = ?");
      if (!s.ok()) continue;
      (*s)->BindBlob(1, now).Bind(2, Final(reply->status_reply()) ? 1 : 0).Bind(3, id);
      if ((*s)->Step() != SQLITE_DONE) {
        NoteWriteFailure();
        continue;
      }
      callback = on_receipt_;
    }
    if (!callback) continue;
    auto receipt = GetReceipt(id);
    if (receipt.ok() && receipt->has_value()) callback(**receipt);
  }
}

}  // namespace dutyhub
