// The one writer: owns the write connection and commits many requests per transaction
// (group commit, as LevelDB's writer queue), so the fsync that makes "confirmed" true is
// shared between every request that arrived while the previous one ran.
//
// Threads: the writer runs its own thread. The reactor submits jobs and collects results
// over inproc sockets (ZeroMQ guide: threads own their state and talk by messages).
// Submit and the results socket are used from the reactor thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/escalation.h"
#include "broker/hub.h"
#include "broker/store.h"

namespace dutyhub {

// A cumulative histogram of durations: observed by the writer's thread, read by any.
class DurationHistogram {
 public:
  explicit DurationHistogram(std::vector<int64_t> bounds_us);
  void Observe(int64_t us);
  v1::Histogram Snapshot() const;

 private:
  std::vector<int64_t> bounds_us_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, and one past the last
  std::atomic<uint64_t> total_us_{0};
};

// One write in flight: who asked, and, once committed, the answer. The writer also sends
// one with no routing id after each commit that produced events, carrying them for the
// watchers.
struct PendingWrite {
  std::string routing_id;  // the ROUTER identity of the connection to answer
  uint64_t correlation_id = 0;
  WriteJob job;
  v1::Reply reply;
  std::vector<v1::WatchEvent> events;
};

// Gives the calling thread a nice value `steps` below the process's own: a higher
// priority than the process's other threads. It needs CAP_SYS_NICE or an RLIMIT_NICE that
// allows the new value (systemd's LimitNICE=); without, nothing changes and the error says
// why. Linux: a thread's nice value is its own.
Status RaiseThisThreadsPriority(int steps);

class Writer {
 public:
  // Binds its inproc endpoints on `context`; call Start before Submit. After each batch,
  // and whenever the earliest stored deadline passes, `engine` takes every step due by
  // `clock` in the same transaction.
  Writer(zmq::context_t& context, std::unique_ptr<Store> store, int max_batch,
         EscalationEngine& engine, const Clock& clock);
  ~Writer();

  void Start();
  // Finishes every job already submitted, then stops the thread.
  void Stop();

  // Hands ownership of `write` to the writer. REQUIRES: reactor thread; Start() called
  // (before it, the inproc socket has no peer and the call would block).
  void Submit(std::unique_ptr<PendingWrite> write);
  // Where finished writes come back, one pointer per message; take them with TakeDone.
  zmq::socket_t& done_socket() { return done_pull_; }
  // REQUIRES: done_socket() is readable. Ownership returns to the caller.
  std::unique_ptr<PendingWrite> TakeDone();

  // Transactions committed and requests in them, since start. Any thread.
  uint64_t transactions() const { return transactions_.load(); }
  uint64_t requests() const { return requests_.load(); }
  // Notifications stored, and retries answered with the first answer, since start: counted
  // once their transaction committed. Any thread.
  uint64_t publishes() const { return publishes_.load(); }
  uint64_t duplicates() const { return duplicates_.load(); }
  // How long each COMMIT (the fsync that makes "confirmed" true) took. Any thread.
  v1::Histogram CommitLatency() const { return commit_latency_.Snapshot(); }
  // From delivery to acknowledgement, for each acknowledgement committed. Any thread.
  v1::Histogram TimeToAcknowledge() const { return time_to_acknowledge_.Snapshot(); }
  // CPU time the writer's thread has used, as of its last batch, in microseconds. Any thread.
  int64_t cpu_us() const { return cpu_us_.load(); }
  // Whether a commit failed (not for a full disk): from then on nothing is confirmed or
  // escalated by this process, and it should end so that it is started again (main.cc).
  bool failed() const { return failed_once_.load(); }

 private:
  void Run(zmq::socket_t& jobs, zmq::socket_t& done);
  enum class Applied {
    kAll,          // every request ran; those that failed left nothing behind
    kRedoGuarded,  // a request failed after changing rows, or the store failed: run again guarded
    kLost,         // the transaction is gone (SQLite ended it, or it never began)
  };
  // Begins the transaction and runs each request of the batch in it. Unguarded, requests
  // run without savepoints: a savepoint copies every page a request then touches into
  // SQLite's statement journal (measured: about a fifth of the writer's time per publish,
  // a tenth per acknowledgement), for the rare request that fails after writing. `guarded`
  // wraps each request in its own, so a failure rolls back only that request.
  Applied ApplyBatch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                     std::vector<v1::WatchEvent>& events, bool guarded);
  // Commits the batch and every escalation step due, in one transaction; the events it
  // wrote go out on `done` once committed.
  void CommitBatch(std::vector<std::unique_ptr<PendingWrite>>& batch, zmq::socket_t& done);
  // Takes the steps due: all of them when `drain`, else at most one query's worth (the
  // rest at the next, immediate, wake-up, so a backlog never delays a batch's answers for
  // long). False (its steps rolled back, to be tried again) when it failed. REQUIRES:
  // inside the transaction.
  bool RunEngine(bool drain);
  // How long the writer may wait for a request before a deadline needs it, in ms.
  long IdleWait();
  // A commit failed, not for a full disk: the disk's state is unknown from here on, so
  // nothing more is confirmed or escalated until the broker restarts (main.cc ends it).
  void Latch(const Status& commit);

  zmq::context_t& context_;
  std::unique_ptr<Store> store_;
  int max_batch_;
  EscalationEngine& engine_;
  const Clock& clock_;
  zmq::socket_t jobs_push_;  // reactor side
  zmq::socket_t done_pull_;  // reactor side
  std::thread thread_;
  // After a failed commit nothing more is confirmed until restart (LevelDB's background
  // error): the disk's state is unknown, so pretending would break promise 1.
  Status failed_;
  bool more_due_ = false;  // the last engine run stopped with steps still due
  // After a commit refused for a full disk: no commit of the engine's own before this, so
  // a due escalation cannot spin the writer (requests still try, and say UNAVAILABLE).
  std::chrono::steady_clock::time_point full_until_{};
  bool disk_full_ = false;  // said once in the log per episode
  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> publishes_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<int64_t> cpu_us_{0};
  std::atomic<bool> failed_once_{false};  // failed_ is set; read from other threads
  DurationHistogram commit_latency_{
      {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000}};
  // Bounds a manager reads against the escalation table: 15 minutes, 4 and 8 hours.
  DurationHistogram time_to_acknowledge_{{60'000'000LL, 300'000'000LL, 900'000'000LL,
                                          1800'000'000LL, 3600'000'000LL, 4 * 3600'000'000LL,
                                          8 * 3600'000'000LL, 24 * 3600'000'000LL,
                                          72 * 3600'000'000LL, 168 * 3600'000'000LL}};
};

}  // namespace dutyhub
