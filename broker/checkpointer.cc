#include "broker/checkpointer.h"

#include <spdlog/spdlog.h>

#include "broker/paced_vfs.h"

namespace dutyhub {

Status Checkpointer::Start(int pages, std::chrono::milliseconds round) {
  pages_ = pages;
  round_ = round;
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, PacedDatabaseVfs()) != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    return Status::Unavailable("cannot open the store for checkpoints: " + message);
  }
  sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Checkpointer::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  sqlite3_close(db_);
  db_ = nullptr;
}

int Checkpointer::CopyOn(sqlite3* db) {
  int log_pages = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
  if (rc == SQLITE_OK && copied >= 0) copied_.store(copied);
  return rc;
}

bool Checkpointer::CheckpointOnce() {
  const int rc = CopyOn(db_);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    if (!failing_) spdlog::warn("store: a checkpoint failed ({}); the log keeps those pages, and it is tried again",
                                sqlite3_errmsg(db_));
    failing_ = true;
    return false;
  }
  if (failing_ && rc == SQLITE_OK) spdlog::info("store: checkpoints work again");
  failing_ = rc != SQLITE_OK && failing_;
  return true;
}

void Checkpointer::Committed(int log_pages) {
  log_pages_.store(log_pages);
  int copied = copied_.load();
  if (log_pages < copied) {
    copied = 0;  // the log started over: none of it is copied yet
    copied_.store(0);
  }
  if (log_pages - copied < pages_) return;
  CopySoon();
}

void Checkpointer::CopySoon() {
  if (due_.exchange(true)) return;  // already asked
  // Taken, however briefly, so the wake-up cannot fall between the thread's test of `due_`
  // and its wait.
  { std::lock_guard lock(mutex_); }
  wake_.notify_one();
}

void Checkpointer::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, round_, [this] { return stopping_ || due_.load(); });
    lock.unlock();
    const int copied_before = copied_.load();
    CheckpointOnce();
    runs_on_thread_.fetch_add(1);
    // Commits made while it copied found `due_` set and did not ask again; so if this copy
    // got somewhere and left the log still past `pages_`, it goes on at once (otherwise
    // it would wait for the next commit or round). A copy that got nowhere (a reader holds
    // the log, the disk is failing) waits, rather than spin.
    const bool again = copied_.load() != copied_before && Uncopied() >= pages_;
    due_.store(again);
    lock.lock();
  }
}

}  // namespace dutyhub
