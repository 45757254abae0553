// Fuzzes what a peer can put in one ZeroMQ frame: bytes -> dutyhub.v1.Request -> Hub::Handle,
// and a write it asks for applied to the writer's store as broker/writer.cc does, so the
// request logic, validation, routing, the escalation engine and the store all see it.
//
// The world is built once per process: the Northshire configuration, a simulated clock,
// a store in a temporary folder (writer and reader connections, as the broker opens them),
// seeded through the Hub itself with the valid samples, an open, an acknowledgement, a
// transfer and the escalations of a working day. Every input then starts from that same
// committed state: the clock is set back to Monday 23 November 2026 16:00 UTC, the ids
// start from the same number, and the write transaction is rolled back, not committed.
// So an input's outcome never depends on the inputs before it, and a crash reproduces
// from its one file. Set DUTYHUB_FUZZ_LIST_SEEDED=1 to print the seeded items, e.g. to
// write an input naming one of them, and DUTYHUB_FUZZ_SHOW_REPLIES=1 to print each reply's
// status.
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "broker/config.h"
#include "broker/escalation.h"
#include "broker/hub.h"
#include "broker/ids.h"
#include "broker/store.h"
#include "broker/time_text.h"

// Under the fuzz preset's sanitizers: an undefined-behaviour report is a finding, not a
// warning to scroll past. UBSAN_OPTIONS in the environment still overrides this.
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

namespace dutyhub {
namespace {

constexpr size_t kMaxInputBytes = 64 * 1024;  // a real request is ~2 KB; bounds each run

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_wire: %s\n", what.c_str());
  std::abort();
}

// Ids 00000000-0000-4000-8000-000000000001, ...002, ...: predictable, so the seed corpus
// can name the seeded items, and reset before every input.
class CountingIds final : public IdSource {
 public:
  std::string NewId() override {
    char text[37];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(++issued_));
    return text;
  }
  uint64_t issued() const { return issued_; }
  void ResetTo(uint64_t issued) { issued_ = issued; }

 private:
  uint64_t issued_ = 0;
};

TimeMs At(const char* text) {
  std::optional<TimeMs> t = ParseTimestamp(text);
  if (!t) Die(std::string("not a timestamp: ") + text);
  return *t;
}

std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + name, std::ios::binary);
  if (!in) Die("cannot read sample " + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct World {
  std::filesystem::path dir;
  std::shared_ptr<const Config> config;
  SimulatedClock clock{0};
  CountingIds ids;
  std::unique_ptr<Store> writer;
  std::unique_ptr<Store> reader;
  TimeMs start = 0;
  uint64_t ids_after_seeding = 0;
};

World* the_world = nullptr;

void RemoveWorldFolder() {
  std::error_code ignored;
  if (the_world != nullptr) std::filesystem::remove_all(the_world->dir, ignored);
}

// One batch of Writer::CommitBatch with a single request: a savepoint around the job,
// rolled back if it failed (the writer's guarded run; for a batch of one it ends where its
// unguarded run and redo would), then the escalation steps due, as Writer::RunEngine takes them
// (all of them when the job needs the engine, as advance-clock does; else one query's
// worth). `commit` only while seeding; fuzz inputs roll the whole transaction back.
v1::Reply ApplyAsTheWriterDoes(World& world, EscalationEngine& engine, const WriteJob& job,
                               bool commit) {
  constexpr int kStepsPerQuery = 500;  // Writer::RunEngine's
  Store& store = *world.writer;
  if (Status s = store.Begin(); !s.ok()) Die("cannot begin a transaction: " + s.message());
  std::vector<v1::WatchEvent> events;
  store.set_event_sink(&events);
  v1::Reply reply;
  if (Status s = store.Savepoint(); !s.ok()) {
    reply = ErrorReply(s);
  } else {
    reply = job.apply(store);
    if (reply.status().code() == v1::Status::OK) {
      if (Status r = store.ReleaseSavepoint(); !r.ok()) reply = ErrorReply(r);
    } else {
      store.RollbackToSavepoint();
    }
  }
  if (!store.InTransaction()) {
    // SQLite rolled it all back itself: the writer tells the batch to retry.
    store.set_event_sink(nullptr);
    engine.RolledBack();
    if (commit) Die("seeding: the transaction was rolled back under the request");
    return ErrorReply(Status::Unavailable("the store could not keep this request: retry later"));
  }
  bool engine_ran = false;
  if (store.Savepoint().ok()) {
    engine_ran = true;
    while (true) {
      Result<int> steps = engine.RunDue(store, world.clock.Now(), kStepsPerQuery);
      if (!steps.ok()) {
        store.RollbackToSavepoint();
        engine.RolledBack();
        engine_ran = false;
        break;
      }
      if (*steps == 0 || (!job.needs_engine && *steps == kStepsPerQuery)) {
        engine_ran = store.ReleaseSavepoint().ok();
        break;
      }
    }
  }
  if (!engine_ran && job.needs_engine) {
    reply = ErrorReply(Status::Unavailable("the escalation engine failed"));
  }
  store.set_event_sink(nullptr);
  if (commit) {
    if (Status s = store.Commit(); !s.ok()) Die("seeding: cannot commit: " + s.message());
    engine.Committed();
  } else {
    store.Rollback();
    engine.RolledBack();
  }
  return reply;
}

// Handles a request at `at` as the broker would and commits what it wrote.
v1::Reply Seed(World& world, const std::string& principal, const char* at,
               void (*fill)(v1::Request&, const std::string&), const std::string& argument) {
  world.clock.Set(At(at));
  v1::Request request;
  request.set_as(principal);
  fill(request, argument);
  EscalationEngine engine(world.config, world.ids);
  Hub hub(world.config, world.clock, &world.clock, *world.reader, world.ids, engine,
          /*insecure_dev=*/false);
  Outcome outcome = hub.Handle(request, principal);
  const auto* job = std::get_if<WriteJob>(&outcome);
  if (job == nullptr) {
    const auto* reply = std::get_if<v1::Reply>(&outcome);
    Die("seeding: " + principal + " was not given a write: " +
        (reply != nullptr ? reply->status().message() : std::string("a subscription")));
  }
  v1::Reply reply = ApplyAsTheWriterDoes(world, engine, *job, /*commit=*/true);
  if (reply.status().code() != v1::Status::OK) {
    Die("seeding: " + principal + "'s write failed: " + reply.status().message());
  }
  return reply;
}

void SendSample(v1::Request& request, const std::string& sample) {
  request.mutable_send()->set_notification_json(ReadSample(sample));
}

// The outstanding item in `inbox` that arrived first.
std::string FirstItem(World& world, const std::string& inbox) {
  auto items = world.reader->ListInbox(inbox, false);
  if (!items.ok() || items->empty()) Die("seeding: nothing outstanding in " + inbox);
  return items->front().delivery_id();
}

void ListSeeded(World& world) {
  for (const auto& [id, inbox] : world.config->inboxes) {
    (void)inbox;
    auto items = world.reader->ListInbox(id, /*all=*/true);
    if (!items.ok()) continue;
    for (const v1::Delivery& d : *items) {
      std::fprintf(stderr, "seeded: %s %-18s %-12s level %d notification %s\n",
                   d.delivery_id().c_str(), d.inbox().c_str(),
                   v1::DeliveryState_Name(d.state()).c_str(), d.escalation_level(),
                   d.notification_id().c_str());
    }
  }
}

World* MakeWorld() {
  spdlog::set_level(spdlog::level::off);
  // Protobuf says on stderr whenever a string field is not UTF-8: most mutated frames.
  google::protobuf::SetLogHandler(nullptr);
  auto world = std::make_unique<World>();
  std::string pattern =
      (std::filesystem::temp_directory_path() / "dutyhub-fuzz-wire-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("cannot make a temporary folder");
  world->dir = pattern;

  auto config = LoadConfig(std::string(DUTYHUB_CONFIG_DIR) + "/northshire.yaml");
  if (!config.ok()) Die(config.status().ToString());
  world->config = *config;
  const std::string path = (world->dir / "store.sqlite").string();
  auto writer = Store::Open(path, /*writer=*/true);
  if (!writer.ok()) Die(writer.status().ToString());
  world->writer = std::move(*writer);
  auto reader = Store::Open(path, /*writer=*/false);
  if (!reader.ok()) Die(reader.status().ToString());
  world->reader = std::move(*reader);
  the_world = world.get();
  std::atexit(RemoveWorldFolder);

  // A Monday as docs/northshire.md tells it, each sample sent a minute after it was made.
  World& w = *world;
  Seed(w, "northshire-mash", "2026-11-23T09:06:00Z", SendSample, "mash-request-home-visit.json");
  Seed(w, "northshire-mash", "2026-11-23T09:31:00Z", SendSample,
       "mash-request-gp-information.json");
  Seed(w, "gwh-ed", "2026-11-23T10:16:00Z", SendSample, "hospital-liaison-non-mobile-injury.json");
  Seed(
      w, "carol", "2026-11-23T10:20:00Z",
      [](v1::Request& r, const std::string& id) { r.mutable_show()->set_delivery_id(id); },
      FirstItem(w, "mash"));
  Seed(w, "gwh-ed", "2026-11-23T11:03:00Z", SendSample, "hospital-liaison-school-age.json");
  Seed(
      w, "alice", "2026-11-23T11:30:00Z",
      [](v1::Request& r, const std::string& id) {
        r.mutable_ack()->set_delivery_id(id);
        r.mutable_ack()->set_note("Visiting this afternoon.");
      },
      FirstItem(w, "hv-north"));
  Seed(w, "northshire-mash", "2026-11-23T12:01:00Z", SendSample,
       "mash-request-unborn-midwifery.json");
  Seed(
      w, "tess", "2026-11-23T12:30:00Z",
      [](v1::Request& r, const std::string& id) {
        r.mutable_transfer()->set_delivery_id(id);
        r.mutable_transfer()->set_to_inbox("hv-north");
        r.mutable_transfer()->set_reason("Unborn baby in the north locality: health visiting.");
      },
      FirstItem(w, "triage"));
  Seed(w, "gwh-scbu", "2026-11-23T14:21:00Z", SendSample,
       "scbu-discharge-mental-health-no-meeting.json");
  Seed(w, "gwh-scbu", "2026-11-23T15:01:00Z", SendSample, "scbu-discharge-unknown-area.json");
  // The rest of the afternoon: the escalation steps due by the start time, committed.
  w.start = At("2026-11-23T16:00:00Z");
  w.clock.Set(w.start);
  {
    EscalationEngine engine(w.config, w.ids);
    WriteJob nothing;
    nothing.needs_engine = true;  // every step due, as the writer takes them at start
    nothing.apply = [](Store&) {
      v1::Reply reply;
      reply.mutable_status()->set_code(v1::Status::OK);
      return reply;
    };
    ApplyAsTheWriterDoes(w, engine, nothing, /*commit=*/true);
  }
  w.ids_after_seeding = w.ids.issued();
  if (std::getenv("DUTYHUB_FUZZ_LIST_SEEDED") != nullptr) ListSeeded(w);
  return world.release();  // lives until exit; its folder is removed then
}

}  // namespace
}  // namespace dutyhub

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dutyhub;
  static World* const world = MakeWorld();
  if (size > kMaxInputBytes) return 0;
  v1::Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;

  world->clock.Set(world->start);
  world->ids.ResetTo(world->ids_after_seeding);
  // Made afresh so that its step counters (in Stats replies) start from zero every time.
  EscalationEngine engine(world->config, world->ids);
  // The principal is who the transport authenticated; the request's `as` (which the broker
  // trusts only under --insecure-dev) stands in for it, so an input chooses who it is.
  Hub hub(world->config, world->clock, &world->clock, *world->reader, world->ids, engine,
          /*insecure_dev=*/false);
  Outcome outcome = hub.Handle(request, request.as());

  v1::Reply reply;
  if (const auto* job = std::get_if<WriteJob>(&outcome)) {
    reply = ApplyAsTheWriterDoes(*world, engine, *job, /*commit=*/false);
  } else if (const auto* answer = std::get_if<v1::Reply>(&outcome)) {
    reply = *answer;
  } else {
    reply.mutable_status()->set_code(v1::Status::OK);  // a Subscription: the reactor keeps it
  }
  // The broker sends every reply back over the wire, and the client must be able to read
  // it (protobuf refuses a string that is not UTF-8, e.g. a message cut inside a character).
  reply.set_correlation_id(request.correlation_id());
  std::string frame;
  if (!reply.SerializeToString(&frame)) Die("a reply did not serialize");
  if (v1::Reply read_back; !read_back.ParseFromString(frame)) Die("a reply no client can parse");
  static const bool show_replies = std::getenv("DUTYHUB_FUZZ_SHOW_REPLIES") != nullptr;
  if (show_replies) {
    std::fprintf(stderr, "reply: %s %s\n", v1::Status::Code_Name(reply.status().code()).c_str(),
                 reply.status().message().c_str());
  }
  return 0;
}
