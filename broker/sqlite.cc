#include "broker/sqlite.h"

#include <cstring>

#include "broker/page_cache.h"
#include "broker/wal_vfs.h"

namespace dutyhub {

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool read_only,
                                                 bool gather_log_writes) {
  // SQLite's memory statistics take a global mutex on every allocation, and the broker never
  // reads them. Possible only before SQLite starts; later calls are refused and change nothing.
  static const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemoryStatistics;
  // Also before SQLite starts: see broker/page_cache.h for why commits need it.
  static const bool kPageCacheLayered = UsePageCacheThatSkipsEmptyTruncations();
  (void)kPageCacheLayered;
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // one thread per connection, by design
  const char* vfs = nullptr;     // the system's
  if (gather_log_writes && !read_only) {
    vfs = GatheringWalVfs();
    if (vfs == nullptr)
      return Status::Internal("SQLite has no default VFS to gather log writes over");
  }
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Unavailable("cannot open the store " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  // A reader may wait briefly while the writer checkpoints; it never blocks the writer.
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  statements_.clear();  // finalize before close
  sqlite3_close(db_);
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  int primary = rc & 0xff;
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY ||
      primary == SQLITE_CANTOPEN) {
    return Status::Unavailable("store: " + message);
  }
  return Status::Internal("store: " + message);
}

Result<StatementUse> Database::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      return Status::Internal("store: cannot prepare statement: " +
                              std::string(sqlite3_errmsg(db_)));
    }
    it = statements_.emplace(sql, std::make_unique<Statement>(stmt)).first;
  }
  return StatementUse(it->second.get());
}

Result<StatementUse> Database::Prepare(const char* sql) {
  auto it = by_address_.find(sql);
  // The text is checked too: were the address ever reused for other SQL, it is a miss.
  if (it != by_address_.end() && std::strcmp(it->second->sql(), sql) == 0)
    return StatementUse(it->second);
  auto found = Prepare(std::string(sql));
  if (!found.ok()) return found.status();
  by_address_[sql] = &**found;
  return found;
}

Status Database::Run(const std::string& sql) {
  auto s = Prepare(sql);
  if (!s.ok()) return s.status();
  if ((*s)->Step() != SQLITE_DONE) return Error(sql);
  return Status::Ok();
}

Status Database::Error(const std::string& doing) const {
  int rc = sqlite3_extended_errcode(db_) & 0xff;
  std::string message = "store: " + doing + ": " + sqlite3_errmsg(db_);
  if (rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_BUSY) {
    return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

}  // namespace dutyhub
