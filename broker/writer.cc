#include "broker/writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace dutyhub {
namespace {

constexpr const char* kJobsEndpoint = "inproc://writer-jobs";
constexpr const char* kDoneEndpoint = "inproc://writer-done";
// At most this many requests in the commit just made: the writer is lightly loaded.
constexpr size_t kLightBatch = 4;
// How far the writer's thread is raised above the broker's other threads (nice values).
constexpr int kWriterPrioritySteps = 5;

void SendPointer(zmq::socket_t& socket, PendingWrite* write) {
  socket.send(zmq::const_buffer(&write, sizeof write), zmq::send_flags::none);
}

PendingWrite* ReceivePointer(zmq::socket_t& socket, zmq::recv_flags flags) {
  PendingWrite* write = nullptr;
  zmq::mutable_buffer into(&write, sizeof write);
  while (true) {
    try {
      auto got = socket.recv(into, flags);
      if (!got) return reinterpret_cast<PendingWrite*>(-1);  // nothing waiting
      return write;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;  // a signal for the main thread landed here: carry on
    }
  }
}

}  // namespace

Writer::Writer(zmq::context_t& context, std::unique_ptr<Store> store, int max_batch,
               EscalationEngine& engine, const Clock& clock)
    : context_(context),
      store_(std::move(store)),
      max_batch_(max_batch),
      engine_(engine),
      clock_(clock),
      jobs_push_(context, zmq::socket_type::push),
      done_pull_(context, zmq::socket_type::pull) {
  // Unbounded on inproc: the reactor bounds what is in flight per connection instead, and
  // a job must never be dropped between the threads.
  jobs_push_.set(zmq::sockopt::sndhwm, 0);
  done_pull_.set(zmq::sockopt::rcvhwm, 0);
  jobs_push_.bind(kJobsEndpoint);
  done_pull_.bind(kDoneEndpoint);
}

Writer::~Writer() { Stop(); }

DurationHistogram::DurationHistogram(std::vector<int64_t> bounds_us)
    : bounds_us_(std::move(bounds_us)), buckets_(new std::atomic<uint64_t>[bounds_us_.size() + 1]) {
  for (size_t i = 0; i <= bounds_us_.size(); ++i) buckets_[i].store(0);
}

void DurationHistogram::Observe(int64_t us) {
  size_t bucket = 0;
  while (bucket < bounds_us_.size() && us > bounds_us_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1);
  total_us_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
}

v1::Histogram DurationHistogram::Snapshot() const {
  v1::Histogram out;
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_us_.size(); ++i) {
    cumulative += static_cast<int64_t>(buckets_[i].load());
    out.add_upper_bounds_seconds(static_cast<double>(bounds_us_[i]) / 1e6);
    out.add_counts(cumulative);
  }
  out.set_count(cumulative + static_cast<int64_t>(buckets_[bounds_us_.size()].load()));
  out.set_sum_seconds(static_cast<double>(total_us_.load()) / 1e6);
  return out;
}

Status RaiseThisThreadsPriority(int steps) {
  errno = 0;
  const int process = getpriority(PRIO_PROCESS, static_cast<id_t>(getpid()));
  if (process == -1 && errno != 0)
    return Status::Internal(std::string("getpriority: ") + std::strerror(errno));
  const int wanted = std::max(process - steps, -20);
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), wanted) != 0) {
    return Status::Unavailable("nice " + std::to_string(wanted) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

void Writer::Stop() {
  if (!thread_.joinable()) return;
  SendPointer(jobs_push_, nullptr);  // the sentinel: every job before it is finished first
  thread_.join();
}

void Writer::Submit(std::unique_ptr<PendingWrite> write) {
  SendPointer(jobs_push_, write.release());
}

std::unique_ptr<PendingWrite> Writer::TakeDone() {
  PendingWrite* write = ReceivePointer(done_pull_, zmq::recv_flags::dontwait);
  if (write == reinterpret_cast<PendingWrite*>(-1)) return nullptr;
  return std::unique_ptr<PendingWrite>(write);
}

void Writer::Start() {
  // Whatever fell due while the broker was down is done before anyone is served, so no
  // reader sees an item that should already have escalated.
  if (failed_.ok() && store_->Begin().ok()) {
    bool ran = RunEngine(/*drain=*/true);
    Status committed = ran ? store_->Commit() : Status::Ok();
    if (ran && committed.ok()) {
      engine_.Committed();
    } else {
      const bool full = !committed.ok() && store_->DiskFull();
      store_->Rollback();
      engine_.RolledBack();
      if (!committed.ok() && !full) Latch(committed);
    }
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "dh-writer");  // as `top -H` and /proc show it
    // Every change and every confirmation waits on this one thread: when it shares a core
    // with the reactor, the checkpointer or ZeroMQ's threads, it should be the one that runs.
    // Measured in eight interleaved pairs on two cores: more publishes a second in 6 (median
    // 1.065x), a lower p99 at 1,000/s in 6, acknowledgements unchanged (tests/bench/README.md).
    if (Status s = RaiseThisThreadsPriority(kWriterPrioritySteps); s.ok()) {
      spdlog::info("writer: runs {} nice steps above the broker's other threads",
                   kWriterPrioritySteps);
    } else {
      spdlog::info(
          "writer: runs at the broker's own priority ({}; allow it with systemd's LimitNICE=)",
          s.message());
    }
    zmq::socket_t jobs(context_, zmq::socket_type::pull);
    zmq::socket_t done(context_, zmq::socket_type::push);
    jobs.set(zmq::sockopt::rcvhwm, 0);
    done.set(zmq::sockopt::sndhwm, 0);
    jobs.connect(kJobsEndpoint);
    done.connect(kDoneEndpoint);
    Run(jobs, done);
  });
}

void Writer::Latch(const Status& commit) {
  failed_ = Status::Unavailable("the store failed to commit (" + commit.message() +
                                "); nothing more is confirmed until the broker restarts");
  failed_once_.store(true);
  spdlog::critical("{}", failed_.message());
}

long Writer::IdleWait() {
  // Looked up in the store each time (an indexed MIN), never kept in memory: a deadline
  // written by any request, or read back after a restart, is seen the same way.
  constexpr long kAtMostMs = 1000;
  // After a failed commit nothing is confirmed or escalated until restart: wait for
  // requests (to refuse them), never spin on a deadline that cannot be met.
  if (!failed_.ok()) return kAtMostMs;
  const auto now = std::chrono::steady_clock::now();
  if (now < full_until_) {
    return static_cast<long>(
               std::chrono::duration_cast<std::chrono::milliseconds>(full_until_ - now).count()) +
           1;
  }
  if (more_due_) return 0;
  auto next = engine_.NextDeadline(*store_);
  if (!next.ok() || !next->has_value()) return kAtMostMs;
  return std::clamp<long>(static_cast<long>(**next - clock_.Now()), 0, kAtMostMs);
}

void Writer::Run(zmq::socket_t& jobs, zmq::socket_t& done) {
  bool stopping = false;
  while (!stopping) {
    std::vector<std::unique_ptr<PendingWrite>> batch;
    // Wait for the first request or the next deadline, then take whatever else is already
    // waiting: under load the batch grows by itself; when idle a lone request commits at once.
    zmq::pollitem_t item{jobs.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(IdleWait()));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    while (static_cast<int>(batch.size()) < max_batch_) {
      PendingWrite* next = ReceivePointer(jobs, zmq::recv_flags::dontwait);
      if (next == reinterpret_cast<PendingWrite*>(-1)) break;
      if (next == nullptr) {
        stopping = true;
        break;
      }
      batch.emplace_back(next);
    }
    CommitBatch(batch, done);
    timespec used{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used) == 0) {
      cpu_us_.store(static_cast<int64_t>(used.tv_sec) * 1'000'000 + used.tv_nsec / 1000);
    }
    // Under light load (a few requests a commit) the checkpointer thread is asked to keep the
    // log short. Under heavy load it copies in large steps by itself, each page once however
    // often commits rewrote it meanwhile.
    const bool light = batch.size() <= kLightBatch;
    for (auto& write : batch) SendPointer(done, write.release());
    if (light && !stopping && failed_.ok() && std::chrono::steady_clock::now() >= full_until_) {
      store_->AskForCheckpoint();
    }
  }
}

bool Writer::RunEngine(bool drain) {
  constexpr int kStepsPerQuery = 500;
  more_due_ = false;
  if (Status s = store_->Savepoint(); !s.ok()) return false;
  while (true) {
    Result<int> steps = engine_.RunDue(*store_, clock_.Now(), kStepsPerQuery);
    if (!steps.ok()) {
      // The steps stay due and are tried again at the next wake-up; requests still commit.
      spdlog::error("escalation engine: {}", steps.status().message());
      store_->RollbackToSavepoint();
      engine_.RolledBack();
      return false;
    }
    // A step's next deadline may itself have passed (after a long outage the ladder
    // climbs several levels at once), so query again until nothing at all is due.
    if (*steps == 0) break;
    if (!drain && *steps == kStepsPerQuery) {
      more_due_ = true;
      break;
    }
  }
  return store_->ReleaseSavepoint().ok();
}

Writer::Applied Writer::ApplyBatch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                                   std::vector<v1::WatchEvent>& events, bool guarded) {
  if (Status s = store_->Begin(); !s.ok()) {
    spdlog::error("store: cannot begin a transaction: {}", s.message());
    return Applied::kLost;
  }
  store_->set_event_sink(&events);
  for (auto& write : batch) {
    if (guarded) {
      if (Status s = store_->Savepoint(); !s.ok()) {
        write->reply = ErrorReply(s);
        continue;
      }
    }
    const size_t events_before = events.size();
    const int64_t changes_before = store_->Changes();
    store_->set_via(write->job.via);
    write->reply = write->job.apply(*store_);
    store_->set_via("");
    const bool ok = write->reply.status().code() == v1::Status::OK;
    if (guarded) {
      if (ok) {
        if (Status s = store_->ReleaseSavepoint(); !s.ok()) write->reply = ErrorReply(s);
      } else {
        store_->RollbackToSavepoint();
        events.resize(events_before);
      }
    } else if (!ok) {
      // A refusal decided before writing changes nothing. The store's own failures are
      // taken back with a savepoint whatever the count says: a statement without a journal
      // of its own that failed part way (a corrupt page) would count as no change.
      const auto code = write->reply.status().code();
      if (store_->Changes() != changes_before || code == v1::Status::INTERNAL ||
          code == v1::Status::UNAVAILABLE) {
        store_->set_event_sink(nullptr);
        return Applied::kRedoGuarded;
      }
      // It changed nothing (almost every refusal is decided before the first write): there
      // is nothing of it to take back.
      events.resize(events_before);
    }
    if (!store_->InTransaction()) {
      // SQLite rolled the whole transaction back itself (a full disk, an I/O error): every
      // request of the batch is undone, so none may be confirmed.
      store_->set_event_sink(nullptr);
      spdlog::error(
          "store: the transaction was rolled back under the batch; {} request(s) told to retry",
          batch.size());
      return Applied::kLost;
    }
  }
  return Applied::kAll;
}

void Writer::CommitBatch(std::vector<std::unique_ptr<PendingWrite>>& batch, zmq::socket_t& done) {
  auto fail_all = [&](const Status& status) {
    for (auto& write : batch) write->reply = ErrorReply(status);
  };
  if (!failed_.ok()) return fail_all(failed_);
  if (batch.empty() && std::chrono::steady_clock::now() < full_until_)
    return;  // the disk is full: wait
  if (batch.empty() && !more_due_) {
    auto next = engine_.NextDeadline(*store_);
    if (!next.ok() || !next->has_value() || **next > clock_.Now()) return;  // nothing to do
  }
  std::vector<v1::WatchEvent> events;
  switch (ApplyBatch(batch, events, /*guarded=*/false)) {
    case Applied::kAll:
      break;
    case Applied::kRedoGuarded:
      // A request failed after it had changed rows (or the store failed under it), and only
      // a savepoint can take back just its part: the batch starts over, each request inside
      // its own.
      store_->Rollback();
      events.clear();
      if (ApplyBatch(batch, events, /*guarded=*/true) == Applied::kAll) break;
      [[fallthrough]];
    case Applied::kLost:
      return fail_all(Status::Unavailable("the store could not keep this request: retry later"));
  }
  bool drain =
      std::any_of(batch.begin(), batch.end(), [](const auto& w) { return w->job.needs_engine; });
  size_t events_before_engine = events.size();
  if (!RunEngine(drain)) {
    events.resize(events_before_engine);
    for (auto& write : batch) {
      if (write->job.needs_engine)
        write->reply = ErrorReply(Status::Unavailable("the escalation engine failed"));
    }
  }
  store_->set_event_sink(nullptr);
  const auto commit_started = std::chrono::steady_clock::now();
  if (Status s = store_->Commit(); !s.ok()) {
    const bool full = store_->DiskFull();
    store_->Rollback();
    engine_.RolledBack();
    if (full) {
      // A full disk is the one failure SQLite undoes cleanly (the commit frame was never
      // written), so the store is sound: refuse this batch and go on once space is freed.
      // The engine's own commits wait a second, so a due step does not spin the writer.
      full_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      if (!disk_full_)
        spdlog::error(
            "store: the disk is full; requests are refused (retry later) until there is space");
      disk_full_ = true;
      return fail_all(Status::Unavailable(
          "the hub's store is out of disk space: nothing was kept; retry later"));
    }
    Latch(s);
    return fail_all(failed_);
  }
  commit_latency_.Observe(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - commit_started)
                              .count());
  if (disk_full_) spdlog::info("store: there is disk space again; confirming");
  disk_full_ = false;
  full_until_ = {};
  engine_.Committed();
  transactions_.fetch_add(1);
  requests_.fetch_add(batch.size());
  for (auto& write : batch) {
    if (write->reply.status().code() != v1::Status::OK) continue;
    if (write->reply.has_send())
      (write->reply.send().duplicate() ? duplicates_ : publishes_).fetch_add(1);
    if (write->reply.has_ack() && !write->reply.ack().already_acknowledged()) {
      const v1::AckReply& ack = write->reply.ack();
      time_to_acknowledge_.Observe((ack.acknowledged_at_ms() - ack.delivered_at_ms()) * 1000);
    }
  }
  if (!events.empty()) {
    auto notice = std::make_unique<PendingWrite>();
    notice->events = std::move(events);
    SendPointer(done, notice.release());
  }
}

}  // namespace dutyhub
