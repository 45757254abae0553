// Fuzzes the notification validator with what an agency can send: the bytes as JSON text
// (SendRequest.notification_json) and the same bytes as a binary Notification
// (SendRequest.notification). Both are tried on every input: each parser refuses the
// other's form almost at once, and a mutation that crosses from one to the other is kept.
//
// Besides not crashing, it checks what the hub relies on (validation.h):
// - CheckNotification is OK exactly when Validate finds no violation;
// - a valid notification stays valid once normalised (the hub stores the normalised one);
// - normalising twice changes nothing more than normalising once.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "broker/time_text.h"
#include "broker/validation.h"

// Under the fuzz preset's sanitizers: an undefined-behaviour report is a finding, not a
// warning to scroll past. UBSAN_OPTIONS in the environment still overrides this.
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

namespace dutyhub {
namespace {

constexpr size_t kMaxInputBytes = 64 * 1024;  // a real notification is ~2 KB

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "fuzz_validation: %s\n", what);
  std::abort();
}

// The hub's time of arrival: Monday 23 November 2026 16:00 UTC, as the samples expect.
TimeMs Now() {
  static const TimeMs now = ParseTimestamp("2026-11-23T16:00:00Z").value();
  return now;
}

void CheckRules(const v1::Notification& notification) {
  const std::vector<Violation> violations = Validate(notification, Now());
  const Status status = CheckNotification(notification, Now());
  if (status.ok() != violations.empty()) Broken("CheckNotification and Validate disagree");
  if (!status.ok() && status.violations() != violations) {
    Broken("CheckNotification lists other violations than Validate");
  }

  v1::Notification normalized = notification;
  Normalize(normalized);
  if (!violations.empty()) return;
  if (!Validate(normalized, Now()).empty()) Broken("Normalize made a valid notification invalid");
  v1::Notification twice = normalized;
  Normalize(twice);
  if (!google::protobuf::util::MessageDifferencer::Equals(normalized, twice)) {
    Broken("Normalize is not idempotent");
  }
}

}  // namespace
}  // namespace dutyhub

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dutyhub;
  // Protobuf says on stderr whenever a string field is not UTF-8: most mutated inputs.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > kMaxInputBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Result<v1::Notification> parsed = ParseNotificationJson(text);
  if (parsed.ok()) CheckRules(*parsed);

  v1::Notification binary;
  if (binary.ParseFromArray(data, static_cast<int>(size))) CheckRules(binary);

  // The NHS number helpers take any text (an adapter may call them on a raw field).
  (void)IsValidNhsNumber(NormalizeNhsNumber(text.substr(0, 64)));
  return 0;
}
