// Copies committed pages from the store's write-ahead log into the database file on a
// thread and connection of its own, so that the writer's commits never stop for a
// checkpoint (SQLite would otherwise run one inside the commit that crosses 1000 pages).
// PASSIVE checkpoints, which never block the writer or a reader; and, only after a whole
// round without a commit, a TRUNCATE that cuts a grown log's file (kLogKeptBytes), holding
// the writer off for the cut alone. A failed one (a full disk, an I/O error) costs nothing
// that was confirmed: those pages stay in the log, which is durable, and the next
// checkpoint tries again.
//
// Threads: Start and Stop from one thread; the work happens on its own.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "broker/status.h"

namespace dutyhub {

class Checkpointer {
 public:
  // The log's size (pages of 4 KiB: 128 MiB) past which the writer checkpoints itself.
  static constexpr int kWriterCheckpointsAt = 32768;
  // Pages not yet copied past which a lightly loaded writer has this thread copy them now
  // (Store::AskForCheckpoint), so the log stays short while load is light.
  // The writer once copied them itself, between commits: but a passive checkpoint cannot be
  // told to stop part way, and the backlog a burst leaves (up to kThreadCopiesAt pages) held
  // its thread for about 100 ms, so every request arriving meanwhile waited (at 1,000 a
  // second, the first hundred: a p99 of 5 ms instead of 2.5); even 64 pages held it for about
  // a millisecond, every few commits. Here the copy only shares the disk with the commits, and
  // paces its writes so that a commit's sync never queues behind much of it (paced_vfs.h).
  static constexpr int kIdleWriterCopies = 64;
  // Pages not yet copied past which this thread copies them (64 MiB). Each checkpoint
  // writes every page it copies once, however often commits rewrote it meanwhile, and
  // syncs the database file once: in steps of 1,024 pages, the rewrites of the same index
  // and table pages and the syncs beside each commit's own cost the writer 10-15% of its
  // throughput (measured in interleaved runs against 16,384). A kill -9 leaves at most
  // about this much log for the restart to read.
  static constexpr int kThreadCopiesAt = 16384;
  // Past this size the log's file is cut to nothing, by this thread, once a whole round has
  // passed without a commit, and never in a commit. SQLite's own cut (journal_size_limit)
  // comes in the first commit after the log starts over, on the writer's thread: cutting a
  // file back by 68 MiB took 20 ms on this machine's file system, by 208 MiB 58 ms
  // (ftruncate, measured), and a traced run at 1,000 publishes a second after a burst held
  // every request for the 80 ms of one. Above the writer's own checkpoint size, so normal
  // running never needs it. Cut at every start-over (to 64 MiB, once), the log grew again
  // under the next burst, and a commit's sync of a file that grew, or was cut, must also
  // commit the file system's journal: the first commit after a burst took 10-21 ms in
  // traced runs, against 0.2-0.8 ms otherwise; cut only when quiet, it grows again with
  // the next traffic, a few pages a commit.
  static constexpr int64_t kLogKeptBytes = (kWriterCheckpointsAt + kThreadCopiesAt) * int64_t{4096};
  // The backstop: past this size SQLite cuts the log's file in the writer's commit after all
  // (Store::HandOverCheckpoints), for a log that never meets a quiet round (a reader that
  // held checkpoints off through hours of traffic).
  static constexpr int64_t kLogCeilingBytes = int64_t{1} << 30;

  explicit Checkpointer(std::string path) : path_(std::move(path)) {}
  ~Checkpointer() { Stop(); }

  // Opens its connection and starts: a checkpoint whenever the writer's commits have put
  // `pages` pages in the log that no checkpoint has copied yet (see Committed), whenever a
  // lightly loaded writer asks (CopySoon), and every second anyway. Under heavy load it
  // copies in large steps, each page once however often it was rewritten meanwhile. Its
  // connection paces what it writes into the database file (paced_vfs.h).
  // `round`: the "anyway" period (a test lengthens it to tell the two wake-ups apart).
  // `cut_log_past`: kLogKeptBytes (a test makes it small).
  Status Start(int pages = kThreadCopiesAt,
               std::chrono::milliseconds round = std::chrono::seconds(1),
               int64_t cut_log_past = kLogKeptBytes);
  // The writer's connection says how many pages its log holds after a commit. Cheap: called
  // on the writer's thread by SQLite's WAL hook, after every commit; it wakes the thread
  // once per checkpoint, not once per commit.
  void Committed(int log_pages);
  // Has this thread copy what is uncopied now, without waiting for the next round. Cheap;
  // any thread.
  void CopySoon();
  // Checkpoints this thread has started, successful or not. Any thread.
  int64_t RunsOnThread() const { return runs_started_.load(); }
  // Times this thread has cut the log's file back (see kLogKeptBytes). Any thread.
  int64_t LogCuts() const { return log_cuts_.load(); }
  // Pages in the log that no checkpoint has copied yet, as of the last commit. Any thread.
  int Uncopied() const { return log_pages_.load() - copied_.load(); }
  // A passive checkpoint on `db`, this thread's connection or the writer's, remembering how
  // much of the log is copied. Returns SQLite's result code.
  int CopyOn(sqlite3* db);
  // A last checkpoint, then the thread ends.
  void Stop();

 private:
  void Run();
  bool CheckpointOnce();
  // Copies all of the log and cuts its file to nothing, if the writer and every reader let
  // it now (SQLITE_CHECKPOINT_TRUNCATE; this connection waits for no one): for a round
  // without commits, so a request arriving meanwhile waits at most the cut.
  void CutLogBack();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<uint64_t> asks_ = 0;     // bumped by every ask (CopySoon)
  std::atomic<bool> copying_ = false;  // a copy is under way on this thread
  // How much of the log the last checkpoint copied. Under steady load the log rarely starts
  // over (that needs a moment with everything copied), so its length alone would call for
  // a checkpoint, with its two fsyncs, after every commit once it passed `pages_`.
  std::atomic<int> copied_ = 0;
  std::atomic<int> log_pages_ = 0;
  std::atomic<int64_t> runs_started_ = 0;
  std::atomic<uint64_t> commits_ = 0;  // Committed() calls: a round without any is quiet
  std::atomic<int64_t> log_cuts_ = 0;
  int64_t cut_log_past_ = kLogKeptBytes;
  int pages_ = 4000;
  std::chrono::milliseconds round_{1000};
  bool failing_ = false;  // said once in the log, not at every attempt
  std::thread thread_;
};

}  // namespace dutyhub
