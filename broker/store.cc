#include "broker/store.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <charconv>
#include <memory>
#include <string_view>

#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub {

namespace {

// SHA-256 by OpenSSL's libcrypto, which uses the CPU's SHA instructions (measured: 0.3 us
// for an event's 200 bytes against libsodium's 0.9 us; an acknowledgement records one event,
// and building and hashing its text was about 7% of the writer's time per acknowledgement).
// Should libcrypto ever refuse (it allocates one context per thread), libsodium computes
// the same digest.
std::string Sha256(std::string_view text) {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                               &EVP_MD_CTX_free);
  unsigned char digest[crypto_hash_sha256_BYTES];
  unsigned int size = 0;
  const bool hashed = kSha256 != nullptr && context != nullptr &&
                      EVP_DigestInit_ex(context.get(), kSha256, nullptr) == 1 &&
                      EVP_DigestUpdate(context.get(), text.data(), text.size()) == 1 &&
                      EVP_DigestFinal_ex(context.get(), digest, &size) == 1 &&
                      size == sizeof digest;
  if (!hashed)
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

}  // namespace

std::string AuditHash(const std::string& previous, int64_t seq, const std::string& delivery_id,
                      TimeMs at, int event, const std::string& by, const std::string& inbox,
                      const std::string& note, const std::string& via) {
  // Every field length-prefixed ("<length>:<value>;"), so no two different rows hash the same
  // text (AuditHashTest pins it: stores written by every earlier broker verify against it).
  // Written into one buffer per thread, kept between calls: building the text a string per
  // field was about a quarter of the hash's cost, most of it allocations. (Measured whole:
  // 0.27-0.29 us per event against 0.98-1.04 us before.)
  thread_local std::string text;
  text.clear();
  auto field = [&](std::string_view value) {
    char length[24];
    const char* end = std::to_chars(length, length + sizeof length, value.size()).ptr;
    text.append(length, static_cast<size_t>(end - length))
        .append(1, ':')
        .append(value)
        .append(1, ';');
  };
  auto number = [&](int64_t value) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    field(std::string_view(digits, static_cast<size_t>(end - digits)));
  };
  field(previous);
  number(seq);
  field(delivery_id);
  number(at);
  number(event);
  field(by);
  field(inbox);
  field(note);
  // Only when set, so every row written before there was a `via` hashes as it did.
  if (!via.empty()) field(via);
  return Sha256(text);
}

namespace {

// The schema, one migration per version. Never edit a shipped migration: add the next.
// Times are milliseconds since the epoch, UTC. `next_deadline` is the one next deadline
// of an outstanding item (DESIGN.md promise 5); NULL once acknowledged or transferred.
const std::array<const char*, 6> kMigrations = {
    R"sql(
CREATE TABLE notifications (
  seq          INTEGER PRIMARY KEY,
  agency       TEXT    NOT NULL,   -- as authenticated, never from the payload
  id           TEXT    NOT NULL,
  type         INTEGER NOT NULL,
  priority     INTEGER NOT NULL,   -- after routing raised it
  summary      TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  body         BLOB    NOT NULL,   -- dutyhub.v1.Notification, serialized
  UNIQUE (agency, id)
);
CREATE INDEX notifications_by_id ON notifications (id);

CREATE TABLE deliveries (
  delivery_id       TEXT    PRIMARY KEY,
  notification_seq  INTEGER NOT NULL REFERENCES notifications (seq),
  inbox             TEXT    NOT NULL,
  origin            TEXT    NOT NULL
                    CHECK (origin IN ('ROUTED', 'TRANSFERRED', 'ESCALATED', 'HANDED_OVER')),
  source_delivery   TEXT,   -- transferred, escalated or handed over from this item
  state             INTEGER NOT NULL,
  received_at       INTEGER NOT NULL,
  due_at            INTEGER NOT NULL,
  escalation_level  INTEGER NOT NULL DEFAULT 0,
  escalation_at     INTEGER,  -- roots only: the next step of the ladder
  handover_at       INTEGER,  -- roots only: when the inbox closes with it outstanding
  next_deadline     INTEGER,  -- the earlier of the two; NULL once no longer outstanding
  acknowledged_by   TEXT,
  acknowledged_at   INTEGER,
  note              TEXT
);
CREATE INDEX deliveries_by_inbox ON deliveries (inbox, state, due_at);
CREATE INDEX deliveries_by_notification ON deliveries (notification_seq);
CREATE INDEX deliveries_by_source ON deliveries (source_delivery) WHERE source_delivery IS NOT NULL;
CREATE INDEX deliveries_by_deadline ON deliveries (next_deadline) WHERE next_deadline IS NOT NULL;

-- The audit: every event of every item, with who and when. Rows are only ever added.
CREATE TABLE events (
  seq          INTEGER PRIMARY KEY,
  delivery_id  TEXT    NOT NULL REFERENCES deliveries (delivery_id),
  at           INTEGER NOT NULL,
  event        INTEGER NOT NULL,
  by           TEXT,
  inbox        TEXT    NOT NULL,
  note         TEXT
);
CREATE INDEX events_by_delivery ON events (delivery_id, seq);
)sql",
    // 2: the tamper-evident audit (a hash chain over the events) and the access log's key.
    R"sql(
ALTER TABLE events ADD COLUMN hash BLOB;
ALTER TABLE notifications ADD COLUMN child_nhs_number TEXT;
CREATE INDEX notifications_by_nhs_number ON notifications (child_nhs_number)
  WHERE child_nhs_number IS NOT NULL;
)sql",
    // 3: which gateway carried a person's action (dutyhub-web), when one did.
    R"sql(
ALTER TABLE events ADD COLUMN via TEXT;
)sql",
    // 4: a notification is found by its id alone through the (agency, id) index, one agency
    // at a time (FindNotifications), not an index of its own: agencies choose the ids, so
    // every publish wrote a random page of that index too (measured: a fifth of the
    // writer's time per publish).
    R"sql(
DROP INDEX IF EXISTS notifications_by_id;
)sql",
    // 5: the same check of a delivery's origin, written as comparisons. SQLite evaluates a
    // CHECK's `IN (list)` of more than two values by building a temporary b-tree of the
    // list at every INSERT (measured: about a tenth of the writer's time per publish).
    // Every stored row passes both, so the table's text is changed in place, the way SQLite
    // documents for changing a CHECK constraint (lang_altertable.html, "Making Other Kinds
    // Of Table Schema Changes"). RESET makes this connection parse it again, and Migrate()
    // moves the schema version on, so every other connection does too.
    R"sql(
PRAGMA writable_schema=ON;
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (origin IN (''ROUTED'', ''TRANSFERRED'', ''ESCALATED'', ''HANDED_OVER''))',
    'CHECK (origin = ''ROUTED'' OR origin = ''TRANSFERRED'' OR origin = ''ESCALATED'' OR origin = ''HANDED_OVER'')')
  WHERE type = 'table' AND name = 'deliveries';
PRAGMA writable_schema=RESET;
)sql",
    // 6: when a root's office closed with it outstanding and a copy went to the EDS. That
    // copy is one of the root's escalated copies (acknowledging it acknowledges the root), and
    // a root can have one while still at level 0, so Group() must look for copies then too.
    // Items handed over by an older broker stay what it made them: items of their own.
    R"sql(
ALTER TABLE deliveries ADD COLUMN handed_over_at INTEGER;
)sql",
};

constexpr int kMaxListed = 5000;

const char* kDeliveryColumns =
    "SELECT d.delivery_id, n.id, d.inbox, n.type, n.priority, n.agency, n.summary, "
    "d.received_at, d.due_at, d.state, d.escalation_level, d.acknowledged_by, "
    "d.acknowledged_at, d.note, CASE WHEN d.origin = 'ESCALATED' THEN s.inbox END, "
    // Who opened it, each once, first opener first: in the same query, not one per item.
    "(SELECT group_concat(by, ',') FROM (SELECT by FROM events o WHERE o.delivery_id = "
    "d.delivery_id AND o.event = 2 GROUP BY by ORDER BY MIN(o.seq))) "
    "FROM deliveries d JOIN notifications n ON n.seq = d.notification_seq "
    "LEFT JOIN deliveries s ON s.delivery_id = d.source_delivery ";
// The same columns, the summary and who opened it left empty (ReadDelivery reads both).
const char* kBriefDeliveryColumns =
    "SELECT d.delivery_id, n.id, d.inbox, n.type, n.priority, n.agency, '', "
    "d.received_at, d.due_at, d.state, d.escalation_level, d.acknowledged_by, "
    "d.acknowledged_at, d.note, CASE WHEN d.origin = 'ESCALATED' THEN s.inbox END, '' "
    "FROM deliveries d JOIN notifications n ON n.seq = d.notification_seq "
    "LEFT JOIN deliveries s ON s.delivery_id = d.source_delivery ";

v1::Delivery ReadDelivery(const Statement& s) {
  v1::Delivery d;
  d.set_delivery_id(s.Text(0));
  d.set_notification_id(s.Text(1));
  d.set_inbox(s.Text(2));
  d.set_type(static_cast<v1::Notification::Type>(s.Int(3)));
  d.set_priority(static_cast<v1::Notification::Priority>(s.Int(4)));
  d.set_from(s.Text(5));
  d.set_summary(s.Text(6));
  d.set_received_at_ms(s.Int(7));
  d.set_due_at_ms(s.Int(8));
  d.set_state(static_cast<v1::DeliveryState>(s.Int(9)));
  d.set_escalation_level(static_cast<int32_t>(s.Int(10)));
  if (!s.IsNull(11)) d.set_acknowledged_by(s.Text(11));
  if (!s.IsNull(12)) d.set_acknowledged_at_ms(s.Int(12));
  if (!s.IsNull(13)) d.set_note(s.Text(13));
  if (!s.IsNull(14)) d.set_escalated_from(s.Text(14));
  // Principal names are configuration ids: they hold no commas.
  std::string opened = s.Text(15);
  for (size_t start = 0; !opened.empty() && start <= opened.size();) {
    size_t comma = opened.find(',', start);
    d.add_opened_by(
        opened.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return d;
}

}  // namespace

int Store::SchemaVersion() { return static_cast<int>(kMigrations.size()); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, bool writer) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to start");
  // The writer's log writes are gathered, one per commit: it always runs synchronous=FULL,
  // which that needs (below).
  auto db = Database::Open(path, !writer, /*gather_log_writes=*/writer);
  if (!db.ok()) return db.status();
  std::unique_ptr<Store> store(new Store(std::move(*db)));
  // Promise 1: confirmed means on disk. WAL with synchronous=FULL syncs the log at every
  // commit; the writer's group commit shares that cost between many requests.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
        "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-65536"}) {
    if (!writer && std::string(pragma).find("journal_mode") != std::string::npos) continue;
    if (Status s = store->db_->Exec(pragma); !s.ok()) return s;
  }
  if (writer) {
    if (Status s = store->Migrate(); !s.ok()) return s;
  }
  return store;
}

Status Store::Migrate() {
  int version = 0;
  {
    // Reset before migrating: a statement still running locks the schema (DROP INDEX fails).
    auto version_stmt = db_->Prepare("PRAGMA user_version");
    if (!version_stmt.ok()) return version_stmt.status();
    if ((*version_stmt)->Step() != SQLITE_ROW) return db_->Error("reading the schema version");
    version = static_cast<int>((*version_stmt)->Int(0));
  }
  if (version > SchemaVersion()) {
    return Status::Internal("the store has schema version " + std::to_string(version) +
                            ", newer than this broker's " + std::to_string(SchemaVersion()) +
                            ": run a newer broker");
  }
  for (int v = version; v < SchemaVersion(); ++v) {
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v];
    Status s = db_->Exec(sql);
    // A migration may change the schema's text itself (5): SQLite's schema version must then
    // move on, or connections keep the schema they parsed. One more step after DDL is harmless.
    int64_t schema_version = 0;
    if (s.ok()) {
      auto read = db_->Prepare("PRAGMA schema_version");
      if (!read.ok()) {
        s = read.status();
      } else if ((*read)->Step() != SQLITE_ROW) {
        s = db_->Error("reading SQLite's schema version");
      } else {
        schema_version = (*read)->Int(0);
      }
    }
    if (s.ok()) {
      s = db_->Exec("PRAGMA schema_version=" + std::to_string(schema_version + 1) +
                    ";PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;");
    }
    if (!s.ok()) {
      Rollback();
      return s;
    }
  }
  return Status::Ok();
}

Status Store::Begin() {
  chain_head_.reset();  // read afresh from the store at the first event of a transaction
  return db_->Run("BEGIN IMMEDIATE");
}
Status Store::Commit() {
  Status s = db_->Run("COMMIT");
  if (!s.ok()) chain_head_.reset();
  return s;
}
Status Store::HandOverCheckpoints(Checkpointer& checkpointer) {
  // The checkpointer cuts the log's file back when the writer is quiet; a commit does only
  // past the ceiling (checkpointer.h).
  if (Status s =
          db_->Exec("PRAGMA journal_size_limit=" + std::to_string(Checkpointer::kLogCeilingBytes));
      !s.ok()) {
    return s;
  }
  checkpointer_ = &checkpointer;
  // Replaces SQLite's own hook, which is what wal_autocheckpoint sets. Under steady load the
  // checkpointer's passive checkpoints may never catch up with a writer that keeps
  // appending, and the log only starts over once it has; so past a hard size the writer
  // checkpoints itself, once, between two commits: nothing else writes then, so it finishes.
  sqlite3_wal_hook(
      db_->raw(),
      [](void* to, sqlite3* db, const char*, int pages) {
        auto* copier = static_cast<Checkpointer*>(to);
        if (pages >= Checkpointer::kWriterCheckpointsAt) copier->CopyOn(db);
        copier->Committed(pages);  // after a copy here, nothing is left to wake it for
        return SQLITE_OK;
      },
      &checkpointer);
  return Status::Ok();
}
void Store::AskForCheckpoint() {
  if (checkpointer_ != nullptr && checkpointer_->Uncopied() >= Checkpointer::kIdleWriterCopies) {
    checkpointer_->CopySoon();
  }
}
bool Store::DiskFull() const {
  return (sqlite3_extended_errcode(db_->raw()) & 0xff) == SQLITE_FULL;
}
void Store::Rollback() {
  chain_head_.reset();
  (void)db_->Run("ROLLBACK");
}
Status Store::Savepoint() { return db_->Run("SAVEPOINT request"); }
Status Store::ReleaseSavepoint() { return db_->Run("RELEASE request"); }
void Store::RollbackToSavepoint() {
  chain_head_.reset();  // the rows it linked to may be gone
  (void)db_->Run("ROLLBACK TO request");
  (void)db_->Run("RELEASE request");
}

Status Store::AddEvent(const v1::Delivery& item, TimeMs at, v1::EventKind event,
                       const std::string& by, const std::string& note, const std::string& inbox) {
  // The chain's previous link is read from the store, not kept in memory: a request
  // rolled back to its savepoint takes its rows with it, and the next row links to what
  // is really there.
  int64_t seq = 1;
  std::string previous;
  if (chain_head_) {
    seq = chain_head_->first + 1;
    previous = chain_head_->second;
  } else {
    auto last = db_->Prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1");
    if (!last.ok()) return last.status();
    int rc = (*last)->Step();
    if (rc == SQLITE_ROW) {
      seq = (*last)->Int(0) + 1;
      previous = std::string((*last)->Blob(1));
    } else if (rc != SQLITE_DONE) {
      return db_->Error("reading the audit chain");
    }
  }
  const std::string& where = inbox.empty() ? item.inbox() : inbox;
  // A person's action through a gateway says so; the hub's own steps never do.
  const std::string via = by.empty() ? "" : via_;
  const std::string hash = AuditHash(previous, seq, item.delivery_id(), at, static_cast<int>(event),
                                     by, where, note, via);
  auto s = db_->Prepare(
      "INSERT INTO events (seq, delivery_id, at, event, by, inbox, note, hash, via) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq)
      .Bind(2, item.delivery_id())
      .Bind(3, at)
      .Bind(4, static_cast<int>(event))
      .Bind(6, where)
      .BindBlob(8, hash);
  if (by.empty())
    (*s)->BindNull(5);
  else
    (*s)->Bind(5, by);
  if (note.empty())
    (*s)->BindNull(7);
  else
    (*s)->Bind(7, note);
  if (via.empty())
    (*s)->BindNull(9);
  else
    (*s)->Bind(9, via);
  if ((*s)->Step() != SQLITE_DONE) return db_->Error("recording an event");
  chain_head_ = std::make_pair(seq, hash);
  if (events_ != nullptr) {
    v1::WatchEvent& e = events_->emplace_back();
    e.set_event(event);
    e.set_at_ms(at);
    e.set_inbox(item.inbox());
    e.set_delivery_id(item.delivery_id());
    e.set_notification_id(item.notification_id());
    e.set_by(by);
    e.set_escalation_level(item.escalation_level());
    e.set_seq(seq);
  }
  return Status::Ok();
}

Result<std::optional<v1::SendReply>> Store::FindPublished(const std::string& agency,
                                                          const std::string& id) {
  int64_t seq = 0;
  v1::SendReply reply;
  {
    auto s = db_->Prepare("SELECT seq, priority FROM notifications WHERE agency = ? AND id = ?");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, agency).Bind(2, id);
    int rc = (*s)->Step();
    if (rc == SQLITE_DONE) return std::optional<v1::SendReply>();
    if (rc != SQLITE_ROW) return db_->Error("looking up a notification");
    seq = (*s)->Int(0);
    reply.set_id(id);
    reply.set_priority(static_cast<v1::Notification::Priority>((*s)->Int(1)));
  }
  auto s = db_->Prepare(
      "SELECT delivery_id, inbox, due_at FROM deliveries WHERE notification_seq = ? AND "
      "origin = 'ROUTED' ORDER BY rowid");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq);
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    v1::Delivery* d = reply.add_deliveries();
    d->set_delivery_id((*s)->Text(0));
    d->set_inbox((*s)->Text(1));
    d->set_due_at_ms((*s)->Int(2));
  }
  if (rc != SQLITE_DONE) return db_->Error("reading deliveries");
  return std::optional<v1::SendReply>(std::move(reply));
}

Status Store::InsertDelivery(int64_t notification_seq, const NewDelivery& d, const char* origin,
                             const std::string& source, TimeMs received_at, int level) {
  auto ins = db_->Prepare(
      "INSERT INTO deliveries (delivery_id, notification_seq, inbox, origin, source_delivery, "
      "state, received_at, due_at, escalation_level, escalation_at, handover_at, next_deadline) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  const bool root = std::string(origin) != "ESCALATED";
  (*ins)
      ->Bind(1, d.delivery_id)
      .Bind(2, notification_seq)
      .Bind(3, d.inbox)
      .Bind(4, origin)
      .Bind(6, static_cast<int>(v1::DELIVERED))
      .Bind(7, received_at)
      .Bind(8, d.due_at)
      .Bind(9, level);
  if (source.empty())
    (*ins)->BindNull(5);
  else
    (*ins)->Bind(5, source);
  if (root) {
    (*ins)->Bind(10, d.escalation_at);
    if (d.handover_at)
      (*ins)->Bind(11, *d.handover_at);
    else
      (*ins)->BindNull(11);
    (*ins)->Bind(12, d.handover_at ? std::min(*d.handover_at, d.escalation_at) : d.escalation_at);
  } else {
    (*ins)->BindNull(10).BindNull(11).BindNull(12);
  }
  if ((*ins)->Step() != SQLITE_DONE) return db_->Error("storing a delivery");
  return Status::Ok();
}

Status Store::InsertNotification(const std::string& agency, const v1::Notification& notification,
                                 TimeMs received_at, const std::vector<NewDelivery>& deliveries) {
  std::string body;
  if (!notification.SerializeToString(&body)) return Status::Internal("cannot serialize");
  return InsertNotification(agency, notification, body, received_at, deliveries);
}

Status Store::InsertNotification(const std::string& agency, const v1::Notification& notification,
                                 const std::string& body, TimeMs received_at,
                                 const std::vector<NewDelivery>& deliveries) {
  auto stored = StoreNotification(agency, notification, body, received_at, deliveries,
                                  /*unless_stored=*/false);
  return stored.ok() ? Status::Ok() : stored.status();
}

Result<std::optional<v1::SendReply>> Store::PublishOnce(
    const std::string& agency, const v1::Notification& notification, const std::string& body,
    TimeMs received_at, const std::vector<NewDelivery>& deliveries,
    std::optional<v1::Notification::Priority> as_sent) {
  auto stored = StoreNotification(agency, notification, body, received_at, deliveries,
                                  /*unless_stored=*/true);
  if (!stored.ok()) return stored.status();
  if (*stored) return std::optional<v1::SendReply>();
  if (Status same = SameAsStored(agency, notification, as_sent.value_or(notification.priority()));
      !same.ok()) {
    return same;
  }
  return FindPublished(agency, notification.id());
}

Status Store::SameAsStored(const std::string& agency, const v1::Notification& notification,
                           v1::Notification::Priority as_sent) {
  auto s = db_->Prepare("SELECT body, received_at FROM notifications WHERE agency = ? AND id = ?");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, agency).Bind(2, notification.id());
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("reading a stored notification");
  v1::Notification first;
  const std::string_view bytes = (*s)->Blob(0);
  if (!first.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    // Every stored body parses; were one not to, the retry is answered as one.
    return Status::Ok();
  }
  // Routing only raises a priority: a retry sent at the priority first sent is at most the
  // one stored, whatever routing makes of it now; one sent higher than that is a change.
  const bool same_priority = as_sent <= first.priority();
  if (same_priority && SameNotification(std::move(first), notification)) return Status::Ok();
  return ReusedIdRefusal(notification.id(),
                         "stored from " + agency + " at " + FormatTimestamp((*s)->Int(1)));
}

Result<bool> Store::StoreNotification(const std::string& agency,
                                      const v1::Notification& notification, const std::string& body,
                                      TimeMs received_at,
                                      const std::vector<NewDelivery>& deliveries,
                                      bool unless_stored) {
  static constexpr const char* kInsert =
      "INSERT INTO notifications (agency, id, type, priority, summary, received_at, body, "
      "child_nhs_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  static const std::string kInsertUnlessStored =
      std::string(kInsert) + " ON CONFLICT (agency, id) DO NOTHING";
  auto s = db_->Prepare(unless_stored ? kInsertUnlessStored.c_str() : kInsert);
  if (!s.ok()) return s.status();
  (*s)->Bind(1, agency)
      .Bind(2, notification.id())
      .Bind(3, static_cast<int>(notification.type()))
      .Bind(4, static_cast<int>(notification.priority()))
      .Bind(5, notification.summary())
      .Bind(6, received_at)
      .BindBlob(7, body);
  if (notification.child().nhs_number().empty()) {
    (*s)->BindNull(8);
  } else {
    (*s)->Bind(8, notification.child().nhs_number());
  }
  if ((*s)->Step() != SQLITE_DONE) return db_->Error("storing a notification");
  if (unless_stored && sqlite3_changes64(db_->raw()) == 0) return false;  // stored before
  int64_t seq = sqlite3_last_insert_rowid(db_->raw());
  v1::Delivery item;
  item.set_notification_id(notification.id());
  for (const NewDelivery& d : deliveries) {
    if (Status st = InsertDelivery(seq, d, "ROUTED", "", received_at, 0); !st.ok()) return st;
    item.set_delivery_id(d.delivery_id);
    item.set_inbox(d.inbox);
    if (Status st = AddEvent(item, received_at, v1::EVENT_DELIVERED, "", ""); !st.ok()) return st;
  }
  return true;
}

Status Store::RecordOpened(const std::string& delivery_id, const std::string& by, TimeMs at) {
  auto d = GetDeliveryBrief(delivery_id);
  if (!d.ok()) return d.status();
  if (Status s = AddEvent(*d, at, v1::EVENT_OPENED, by, ""); !s.ok()) return s;
  auto s = db_->Prepare("UPDATE deliveries SET state = ? WHERE delivery_id = ? AND state = ?");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, static_cast<int>(v1::OPENED))
      .Bind(2, delivery_id)
      .Bind(3, static_cast<int>(v1::DELIVERED));
  if ((*s)->Step() != SQLITE_DONE) return db_->Error("recording an opening");
  return Status::Ok();
}

Status Store::SetTimers(const std::string& delivery_id, int level,
                        std::optional<TimeMs> escalation_at, std::optional<TimeMs> handover_at) {
  auto s = db_->Prepare(
      "UPDATE deliveries SET escalation_level = ?2, escalation_at = ?3, handover_at = ?4, "
      "next_deadline = CASE WHEN ?4 IS NULL THEN ?3 WHEN ?3 IS NULL THEN ?4 ELSE MIN(?3, ?4) END "
      "WHERE delivery_id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, delivery_id).Bind(2, level);
  if (escalation_at)
    (*s)->Bind(3, *escalation_at);
  else
    (*s)->BindNull(3);
  if (handover_at)
    (*s)->Bind(4, *handover_at);
  else
    (*s)->BindNull(4);
  if ((*s)->Step() != SQLITE_DONE) return db_->Error("moving an item's deadline");
  return Status::Ok();
}

namespace {

// What changing an item's group needs of each item: the deliveries row alone (found once
// through the id's index, then changed by rowid). Not the notification's row: a page of its
// own, long out of the cache by the time someone acts, on the thread every commit waits
// for. The events written from it go out without the notification's id; the reactor fills
// it in for the inboxes someone watches.
constexpr const char* kGroupColumns =
    "SELECT rowid, notification_seq, origin, source_delivery, delivery_id, inbox, state, "
    "received_at, "
    "escalation_level, acknowledged_by, acknowledged_at, note, handed_over_at FROM deliveries ";

}  // namespace

Store::GroupMember Store::ReadGroupMember(const Statement& s) {
  GroupMember m;
  m.rowid = s.Int(0);
  m.notification_seq = s.Int(1);
  m.origin = s.Text(2);
  if (!s.IsNull(3)) m.source = s.Text(3);
  m.item.set_delivery_id(s.Text(4));
  m.item.set_inbox(s.Text(5));
  m.item.set_state(static_cast<v1::DeliveryState>(s.Int(6)));
  m.item.set_received_at_ms(s.Int(7));
  m.item.set_escalation_level(static_cast<int32_t>(s.Int(8)));
  if (!s.IsNull(9)) m.item.set_acknowledged_by(s.Text(9));
  if (!s.IsNull(10)) m.item.set_acknowledged_at_ms(s.Int(10));
  if (!s.IsNull(11)) m.item.set_note(s.Text(11));
  m.handed_over = !s.IsNull(12);
  return m;
}

Result<std::vector<Store::GroupMember>> Store::Group(const std::string& delivery_id,
                                                     const MayAct& may_act) {
  auto read = [&](const std::string& id) -> Result<GroupMember> {
    static const std::string kById = std::string(kGroupColumns) + "WHERE delivery_id = ?";
    auto s = db_->Prepare(kById.c_str());
    if (!s.ok()) return s.status();
    (*s)->Bind(1, id);
    int rc = (*s)->Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no delivery " + id);
    if (rc != SQLITE_ROW) return db_->Error("reading a delivery");
    return ReadGroupMember(**s);
  };
  auto first = read(delivery_id);
  if (!first.ok()) return first.status();
  // Decided on the item as it is now, inside the transaction that changes it.
  if (may_act) {
    if (Status s = may_act(first->item.inbox()); !s.ok()) return s;
  }
  // An escalated copy: its group is its root's.
  if (first->origin == "ESCALATED") first = read(first->source);
  if (!first.ok()) return first.status();
  // The root first, then its copies in the order they were made: two indexed lookups (one
  // OR query would gather both into a temporary B-tree to sort them).
  std::vector<GroupMember> group;
  group.push_back(std::move(*first));
  // Copies are made by escalation, which raises the root's level in the same transaction
  // (Store::Escalate; no step lowers it), and by the hand-over to the EDS, which stamps the
  // root's handed_over_at (Store::HandOver): a root at level 0 without that stamp has none.
  // Most of what duty workers acknowledge never escalated, and the lookup was a twentieth of
  // the writer's instructions per acknowledgement (counted with callgrind).
  if (group.front().item.escalation_level() == 0 && !group.front().handed_over) return group;
  static const std::string kCopies =
      std::string(kGroupColumns) +
      "WHERE source_delivery = ? AND origin = 'ESCALATED' ORDER BY rowid";
  auto s = db_->Prepare(kCopies.c_str());
  if (!s.ok()) return s.status();
  (*s)->Bind(1, group.front().item.delivery_id());
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) group.push_back(ReadGroupMember(**s));
  if (rc != SQLITE_DONE) return db_->Error("reading a delivery's copies");
  return group;
}

Result<v1::AckReply> Store::Acknowledge(const std::string& delivery_id, const std::string& by,
                                        const std::string& note, TimeMs at, const MayAct& may_act) {
  auto group = Group(delivery_id, may_act);
  if (!group.ok()) return group.status();
  const v1::Delivery& root = group->front().item;
  v1::AckReply reply;
  reply.set_delivery_id(delivery_id);
  reply.set_delivered_at_ms(root.received_at_ms());
  if (root.state() == v1::ACKNOWLEDGED) {
    reply.set_acknowledged_by(root.acknowledged_by());
    reply.set_acknowledged_at_ms(root.acknowledged_at_ms());
    reply.set_note(root.note());
    reply.set_already_acknowledged(true);
    return reply;
  }
  if (root.state() == v1::TRANSFERRED) {
    return Status::InvalidArgument("delivery " + delivery_id +
                                   " was transferred to another inbox: acknowledge the item there");
  }
  for (const GroupMember& member : *group) {
    // Promise 5: no longer outstanding, so no deadline at all. Only the root has timers
    // (a copy's are always NULL); clearing them in the same statement writes the row once.
    auto s = db_->Prepare(
        "UPDATE deliveries SET state = ?, acknowledged_by = ?, acknowledged_at = ?, note = ?, "
        "escalation_at = NULL, handover_at = NULL, next_deadline = NULL WHERE rowid = ?");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, static_cast<int>(v1::ACKNOWLEDGED))
        .Bind(2, by)
        .Bind(3, at)
        .Bind(4, note)
        .Bind(5, member.rowid);
    if ((*s)->Step() != SQLITE_DONE) return db_->Error("acknowledging");
    if (Status st = AddEvent(member.item, at, v1::EVENT_ACKNOWLEDGED, by, note); !st.ok())
      return st;
  }
  reply.set_acknowledged_by(by);
  reply.set_acknowledged_at_ms(at);
  reply.set_note(note);
  return reply;
}

Result<v1::TransferReply> Store::Transfer(const std::string& delivery_id, const std::string& by,
                                          const std::string& reason, TimeMs at,
                                          const NewDelivery& to) {
  auto group = Group(delivery_id);
  if (!group.ok()) return group.status();
  const GroupMember root = group->front();
  if (root.item.state() == v1::TRANSFERRED) {
    // A retry of the transfer that moved it (its answer lost: a timeout, a reconnect) is
    // answered as that transfer was, changing nothing: the same person, to the same inbox,
    // with the same reason. Any other transfer of a transferred item is refused below.
    auto moved = db_->Prepare(
        "SELECT d.delivery_id, d.due_at FROM events e JOIN deliveries d "
        "ON d.source_delivery = e.delivery_id AND d.origin = 'TRANSFERRED' AND d.inbox = e.inbox "
        "WHERE e.delivery_id = ? AND e.event = ? AND e.by = ? AND e.note = ? AND e.inbox = ? "
        "AND d.state <> 4 LIMIT 1");  // 4: TRANSFERRED on, so no longer that transfer's answer
    if (!moved.ok()) return moved.status();
    (*moved)
        ->Bind(1, root.item.delivery_id())
        .Bind(2, static_cast<int>(v1::EVENT_TRANSFERRED))
        .Bind(3, by)
        .Bind(4, reason)
        .Bind(5, to.inbox);
    const int rc = (*moved)->Step();
    if (rc == SQLITE_ROW) {
      v1::TransferReply reply;
      reply.set_delivery_id((*moved)->Text(0));
      reply.set_inbox(to.inbox);
      reply.set_due_at_ms((*moved)->Int(1));
      reply.set_already_transferred(true);
      return reply;
    }
    if (rc != SQLITE_DONE) return db_->Error("reading a transfer");
  }
  if (root.item.state() == v1::ACKNOWLEDGED || root.item.state() == v1::TRANSFERRED) {
    return Status::InvalidArgument("delivery " + delivery_id + " is already " +
                                   v1::DeliveryState_Name(root.item.state()) +
                                   ": only an outstanding item can be transferred");
  }
  for (const GroupMember& member : *group) {
    auto s = db_->Prepare("UPDATE deliveries SET state = ? WHERE rowid = ?");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, static_cast<int>(v1::TRANSFERRED)).Bind(2, member.rowid);
    if ((*s)->Step() != SQLITE_DONE) return db_->Error("transferring");
    if (Status st = AddEvent(member.item, at, v1::EVENT_TRANSFERRED, by, reason, to.inbox);
        !st.ok())
      return st;
  }
  const std::string& root_id = root.item.delivery_id();
  if (Status st = SetTimers(root_id, root.item.escalation_level(), std::nullopt, std::nullopt);
      !st.ok()) {
    return st;
  }
  if (Status st = InsertDelivery(root.notification_seq, to, "TRANSFERRED", root_id, at, 0);
      !st.ok()) {
    return st;
  }
  v1::Delivery moved = root.item;
  moved.set_delivery_id(to.delivery_id);
  moved.set_inbox(to.inbox);
  moved.set_escalation_level(0);
  if (Status st = AddEvent(moved, at, v1::EVENT_DELIVERED, by, reason); !st.ok()) return st;
  v1::TransferReply reply;
  reply.set_delivery_id(to.delivery_id);
  reply.set_inbox(to.inbox);
  reply.set_due_at_ms(to.due_at);
  return reply;
}

Result<std::vector<v1::Delivery>> Store::QueryDeliveries(const std::string& where,
                                                         const std::string& key, int64_t number,
                                                         bool brief) {
  auto s = db_->Prepare((brief ? kBriefDeliveryColumns : kDeliveryColumns) + where);
  if (!s.ok()) return s.status();
  (*s)->Bind(1, key);
  if (number != 0) (*s)->Bind(2, number);
  std::vector<v1::Delivery> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) out.push_back(ReadDelivery(**s));
  if (rc != SQLITE_DONE) return db_->Error("reading deliveries");
  return out;
}

Result<v1::Delivery> Store::GetDelivery(const std::string& delivery_id) {
  auto found = QueryDeliveries("WHERE d.delivery_id = ?", delivery_id);
  if (!found.ok()) return found.status();
  if (found->empty()) return Status::NotFound("no delivery " + delivery_id);
  return std::move(found->front());
}

Result<v1::Delivery> Store::GetDeliveryBrief(const std::string& delivery_id) {
  auto found = QueryDeliveries("WHERE d.delivery_id = ?", delivery_id, 0, /*brief=*/true);
  if (!found.ok()) return found.status();
  if (found->empty()) return Status::NotFound("no delivery " + delivery_id);
  return std::move(found->front());
}

Result<std::vector<v1::Delivery>> Store::ListInbox(const std::string& inbox, bool all,
                                                   bool* truncated) {
  // Outstanding first, earliest due first: what must be done next is at the top.
  // With `all`: what is outstanding, earliest due first, then the newest of the rest; at
  // most kMaxListed, so an inbox's years of history never stall the broker.
  std::string where =
      all ? "WHERE d.inbox = ? ORDER BY d.state IN (3, 4), "
            "CASE WHEN d.state IN (1, 2) THEN d.due_at ELSE -d.received_at END, d.rowid "
            "LIMIT " +
                std::to_string(kMaxListed + 1)  // one more: whether any was left out
          : "WHERE d.inbox = ? AND d.state IN (1, 2) ORDER BY d.due_at, d.rowid";
  auto items = QueryDeliveries(where, inbox);
  if (!items.ok()) return items;
  const bool more = all && items->size() > static_cast<size_t>(kMaxListed);
  if (more) items->resize(kMaxListed);
  if (truncated != nullptr) *truncated = more;
  return items;
}

Result<std::vector<v1::HistoryEntry>> Store::History(const std::string& delivery_id) {
  auto s = db_->Prepare(
      "SELECT at, event, by, inbox, note, via FROM events WHERE delivery_id = ? ORDER BY seq");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, delivery_id);
  std::vector<v1::HistoryEntry> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    v1::HistoryEntry& e = out.emplace_back();
    e.set_at_ms((*s)->Int(0));
    e.set_event(static_cast<v1::EventKind>((*s)->Int(1)));
    if (!(*s)->IsNull(2)) e.set_by((*s)->Text(2));
    e.set_inbox((*s)->Text(3));
    if (!(*s)->IsNull(4)) e.set_note((*s)->Text(4));
    if (!(*s)->IsNull(5)) e.set_via((*s)->Text(5));
  }
  if (rc != SQLITE_DONE) return db_->Error("reading history");
  return out;
}

Result<v1::Notification> Store::GetNotificationBody(const std::string& delivery_id) {
  auto s = db_->Prepare(
      "SELECT n.body FROM deliveries d JOIN notifications n ON n.seq = d.notification_seq "
      "WHERE d.delivery_id = ?");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, delivery_id);
  if ((*s)->Step() != SQLITE_ROW) return Status::NotFound("no delivery " + delivery_id);
  v1::Notification n;
  std::string_view blob = (*s)->Blob(0);
  if (!n.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return Status::Internal("stored notification for " + delivery_id + " is unreadable");
  }
  return n;
}

Result<std::vector<NotificationRecord>> Store::FindNotifications(const std::string& id) {
  // A skip scan over the (agency, id) index: the next agency is one seek, and there is a
  // handful, however many notifications each has sent.
  auto s = db_->Prepare(
      "WITH RECURSIVE agencies(agency) AS ("
      "  SELECT MIN(agency) FROM notifications"
      "  UNION ALL"
      "  SELECT (SELECT MIN(agency) FROM notifications WHERE agency > agencies.agency)"
      "  FROM agencies WHERE agencies.agency IS NOT NULL) "
      "SELECT n.seq, n.agency, n.id, n.priority, n.received_at "
      // CROSS JOIN keeps the agencies outermost: without statistics SQLite might otherwise
      // scan every notification in seq order to spare the sort.
      "FROM agencies CROSS JOIN notifications n ON n.agency = agencies.agency AND n.id = ?1 ORDER "
      "BY n.seq");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  std::vector<NotificationRecord> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    out.push_back(NotificationRecord{(*s)->Int(0), (*s)->Text(1), (*s)->Text(2),
                                     static_cast<v1::Notification::Priority>((*s)->Int(3)),
                                     (*s)->Int(4)});
  }
  if (rc != SQLITE_DONE) return db_->Error("finding a notification");
  return out;
}

Result<int64_t> Store::LastEventSeq() {
  auto s = db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_ROW) return db_->Error("reading the audit's last entry");
  return (*s)->Int(0);
}

const char* const Store::kInboxEventsBetween =
    "SELECT e.seq, e.event, e.at, e.by, e.delivery_id, n.id, d.escalation_level "
    // CROSS JOIN keeps the audit's seq range outermost: without statistics SQLite would
    // otherwise start from every item the inbox ever had (its index looks selective).
    "FROM events e CROSS JOIN deliveries d ON d.delivery_id = e.delivery_id "
    "JOIN notifications n ON n.seq = d.notification_seq "
    "WHERE e.seq > ?1 AND e.seq <= ?2 AND d.inbox = ?3 ORDER BY e.seq";

Result<std::vector<v1::WatchEvent>> Store::InboxEventsBetween(const std::string& inbox,
                                                              int64_t after_seq, int64_t upto_seq) {
  // By the item's inbox, as the writer's events are sent (an escalation's entry on the root
  // names the inbox it went to, but is the root's inbox's event). A range of the audit's
  // rowid, each entry's item looked up by its key: bounded by the caller's window.
  auto s = db_->Prepare(kInboxEventsBetween);
  if (!s.ok()) return s.status();
  (*s)->Bind(1, after_seq).Bind(2, upto_seq).Bind(3, inbox);
  std::vector<v1::WatchEvent> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    v1::WatchEvent& e = out.emplace_back();
    e.set_seq((*s)->Int(0));
    e.set_event(static_cast<v1::EventKind>((*s)->Int(1)));
    e.set_at_ms((*s)->Int(2));
    if (!(*s)->IsNull(3)) e.set_by((*s)->Text(3));
    e.set_inbox(inbox);
    e.set_delivery_id((*s)->Text(4));
    e.set_notification_id((*s)->Text(5));
    e.set_escalation_level(static_cast<int32_t>((*s)->Int(6)));
  }
  if (rc != SQLITE_DONE) return db_->Error("reading an inbox's events");
  return out;
}

Result<std::vector<v1::Delivery>> Store::DeliveriesOf(int64_t notification_seq) {
  auto items = QueryDeliveries("WHERE d.notification_seq = CAST(?1 AS INTEGER) ORDER BY d.rowid",
                               std::to_string(notification_seq));
  return items;
}

}  // namespace dutyhub
