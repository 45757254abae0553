// Writes the binary seed inputs: corpus/wire (one serialized dutyhub.v1.Request of every
// kind, naming the items fuzz_wire.cc seeds its store with) and corpus/validation/binary-*
// (the samples as serialized Notifications). Run it again when hub.proto or
// notification.proto change field numbers, or the seeded items change (README.md).
//
//   make_seed_corpus tests/fuzz/corpus/wire tests/fuzz/corpus/validation
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>

#include "broker/validation.h"
#include "hub.pb.h"

namespace dutyhub {
namespace {

std::filesystem::path wire_dir;
std::filesystem::path validation_dir;

// fuzz_wire.cc's deterministic ids: the n-th id it issued while seeding.
std::string Seeded(int n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012x", n);
  return text;
}

std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) {
    std::fprintf(stderr, "cannot read sample %s\n", name.c_str());
    std::exit(1);
  }
  return text.str();
}

v1::Notification ParsedSample(const std::string& name) {
  Result<v1::Notification> parsed = ParseNotificationJson(ReadSample(name));
  if (!parsed.ok()) {
    std::fprintf(stderr, "sample %s: %s\n", name.c_str(), parsed.status().ToString().c_str());
    std::exit(1);
  }
  return *parsed;
}

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.string().c_str());
    std::exit(1);
  }
}

int next_correlation_id = 1;

void Request(const std::string& name, const std::string& as,
             const std::function<void(v1::Request&)>& fill) {
  v1::Request request;
  request.set_correlation_id(static_cast<uint64_t>(next_correlation_id++));
  if (!as.empty()) request.set_as(as);
  fill(request);
  Write(wire_dir / (name + ".bin"), request.SerializeAsString());
}

void SendJson(const std::string& name, const std::string& as, const std::string& json) {
  Request(name, as, [&](v1::Request& r) { r.mutable_send()->set_notification_json(json); });
}

void WriteWire() {
  Request("ping", "", [](v1::Request& r) { r.mutable_ping(); });
  Request("no-operation", "alice", [](v1::Request&) {});

  // The seeded notifications again: answered as duplicates.
  SendJson("send-duplicate-hospital-liaison-non-mobile-injury", "gwh-ed",
           ReadSample("hospital-liaison-non-mobile-injury.json"));
  SendJson("send-duplicate-hospital-liaison-school-age", "gwh-ed",
           ReadSample("hospital-liaison-school-age.json"));
  SendJson("send-duplicate-mash-request-home-visit", "northshire-mash",
           ReadSample("mash-request-home-visit.json"));
  SendJson("send-duplicate-mash-request-gp-information", "northshire-mash",
           ReadSample("mash-request-gp-information.json"));
  SendJson("send-duplicate-mash-request-unborn-midwifery", "northshire-mash",
           ReadSample("mash-request-unborn-midwifery.json"));
  SendJson("send-duplicate-scbu-discharge-mental-health-no-meeting", "gwh-scbu",
           ReadSample("scbu-discharge-mental-health-no-meeting.json"));
  SendJson("send-duplicate-scbu-discharge-unknown-area", "gwh-scbu",
           ReadSample("scbu-discharge-unknown-area.json"));

  // New ones: stored, routed, given deadlines.
  for (const auto& [file, as, name] : {std::tuple<const char*, const char*, const char*>{
                                           "hospital-liaison-non-mobile-injury.json", "gwh-ed",
                                           "send-new-hospital-liaison-non-mobile-injury"},
                                       {"scbu-discharge-mental-health-no-meeting.json", "gwh-scbu",
                                        "send-new-scbu-discharge-mental-health-no-meeting"}}) {
    v1::Notification n = ParsedSample(file);
    n.set_id("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4c01");
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(n, &json, options);
    SendJson(name, as, json);
  }
  Request("send-new-binary-mash-request-home-visit", "northshire-mash", [](v1::Request& r) {
    v1::Notification n = ParsedSample("mash-request-home-visit.json");
    n.set_id("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4c02");
    *r.mutable_send()->mutable_notification() = n;
  });

  // Refused.
  SendJson("send-invalid-many-errors", "gwh-scbu", ReadSample("invalid-many-errors.json"));
  SendJson("send-invalid-not-json", "gwh-ed", ReadSample("invalid-not-json.txt"));
  SendJson("send-wrong-agency", "gwh-ed", ReadSample("mash-request-home-visit.json"));
  Request("send-nothing", "gwh-ed", [](v1::Request& r) { r.mutable_send(); });

  Request("inbox-hv-north", "alice",
          [](v1::Request& r) { r.mutable_inbox()->set_inbox("hv-north"); });
  Request("inbox-triage-all", "frank", [](v1::Request& r) {
    r.mutable_inbox()->set_inbox("triage");
    r.mutable_inbox()->set_all(true);
  });

  Request("show-opened", "carol",
          [](v1::Request& r) { r.mutable_show()->set_delivery_id(Seeded(4)); });
  Request("show-escalated-copy", "frank",
          [](v1::Request& r) { r.mutable_show()->set_delivery_id(Seeded(9)); });

  Request("ack-outstanding", "bob", [](v1::Request& r) {
    r.mutable_ack()->set_delivery_id(Seeded(1));
    r.mutable_ack()->set_note("Visiting tomorrow morning.");
  });
  Request("ack-escalated-copy", "dan", [](v1::Request& r) {
    r.mutable_ack()->set_delivery_id(Seeded(0xf));
    r.mutable_ack()->set_note("Asked bob to visit.");
  });
  Request("ack-already-acknowledged", "alice", [](v1::Request& r) {
    r.mutable_ack()->set_delivery_id(Seeded(3));
    r.mutable_ack()->set_note("Again.");
  });

  Request("transfer-outstanding", "sam", [](v1::Request& r) {
    r.mutable_transfer()->set_delivery_id(Seeded(5));
    r.mutable_transfer()->set_to_inbox("hv-south");
    r.mutable_transfer()->set_reason("Under 5 after all: health visiting.");
  });
  Request("transfer-already-transferred", "tess", [](v1::Request& r) {
    r.mutable_transfer()->set_delivery_id(Seeded(0xa));
    r.mutable_transfer()->set_to_inbox("mash");
    r.mutable_transfer()->set_reason("Second thoughts.");
  });

  Request("status-by-sender", "gwh-ed", [](v1::Request& r) {
    r.mutable_status()->set_notification_id("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  });
  Request("status-by-manager", "frank", [](v1::Request& r) {
    r.mutable_status()->set_notification_id("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a03");
  });

  Request("admin-time", "frank", [](v1::Request& r) { r.mutable_admin_time(); });
  // 17:00: the offices close, IMMEDIATE items go to eds as well.
  Request("advance-clock-1h", "frank",
          [](v1::Request& r) { r.mutable_advance_clock()->set_by_ms(3600000); });
  // Past every ladder's last level: renotified.
  Request("advance-clock-3d", "frank",
          [](v1::Request& r) { r.mutable_advance_clock()->set_by_ms(259200000); });
  Request("advance-clock-not-admin", "alice",
          [](v1::Request& r) { r.mutable_advance_clock()->set_by_ms(60000); });

  Request("watch", "alice", [](v1::Request& r) { r.mutable_watch()->set_inbox("hv-north"); });
  Request("overdue", "frank", [](v1::Request& r) { r.mutable_overdue(); });
  Request("report-one-day", "frank", [](v1::Request& r) {
    r.mutable_report()->set_from_date("2026-11-23");
    r.mutable_report()->set_to_date("2026-11-23");
  });
  Request("report-bad-date", "dan",
          [](v1::Request& r) { r.mutable_report()->set_from_date("23/11/2026"); });
  Request("stats", "frank", [](v1::Request& r) { r.mutable_stats(); });
  Request("audit-verify", "frank", [](v1::Request& r) { r.mutable_audit_verify(); });
  Request("audit-access", "frank", [](v1::Request& r) {
    r.mutable_audit_access()->set_nhs_number(
        ParsedSample("hospital-liaison-non-mobile-injury.json").child().nhs_number());
  });
  // The web gateway: its own questions, and others' on behalf of people and agencies.
  Request("who-am-i", "dan", [](v1::Request& r) { r.mutable_who_am_i(); });
  Request("metrics-by-gateway", "web", [](v1::Request& r) { r.mutable_metrics(); });
  Request("gateway-inbox-for-alice", "web", [](v1::Request& r) {
    r.set_on_behalf_of("alice");
    r.mutable_inbox()->set_inbox("hv-north");
  });
  Request("gateway-ack-for-dan", "web", [](v1::Request& r) {
    r.set_on_behalf_of("dan");
    r.mutable_ack()->set_delivery_id("00000000-0000-4000-8000-000000000000");
    r.mutable_ack()->set_note("Seen on the web page");
  });
  Request("gateway-status-for-agency", "web", [](v1::Request& r) {
    r.set_on_behalf_of("gwh-ed");
    r.mutable_status()->set_notification_id("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01");
  });
  Request("gateway-clock-for-frank", "web", [](v1::Request& r) {
    r.set_on_behalf_of("frank");
    r.mutable_advance_clock()->set_by_ms(3600000);
  });
  Request("on-behalf-of-from-a-person", "alice", [](v1::Request& r) {
    r.set_on_behalf_of("frank");
    r.mutable_who_am_i();
  });
}

void WriteValidation() {
  for (const char* name :
       {"hospital-liaison-non-mobile-injury", "hospital-liaison-school-age",
        "mash-request-home-visit", "mash-request-gp-information", "mash-request-unborn-midwifery",
        "scbu-discharge-mental-health-no-meeting", "scbu-discharge-unknown-area",
        "invalid-many-errors"}) {
    Write(validation_dir / (std::string("binary-") + name + ".pb"),
          ParsedSample(std::string(name) + ".json").SerializeAsString());
  }
}

}  // namespace
}  // namespace dutyhub

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s WIRE_CORPUS_DIR VALIDATION_CORPUS_DIR\n", argv[0]);
    return 2;
  }
  dutyhub::wire_dir = argv[1];
  dutyhub::validation_dir = argv[2];
  std::filesystem::create_directories(dutyhub::wire_dir);
  std::filesystem::create_directories(dutyhub::validation_dir);
  dutyhub::WriteWire();
  dutyhub::WriteValidation();
  return 0;
}
