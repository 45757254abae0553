// A thin, exception-free wrapper over one SQLite connection and its prepared statements.
// Not thread-safe: a Database belongs to the one thread that opened it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/status.h"

namespace dutyhub {

// A prepared statement, reset after each use by the Database that hands it out.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, int v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(stmt_); }
  const char* sql() const { return sqlite3_sql(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }
  std::string_view Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p == nullptr ? std::string_view()
                        : std::string_view(p, sqlite3_column_bytes(stmt_, col));
  }

 private:
  sqlite3_stmt* stmt_;
};

// Resets a cached statement when the scope that used it ends.
class StatementUse {
 public:
  explicit StatementUse(Statement* s) : s_(s) {}
  ~StatementUse() {
    if (s_ != nullptr) s_->Reset();
  }
  StatementUse(StatementUse&& other) noexcept : s_(other.s_) { other.s_ = nullptr; }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  StatementUse& operator=(StatementUse&&) = delete;
  Statement* operator->() { return s_; }
  Statement& operator*() { return *s_; }

 private:
  Statement* s_;
};

class Database {
 public:
  // `gather_log_writes`: through GatheringWalVfs (broker/wal_vfs.h), one write per commit
  // to the log instead of two per page. REQUIRES then: journal_mode=WAL with
  // synchronous=FULL, so that every commit syncs the log.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool read_only,
                                                bool gather_log_writes = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs statements with no results (schema, pragmas).
  Status Exec(const std::string& sql);
  // One statement with no results, prepared once and kept: for what runs per request or per
  // transaction (BEGIN, COMMIT, SAVEPOINT), which sqlite3_exec would parse every time.
  Status Run(const std::string& sql);

  // The cached prepared statement for `sql`, reset and ready to bind.
  // REQUIRES: `sql` is valid; an invalid one is a bug and returns INTERNAL.
  Result<StatementUse> Prepare(const std::string& sql);
  // The same, for SQL the caller keeps at one address (a string literal, a static): found
  // by that address, its text checked, instead of copied into a key and compared in the
  // map (measurable on the writer, which prepares about ten statements per publish).
  Result<StatementUse> Prepare(const char* sql);

  // An error from the last call, with SQLite's message; UNAVAILABLE for a full disk or
  // I/O failure (retry later), INTERNAL otherwise.
  Status Error(const std::string& doing) const;

  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>> statements_;
  std::unordered_map<const char*, Statement*> by_address_;
};

}  // namespace dutyhub
