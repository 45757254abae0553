#include "broker/checkpointer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "broker/paced_vfs.h"

namespace dutyhub {

Status Checkpointer::Start(int pages, std::chrono::milliseconds round, int64_t cut_log_past) {
  pages_ = pages;
  round_ = round;
  cut_log_past_ = cut_log_past;
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      PacedDatabaseVfs()) != SQLITE_OK) {
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
  const int rc =
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
  if (rc == SQLITE_OK && copied >= 0) copied_.store(copied);
  return rc;
}

bool Checkpointer::CheckpointOnce() {
  const int rc = CopyOn(db_);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    if (!failing_)
      spdlog::warn(
          "store: a checkpoint failed ({}); the log keeps those pages, and it is tried again",
          sqlite3_errmsg(db_));
    failing_ = true;
    return false;
  }
  if (failing_ && rc == SQLITE_OK) spdlog::info("store: checkpoints work again");
  failing_ = rc != SQLITE_OK && failing_;
  return true;
}

void Checkpointer::Committed(int log_pages) {
  commits_.fetch_add(1);
  log_pages_.store(log_pages);
  int copied = copied_.load();
  if (log_pages < copied) {
    copied = 0;  // the log started over: none of it is copied yet
    copied_.store(0);
  }
  // While a copy is under way `copied_` is stale, so every commit would ask for another
  // straight after it, with two more fsyncs for a few pages; the copy looks again when it
  // ends instead (Run).
  if (log_pages - copied < pages_ || copying_.load()) return;
  CopySoon();
}

void Checkpointer::CopySoon() {
  asks_.fetch_add(1);
  // Taken, however briefly, so the wake-up cannot fall between the thread's test of `asks_`
  // and its wait.
  { std::lock_guard lock(mutex_); }
  wake_.notify_one();
}

void Checkpointer::CutLogBack() {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(path_ + "-wal", error);
  if (error || static_cast<int64_t>(bytes) <= cut_log_past_) return;
  // Everything copied first, passively: a TRUNCATE holds the writer off from the start,
  // so it is left only the cut itself to do.
  int log_pages = -1;
  int copied = -1;
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied) !=
          SQLITE_OK ||
      copied != log_pages) {
    return;  // a reader holds some of it: the next quiet round tries again
  }
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) !=
      SQLITE_OK) {
    return;  // someone is reading or writing: the next quiet round tries again
  }
  // copied_ and log_pages_ are left as they are: the writer's next commit finds the log
  // started over (Committed).
  log_cuts_.fetch_add(1);
  spdlog::info("store: the log's file, grown to {} MiB, is cut back while the hub is quiet",
               bytes >> 20);
}

void Checkpointer::Run() {
  std::unique_lock lock(mutex_);
  uint64_t answered = 0;  // asks this thread has copied for
  uint64_t commits_seen = commits_.load();
  bool again = false;
  while (!stopping_) {
    const bool woken = wake_.wait_for(
        lock, round_, [&] { return stopping_ || again || asks_.load() != answered; });
    const uint64_t asked = asks_.load();
    lock.unlock();
    runs_started_.fetch_add(1);
    copying_.store(true);
    const int copied_before = copied_.load();
    const uint64_t commits_now = commits_.load();
    CheckpointOnce();
    if (!woken && commits_now == commits_seen) CutLogBack();  // a whole round without a commit
    commits_seen = commits_now;
    copying_.store(false);
    // Asked meanwhile (by a lightly loaded writer), or with commits that did not ask
    // because it was copying: if this copy got somewhere and left enough uncopied, it goes
    // on at once. Any ask after `now` is still unanswered, so none is lost. A copy that got
    // nowhere (a reader holds the log, the disk is failing) waits for the next ask or round
    // rather than spin.
    const uint64_t now = asks_.load();
    const int enough = now != asked ? std::min(kIdleWriterCopies, pages_) : pages_;
    again = copied_.load() != copied_before && Uncopied() >= enough;
    answered = now;
    lock.lock();
  }
}

}  // namespace dutyhub
