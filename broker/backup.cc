#include "broker/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace dutyhub {
namespace {

// A connection closed however the function returns.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close_v2(db); }
};

Status Unavailable(const std::string& what, sqlite3* db) {
  return Status::Unavailable(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

Result<int64_t> Count(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
    return Unavailable("counting the copy", db);
  int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  if (n < 0) return Unavailable("counting the copy", db);
  return n;
}

Status SyncPath(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Status::Unavailable("cannot open " + path.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::Unavailable("fsync of " + path.string() + " failed");
  return Status::Ok();
}

}  // namespace

Result<BackupFigures> BackupStore(const std::string& store_path, const std::string& dest) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(store_path, ec)) {
    if (ec == std::errc::permission_denied) {
      return Status::InvalidArgument(
          "may not see the store at " + store_path +
          ": run the backup as the broker's account (sudo -u dutyhub dutyhub-broker backup ...)");
    }
    return Status::InvalidArgument("no store at " + store_path + ": check --data");
  }
  if (fs::exists(dest, ec))
    return Status::InvalidArgument(dest + " exists: a backup never overwrites; give a new name");
  const fs::path target = fs::absolute(dest, ec);
  if (!fs::is_directory(target.parent_path(), ec)) {
    return Status::InvalidArgument("no folder " + target.parent_path().string() +
                                   " to write the backup in");
  }
  // A folder others may write in must be sticky: there, only the owner of a name may rename
  // or remove it, so the backup's own folder below cannot be moved aside and another put in
  // its place between the copy and its naming.
  struct stat folder {};
  if (::stat(target.parent_path().c_str(), &folder) == 0 &&
      (folder.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (folder.st_mode & S_ISVTX) == 0) {
    return Status::InvalidArgument(
        target.parent_path().string() +
        " may be written in by other accounts and is not sticky: back up into a folder of the "
        "broker's account, or make this one sticky (chmod +t)");
  }
  // Written in a folder of its own beside DEST (mkdtemp: new, 0700, this account's; beside,
  // so that the last step is a link on the same file system): in a backup folder others may
  // write in (sticky, above), nothing can be put in the copy's way or swapped under it, and however
  // the backup ends, that folder goes with whatever is in it.
  std::string work_name = target.string() + ".partial-XXXXXX";
  if (::mkdtemp(work_name.data()) == nullptr) {
    return Status::Unavailable("cannot make a folder beside " + target.string() + ": " +
                               std::strerror(errno));
  }
  struct WorkFolder {
    fs::path path;
    ~WorkFolder() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } work{work_name};
  const fs::path partial = work.path / "copy.sqlite";

  Connection source, copy;
  if (sqlite3_open_v2(store_path.c_str(), &source.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return Unavailable("cannot open the store " + store_path, source.db);
  }
  sqlite3_busy_timeout(source.db, 5000);
  if (sqlite3_open_v2(partial.c_str(), &copy.db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    return Unavailable("cannot create " + partial.string(), copy.db);
  }
  sqlite3_exec(copy.db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_backup* backup = sqlite3_backup_init(copy.db, "main", source.db, "main");
  if (backup == nullptr) return Unavailable("cannot start the backup", copy.db);
  // Every page in one step: one read transaction, so one commit's state. A busy source (a
  // checkpoint holding its lock a moment) is waited for, a few seconds at most.
  int rc;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((rc = sqlite3_backup_step(backup, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (std::chrono::steady_clock::now() > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return Status::Unavailable(std::string("the backup did not finish: ") + sqlite3_errstr(rc));
  }
  // Sound before it is named: the copy is read back whole.
  sqlite3_stmt* check = nullptr;
  std::string verdict;
  if (sqlite3_prepare_v2(copy.db, "PRAGMA integrity_check", -1, &check, nullptr) == SQLITE_OK &&
      sqlite3_step(check) == SQLITE_ROW) {
    verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
  }
  sqlite3_finalize(check);
  if (verdict != "ok") {
    return Status::Unavailable("the copy failed its integrity check (" + verdict +
                               "): the store itself may be damaged");
  }
  BackupFigures figures;
  auto notifications = Count(copy.db, "SELECT COUNT(*) FROM notifications");
  auto deliveries = Count(copy.db, "SELECT COUNT(*) FROM deliveries");
  auto events = Count(copy.db, "SELECT COUNT(*) FROM events");
  if (!notifications.ok() || !deliveries.ok() || !events.ok()) {
    return !notifications.ok() ? notifications.status()
           : !deliveries.ok()  ? deliveries.status()
                               : events.status();
  }
  figures.notifications = *notifications;
  figures.deliveries = *deliveries;
  figures.audit_entries = *events;
  sqlite3_close_v2(copy.db);
  copy.db = nullptr;
  if (Status s = SyncPath(partial, O_RDONLY); !s.ok()) return s;
  // link() never replaces: a file that appeared at DEST meanwhile is left alone.
  if (::link(partial.c_str(), target.c_str()) != 0) {
    const std::string why =
        errno == EEXIST ? "it exists now: a backup never overwrites" : std::strerror(errno);
    return Status::Unavailable("cannot name the backup " + target.string() + ": " + why);
  }
  if (Status s = SyncPath(target.parent_path(), O_RDONLY | O_DIRECTORY); !s.ok()) return s;
  figures.bytes = static_cast<int64_t>(fs::file_size(target, ec));
  return figures;
}

}  // namespace dutyhub
