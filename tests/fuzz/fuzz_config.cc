// Fuzzes the configuration loader: bytes -> ParseConfig(text, "fuzz.yaml").
//
// Besides not crashing, it checks config.h's promise that any mistake is INVALID_ARGUMENT
// naming the file. A configuration that loads is then used as the broker uses it, so a
// file that loads but cannot be worked with is found too: every inbox's calendar is asked
// whether it is open, every escalation ladder's targets are looked up, and the valid
// samples are routed and given their due times and first escalation deadlines.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/escalation.h"
#include "broker/ids.h"
#include "broker/routing.h"
#include "broker/time_text.h"
#include "broker/validation.h"

// Under the fuzz preset's sanitizers: an undefined-behaviour report is a finding, not a
// warning to scroll past. UBSAN_OPTIONS in the environment still overrides this.
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

namespace dutyhub {
namespace {

constexpr size_t kMaxInputBytes = 64 * 1024;  // config/northshire.yaml is ~8 KB
const std::string kSource = "fuzz.yaml";

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "fuzz_config: %s\n", what.c_str());
  std::abort();
}

// Fixed ids: the engine asks for one per new item; randomness would only add noise.
class SameIds final : public IdSource {
 public:
  std::string NewId() override { return "00000000-0000-4000-8000-000000000001"; }
};

struct Fixture {
  TimeMs now = 0;
  std::vector<v1::Notification> samples;
};

const Fixture& TheFixture() {
  static const Fixture fixture = [] {
    spdlog::set_level(spdlog::level::off);
    Fixture f;
    f.now = ParseTimestamp("2026-11-23T16:00:00Z").value();
    for (const char* name :
         {"hospital-liaison-non-mobile-injury.json", "mash-request-gp-information.json",
          "scbu-discharge-mental-health-no-meeting.json"}) {
      std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + name, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      Result<v1::Notification> parsed = ParseNotificationJson(text.str());
      if (!parsed.ok()) Broken(std::string("cannot read sample ") + name);
      f.samples.push_back(*parsed);
    }
    return f;
  }();
  return fixture;
}

// What the broker does with a configuration once it loaded.
void Use(const std::shared_ptr<const Config>& config, const Fixture& fixture) {
  for (const auto& [id, inbox] : config->inboxes) {
    if (inbox.office_hours == nullptr) Broken("inbox " + id + " loaded without a calendar");
    if (config->FindInbox(inbox.managers_inbox) == nullptr) {
      Broken("inbox " + id + " loaded with an unknown managers' inbox");
    }
    (void)inbox.office_hours->IsOpen(fixture.now);
    for (const auto& [priority, policy] : config->escalation) {
      for (size_t level = 1; level <= policy.levels.size(); ++level) {
        const std::string& target = config->EscalationTarget(priority, id, static_cast<int>(level));
        if (config->FindInbox(target) == nullptr) Broken("a ladder leads to an unknown inbox");
      }
    }
  }
  if (config->FindInbox(config->routing.fallback_inbox) == nullptr) {
    Broken("the fallback inbox is not configured");
  }
  SameIds ids;
  EscalationEngine engine(config, ids);
  for (const v1::Notification& sample : fixture.samples) {
    RoutePlan plan = Route(*config, sample, fixture.now);
    if (plan.inboxes.empty()) Broken("a notification was routed nowhere");
    for (const std::string& inbox : plan.inboxes) {
      if (config->FindInbox(inbox) == nullptr) Broken("routed to an unknown inbox: " + inbox);
      (void)engine.NewItem(inbox, plan.priority, sample, fixture.now);
    }
  }
}

}  // namespace
}  // namespace dutyhub

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dutyhub;
  const Fixture& fixture = TheFixture();
  if (size > kMaxInputBytes) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);

  Result<std::shared_ptr<const Config>> config = ParseConfig(text, kSource);
  if (!config.ok()) {
    if (config.status().code() != Code::kInvalidArgument) {
      Broken("a bad configuration is not INVALID_ARGUMENT: " + config.status().ToString());
    }
    if (config.status().message().rfind(kSource + ":", 0) != 0) {
      Broken("the message does not name the file: " + config.status().message());
    }
    return 0;
  }
  Use(*config, fixture);
  return 0;
}
