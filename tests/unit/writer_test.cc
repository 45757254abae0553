// The one writer commits many requests per transaction, and one request's failure rolls
// back only that request.
#include "broker/writer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "broker/config.h"

namespace dutyhub {
namespace {

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ = std::filesystem::temp_directory_path() / ("dutyhub-writer-" + std::to_string(device()));
    std::filesystem::create_directories(dir_);
    auto store = Store::Open((dir_ / "store.sqlite").string(), true);
    ASSERT_TRUE(store.ok());
    auto config = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
    ASSERT_TRUE(config.ok());
    config_ = *config;
    engine_ = std::make_unique<EscalationEngine>(*config, ids_);
    writer_ = std::make_unique<Writer>(context_, std::move(*store), 512, *engine_, clock_);
  }
  void TearDown() override {
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  static v1::Reply Answer(v1::Status::Code code) {
    v1::Reply reply;
    reply.mutable_status()->set_code(code);
    return reply;
  }

  // A request from a client, doing `apply` in the writer's transaction.
  static std::unique_ptr<PendingWrite> Job(std::function<v1::Reply(Store&)> apply) {
    auto write = std::make_unique<PendingWrite>();
    write->routing_id = "client";
    write->job.apply = std::move(apply);
    return write;
  }

  // A publish of notification `id`, or a request that fails inside its transaction after
  // writing it.
  static std::unique_ptr<PendingWrite> Publish(const std::string& id, bool fail = false) {
    auto write = Job([id, fail](Store& store) {
      v1::Notification n;
      n.set_id(id);
      n.set_priority(v1::Notification::ROUTINE);
      Status s = store.InsertNotification("gwh-ed", n, 1, {{"d-" + id, "hv-north", 2, kFarFuture}});
      return Answer(!s.ok() || fail ? v1::Status::INVALID_ARGUMENT : v1::Status::OK);
    });
    write->correlation_id = std::hash<std::string>{}(id);
    return write;
  }

  // A request that holds the writer until the gate opens, so the ones submitted meanwhile
  // are all waiting together when it finishes.
  std::unique_ptr<PendingWrite> Gate() {
    return Job([this, opened = gate_.get_future().share()](Store&) {
      entered_.set_value();
      opened.wait();
      return Answer(v1::Status::OK);
    });
  }

  // Starts the writer and submits `writes` while a gate holds it: they are taken as one
  // batch. Answers come back gate first.
  template <typename... Writes>
  void SubmitAsOneBatch(Writes... writes) {
    writer_->Start();
    writer_->Submit(Gate());
    entered_.get_future().wait();
    (writer_->Submit(std::move(writes)), ...);
    gate_.set_value();
  }

  // The store as the writer left it, once stopped.
  std::unique_ptr<Store> Reopened() {
    writer_->Stop();
    auto reader = Store::Open((dir_ / "store.sqlite").string(), false);
    EXPECT_TRUE(reader.ok());
    return reader.ok() ? std::move(*reader) : nullptr;
  }

  std::vector<std::unique_ptr<PendingWrite>> Collect(
      size_t n, std::vector<v1::WatchEvent>* events = nullptr) {
    std::vector<std::unique_ptr<PendingWrite>> done;
    zmq::pollitem_t item{writer_->done_socket().handle(), 0, ZMQ_POLLIN, 0};
    while (done.size() < n) {
      zmq::poll(&item, 1, std::chrono::milliseconds(5000));
      if (!(item.revents & ZMQ_POLLIN)) break;
      while (auto write = writer_->TakeDone()) {
        // Answers only: the writer also sends the committed events for the watchers.
        if (!write->routing_id.empty()) {
          done.push_back(std::move(write));
        } else if (events != nullptr) {
          events->insert(events->end(), write->events.begin(), write->events.end());
        }
      }
    }
    return done;
  }

  std::promise<void> gate_;
  std::promise<void> entered_;  // the gate is running: the writer took it alone
  static constexpr TimeMs kFarFuture = 4102444800000;  // 2100: nothing escalates here
  std::filesystem::path dir_;
  SimulatedClock clock_{1};
  RandomIds ids_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<EscalationEngine> engine_;
  zmq::context_t context_;
  std::unique_ptr<Writer> writer_;
};

// A thread of this process's nice value, from /proc (field 19 of its stat line).
int NiceOfThread(const std::string& tid) {
  std::ifstream in("/proc/self/task/" + tid + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  for (int i = 3; i <= 19 && fields >> field; ++i) {
    if (i == 19) return std::stoi(field);
  }
  return 99;
}

// The writer's thread, found by the name it gives itself; empty if there is none.
std::string WritersThread() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "dh-writer") return task.path().filename().string();
  }
  return "";
}

TEST_F(WriterTest, TheWritersThreadRunsAboveTheBrokersOtherThreadsWhenAllowed) {
  const int process = getpriority(PRIO_PROCESS, static_cast<id_t>(getpid()));
  // Whether this process may raise a thread as far as the writer does (CI runs as root: it
  // may), asked of a thread of the test's own; only that thread moves.
  Status allowed;
  int probe = 99;
  std::thread([&] {
    allowed = RaiseThisThreadsPriority(5);
    probe = NiceOfThread(std::to_string(gettid()));
  }).join();
  EXPECT_EQ(probe, allowed.ok() ? std::max(process - 5, -20) : process) << allowed.message();
  if (!allowed.ok()) {
    EXPECT_NE(allowed.message().find("nice"), std::string::npos) << allowed.message();
  }
  EXPECT_EQ(NiceOfThread(std::to_string(getpid())), process) << "the calling thread alone moves";

  // Once the writer runs a job, its thread has named and raised itself.
  writer_->Start();
  writer_->Submit(Gate());
  entered_.get_future().wait();
  const std::string tid = WritersThread();
  gate_.set_value();
  ASSERT_FALSE(tid.empty()) << "no thread named dh-writer";
  EXPECT_EQ(NiceOfThread(tid), allowed.ok() ? std::max(process - 5, -20) : process);
  EXPECT_EQ(NiceOfThread(std::to_string(getpid())), process);
  EXPECT_EQ(Collect(1).size(), 1u);
}

TEST_F(WriterTest, RequestsWaitingTogetherShareOneTransaction) {
  writer_->Start();
  writer_->Submit(Gate());
  entered_.get_future().wait();
  for (int i = 0; i < 100; ++i) writer_->Submit(Publish("n" + std::to_string(i)));
  gate_.set_value();
  auto done = Collect(101);
  ASSERT_EQ(done.size(), 101u);
  for (const auto& write : done) EXPECT_EQ(write->reply.status().code(), v1::Status::OK);
  // The gate alone, then the hundred that waited for it, in one transaction.
  EXPECT_EQ(writer_->transactions(), 2u);
  EXPECT_EQ(writer_->requests(), 101u);
}

TEST_F(WriterTest, AFailedRequestRollsBackOnlyItselfAndTheRestAreConfirmedAndWatchedOnce) {
  // The batch runs without savepoints first; "b" fails after writing its rows, so the batch
  // is run again with one savepoint per request. Nothing of the first run may show.
  SubmitAsOneBatch(Publish("a"), Publish("b", /*fail=*/true), Publish("c"));
  std::vector<v1::WatchEvent> events;
  auto done = Collect(4, &events);
  ASSERT_EQ(done.size(), 4u);
  EXPECT_EQ(done[1]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(done[2]->reply.status().code(), v1::Status::INVALID_ARGUMENT);
  EXPECT_EQ(done[3]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(writer_->transactions(), 2u);
  // The notice follows its answers: wait for it.
  zmq::pollitem_t item{writer_->done_socket().handle(), 0, ZMQ_POLLIN, 0};
  while (events.size() < 2 && zmq::poll(&item, 1, std::chrono::milliseconds(2000)) > 0) {
    while (auto write = writer_->TakeDone())
      events.insert(events.end(), write->events.begin(), write->events.end());
  }
  std::vector<std::string> delivered;
  for (const auto& e : events) delivered.push_back(e.delivery_id());
  EXPECT_EQ(delivered, (std::vector<std::string>{"d-a", "d-c"}));
  auto reader = Reopened();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->GetDelivery("d-a").ok());
  EXPECT_EQ(reader->GetDelivery("d-b").status().code(), Code::kNotFound);
  EXPECT_TRUE(reader->GetDelivery("d-c").ok());
  auto a = reader->History("d-a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 1u) << "stored once, not once per run of the batch";
  auto verified = reader->VerifyAudit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->intact()) << verified->problem();
}

TEST_F(WriterTest, TheSimulatedClockMovesOnceWhenItsBatchIsRunAgain) {
  // The hub's own advance-clock job, in a batch that is run a second time because a
  // request after it failed having written: the clock must not move twice.
  auto reader = Store::Open((dir_ / "store.sqlite").string(), false);
  ASSERT_TRUE(reader.ok());
  Hub hub(config_, clock_, &clock_, **reader, ids_, *engine_, /*insecure_dev=*/false);
  v1::Request request;
  request.mutable_advance_clock()->set_by_ms(3'600'000);
  Outcome outcome = hub.Handle(request, "frank");
  ASSERT_TRUE(std::holds_alternative<WriteJob>(outcome));
  auto advance = Job(nullptr);
  advance->job = std::move(std::get<WriteJob>(outcome));
  const TimeMs before = clock_.Now();
  SubmitAsOneBatch(std::move(advance), Publish("b", /*fail=*/true));
  auto done = Collect(3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(done[1]->reply.time().now_ms(), before + 3'600'000);
  EXPECT_EQ(clock_.Now(), before + 3'600'000);
}

TEST_F(WriterTest, AStoreFailureIsTakenBackWithASavepointEvenWhenNothingCounted) {
  // An INTERNAL or UNAVAILABLE answer comes from the store itself, which may have left part
  // of a statement behind uncounted: the batch is run again, each request guarded.
  auto runs = std::make_shared<int>(0);
  SubmitAsOneBatch(Publish("a"), Job([runs](Store&) {
                     ++*runs;
                     return Answer(v1::Status::INTERNAL);
                   }));
  auto done = Collect(3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(done[2]->reply.status().code(), v1::Status::INTERNAL);
  EXPECT_EQ(*runs, 2) << "run unguarded, then again in a savepoint of its own";
  auto reader = Reopened();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->GetDelivery("d-a").ok());
}

TEST_F(WriterTest, ARequestRefusedBeforeWritingDoesNotMakeTheBatchRunAgain) {
  auto runs = std::make_shared<int>(0);
  SubmitAsOneBatch(Publish("a"), Job([runs](Store&) {
                     ++*runs;
                     return Answer(v1::Status::NOT_FOUND);
                   }),
                   Publish("c"));
  auto done = Collect(4);
  ASSERT_EQ(done.size(), 4u);
  EXPECT_EQ(done[1]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(done[2]->reply.status().code(), v1::Status::NOT_FOUND);
  EXPECT_EQ(done[3]->reply.status().code(), v1::Status::OK);
  EXPECT_EQ(*runs, 1) << "nothing of it needed taking back";
  EXPECT_EQ(writer_->transactions(), 2u);
}

TEST_F(WriterTest, WhenTheStoreRollsTheTransactionBackNothingInTheBatchIsConfirmed) {
  // An injected fault: the transaction ends under the writer, as SQLite does by itself on
  // a full disk or an I/O error.
  SubmitAsOneBatch(Publish("x"), Job([](Store& store) {
                     store.Rollback();
                     return Answer(v1::Status::OK);
                   }),
                   Publish("y"));
  auto done = Collect(4);
  ASSERT_EQ(done.size(), 4u);
  for (size_t i = 1; i < done.size(); ++i) {
    EXPECT_EQ(done[i]->reply.status().code(), v1::Status::UNAVAILABLE) << i;
  }
  auto reader = Reopened();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->GetDelivery("d-x").status().code(), Code::kNotFound);
  EXPECT_EQ(reader->GetDelivery("d-y").status().code(), Code::kNotFound);
}

TEST_F(WriterTest, StopFinishesEverySubmittedRequestFirst) {
  writer_->Start();
  for (int i = 0; i < 50; ++i) writer_->Submit(Publish("s" + std::to_string(i)));
  writer_->Stop();
  EXPECT_EQ(writer_->requests(), 50u);
  EXPECT_EQ(Collect(50).size(), 50u);
}

}  // namespace
}  // namespace dutyhub
