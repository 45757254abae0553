// dutyhub: the command line for duty workers, managers, scripts and the demo.
// Commands, JSON shapes and exit codes as docs/CLI.md says; keep them stable.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <zmq.hpp>

#include "agents/cli/render.h"
#include "agents/client/hub_client.h"
#include "broker/keys.h"
#include "broker/time_text.h"

namespace {

using dutyhub::v1::Reply;
using dutyhub::v1::Request;
using nlohmann::json;

constexpr int kExitUsage = 2;

struct Options {
  std::string broker = "tcp://127.0.0.1:5570";
  std::string as;
  std::string key;
  std::string broker_key;
  std::optional<dutyhub::ClientKeys> keys;  // read from `key` when given
  bool json = false;
  double timeout_seconds = 5;
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int ExitCodeFor(dutyhub::v1::Status::Code code) {
  switch (code) {
    case dutyhub::v1::Status::OK:
      return 0;
    case dutyhub::v1::Status::INVALID_ARGUMENT:
      return 3;
    case dutyhub::v1::Status::PERMISSION_DENIED:
      return 4;
    case dutyhub::v1::Status::UNAVAILABLE:
      return 5;
    case dutyhub::v1::Status::NOT_FOUND:
      return 6;
    default:
      return 1;
  }
}

// The error document goes out whatever bytes it quotes: a command line or a message that is
// not UTF-8 is written with U+FFFD where the bad bytes were, never a throw and an abort.
std::string ErrorDocument(const json& document) {
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

// For errors met before (or without) the parsed options: whether the command line asked for
// JSON.
bool AskedForJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--json") return true;
  return false;
}

int Usage(const Options& options, const std::string& message) {
  if (options.json) {
    std::cout << ErrorDocument(json{{"error", {{"code", "USAGE"}, {"message", message}}}}) << "\n";
  }
  std::cerr << "dutyhub: " << message << "\n";
  return kExitUsage;
}

int ReportError(const Options& options, const dutyhub::v1::Status& status) {
  if (options.json) std::cout << ErrorDocument(dutyhub::cli::ErrorJson(status)) << "\n";
  std::cerr << "dutyhub: " << dutyhub::cli::ErrorText(status) << "\n";
  return ExitCodeFor(status.code());
}

// Sends one request and prints the answer as JSON or for people.
// `verify`: the answer is a check; exit 1 when it found the audit broken.
int Call(const Options& options, Request request, const std::function<json(const Reply&)>& to_json,
         const std::function<std::string(const Reply&)>& to_text, bool verify = false) {
  dutyhub::HubClient client(options.broker, options.as, options.keys);
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  dutyhub::Result<Reply> reply = client.Call(std::move(request), timeout);
  if (!reply.ok()) {
    dutyhub::v1::Status status;
    status.set_code(static_cast<dutyhub::v1::Status::Code>(reply.status().code()));
    // The handshake's own refusal says what to do; silence may still be a broker that wants a
    // key and reported nothing (an older one, or a proxy in between).
    const bool said = reply.status().message().find("--key") != std::string::npos;
    status.set_message(reply.status().message() + " (broker " + options.broker + ")" +
                       (options.keys || said
                            ? ""
                            : "; a broker with authentication on refuses a client without --key"));
    return ReportError(options, status);
  }
  if (reply->status().code() != dutyhub::v1::Status::OK)
    return ReportError(options, reply->status());
  if (options.json) {
    std::cout << to_json(*reply).dump() << "\n";
  } else {
    std::cout << to_text(*reply);
  }
  return verify && !reply->audit_verify().intact() ? 1 : 0;
}

// Streams the inbox's events as JSON lines until interrupted. The subscription is renewed
// after every quiet spell, so a restarted broker picks the watcher up again, and it asks for
// what came after the last event it printed (or after the audit's last entry when it began),
// so the events of the gap (the escalations a restarted broker takes at once) come then,
// each once: an event whose seq was printed already is not printed again. A broker that
// stops answering ends the command with UNAVAILABLE.
int Watch(const Options& options, const std::string& inbox) {
  dutyhub::HubClient client(options.broker, options.as, options.keys);
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  constexpr auto kQuiet = std::chrono::seconds(10);
  bool announced = false;
  bool resuming = false;  // after the first answer: ask for what came after `seen`
  int64_t seen = 0;       // the last audit seq printed or known to be before the watch
  auto print = [&](const dutyhub::v1::WatchEvent& event) {
    if (event.seq() != 0 && event.seq() <= seen) return;  // a repeat of one printed
    seen = std::max(seen, event.seq());
    std::cout << dutyhub::cli::EventJson(event).dump() << std::endl;
  };
  while (true) {
    Request request;
    request.mutable_watch()->set_inbox(inbox);
    request.mutable_watch()->set_after_seq(seen);
    request.mutable_watch()->set_resume(resuming);
    dutyhub::Result<uint64_t> id = client.Post(request, timeout);
    std::optional<Reply> answer;
    if (id.ok()) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (!answer && std::chrono::steady_clock::now() < deadline) {
        auto reply = client.Next(timeout);
        if (!reply) break;
        if (reply->has_event()) {
          print(reply->event());
        } else if (reply->correlation_id() == *id || reply->correlation_id() == 0) {
          answer = std::move(reply);
        }
      }
    }
    if (!answer) {
      dutyhub::v1::Status status;
      status.set_code(dutyhub::v1::Status::UNAVAILABLE);
      status.set_message("no broker answered (broker " + options.broker + ")");
      return ReportError(options, status);
    }
    if (answer->status().code() != dutyhub::v1::Status::OK)
      return ReportError(options, answer->status());
    if (answer->watch().missed()) {
      std::cerr << "dutyhub: events of " << inbox
                << " may have been missed while the broker was away; read the inbox" << std::endl;
    }
    // The replay came before the answer; every event up to the answer's seq has been sent
    // now, and any such event sent again is a repeat. After a miss, or a store restored
    // behind what was seen (its seqs are handed out again), the answer's seq is where to go
    // on from: the new events must not be taken for repeats.
    if (answer->watch().missed() || answer->watch().seq() < seen) {
      seen = answer->watch().seq();
    } else {
      seen = std::max(seen, answer->watch().seq());
    }
    resuming = true;
    if (!announced) {
      std::cerr << "dutyhub: watching " << inbox << " (Ctrl-C to stop)" << std::endl;
      announced = true;
    }
    while (auto reply = client.Next(kQuiet)) {
      if (reply->has_event()) print(reply->event());
    }
  }
}

int Run(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const zmq::error_t& e) {
    // ZeroMQ refuses an endpoint it cannot parse (--broker foo) as the client connects,
    // before any request: a usage error, with the error document under --json.
    Options options;
    options.json = AskedForJson(argc, argv);
    return Usage(options, std::string("the broker endpoint is not usable (") + e.what() +
                              "): give --broker one such as tcp://127.0.0.1:5570");
  }
}

namespace {

int Run(int argc, char** argv) {
  Options options;
  options.broker = EnvOr("DUTYHUB_BROKER", options.broker);
  options.as = EnvOr("DUTYHUB_AS", "");
  options.key = EnvOr("DUTYHUB_KEY", "");
  options.broker_key = EnvOr("DUTYHUB_BROKER_KEY", "");

  CLI::App app{"dutyhub: send, read and acknowledge safeguarding notifications"};
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--broker", options.broker, "broker endpoint (DUTYHUB_BROKER)");
  app.add_option("--as", options.as, "who you are: an agency id or a user (DUTYHUB_AS)");
  app.add_option("--key", options.key,
                 "your key file (DUTYHUB_KEY); without it, --insecure-dev only");
  app.add_option("--broker-key", options.broker_key,
                 "the broker's public key, or a file holding it (DUTYHUB_BROKER_KEY)");
  app.add_flag("--json", options.json, "one JSON document on standard output");
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for the broker")
      ->check(CLI::PositiveNumber);

  std::string file, inbox, delivery_id, note, to, reason, notification_id, duration;
  bool all = false;
  auto* ping = app.add_subcommand("ping", "exit 0 when the broker answers");
  auto* send = app.add_subcommand("send", "publish a notification (an agency)");
  send->add_option("FILE", file, "the notification as JSON; - for standard input")->required();
  auto* inbox_cmd = app.add_subcommand("inbox", "outstanding items, earliest due first");
  inbox_cmd->add_option("INBOX", inbox)->required();
  inbox_cmd->add_flag("--all", all, "include acknowledged and transferred items");
  auto* show =
      app.add_subcommand("show", "an item in full, with its history (records the opening)");
  show->add_option("DELIVERY_ID", delivery_id)->required();
  auto* ack = app.add_subcommand("ack", "acknowledge an item, by name, with a note");
  ack->add_option("DELIVERY_ID", delivery_id)->required();
  ack->add_option("--note", note, "what you will do about it")->required();
  auto* transfer = app.add_subcommand("transfer", "not for us: pass the item to another inbox");
  transfer->add_option("DELIVERY_ID", delivery_id)->required();
  transfer->add_option("--to", to, "the inbox that should act")->required();
  transfer->add_option("--reason", reason, "why it is for them")->required();
  auto* status = app.add_subcommand("status", "where a notification went and what happened to it");
  status->add_option("NOTIFICATION_ID", notification_id)->required();
  auto* overdue =
      app.add_subcommand("overdue", "outstanding items past due in the inboxes you manage");
  overdue->add_option("--inbox", inbox, "only this inbox");
  auto* watch = app.add_subcommand("watch", "one JSON line per event in INBOX until stopped");
  watch->add_option("INBOX", inbox)->required();
  std::string from_date, to_date;
  bool csv = false;
  auto* report =
      app.add_subcommand("report", "time to acknowledge and escalations, per inbox you manage");
  report->add_option("--from", from_date, "first day, YYYY-MM-DD");
  report->add_option("--to", to_date, "last day, YYYY-MM-DD (included)");
  report->add_option("--inbox", inbox, "only this inbox");
  report->add_flag("--csv", csv, "comma-separated values, for a spreadsheet");
  std::string out_file, nhs_number;
  auto* keygen = app.add_subcommand("keygen", "make a CURVE key pair; prints the public key");
  keygen->add_option("--out", out_file, "the key file to write (readable by you only)")->required();
  auto* audit = app.add_subcommand("audit", "the tamper-evident audit");
  audit->require_subcommand(1);
  auto* audit_verify =
      audit->add_subcommand("verify", "check the audit's hash chain (administrator)");
  auto* audit_access =
      audit->add_subcommand("access", "who opened what about one child (managers)");
  audit_access->add_option("--nhs-number", nhs_number, "the child's NHS number")->required();
  auto* admin = app.add_subcommand("admin", "broker time and figures");
  admin->require_subcommand(1);
  auto* admin_time = admin->add_subcommand("time", "the broker's time");
  auto* admin_stats = admin->add_subcommand("stats", "outstanding items, escalations, engine lag");
  auto* advance = admin->add_subcommand("advance-clock", "move a simulated clock forward");
  advance->add_option("DURATION", duration, "e.g. 15m, 4h, 2d")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError&) {
    // CLI11 would list the words it could not place, and those are most often a note or an
    // NHS number typed without quotes: a child's details, on a terminal and in scripts' logs.
    options.json = AskedForJson(argc, argv);
    return Usage(options,
                 "there are words on the command line that no option takes (not repeated here, "
                 "as they may be a note's): put a note, reason or NHS number in quotes, e.g. "
                 "--note \"Visited at 3pm, all well\"");
  } catch (const CLI::ParseError& e) {
    options.json = AskedForJson(argc, argv);
    return Usage(options, e.what());
  }
  if (keygen->parsed()) {
    auto keys = dutyhub::GenerateKeyPair();
    if (!keys.ok()) return Usage(options, keys.status().message());
    if (!options.broker_key.empty()) {
      auto broker = dutyhub::ReadPublicKey(options.broker_key);
      if (!broker.ok()) return Usage(options, "--broker-key: " + broker.status().message());
      keys->broker_public_key = *broker;
    }
    if (auto s = dutyhub::WriteKeyFile(out_file, *keys); !s.ok())
      return Usage(options, s.message());
    if (options.json) {
      std::cout << json{{"public_key", keys->public_key}, {"file", out_file}}.dump() << "\n";
    } else {
      std::cout << keys->public_key << "\n";
    }
    return 0;
  }
  if (!options.key.empty()) {
    auto keys = dutyhub::ReadKeyFile(options.key);
    if (!keys.ok()) return Usage(options, "--key: " + keys.status().message());
    std::string broker = keys->broker_public_key;
    if (!options.broker_key.empty()) {
      auto given = dutyhub::ReadPublicKey(options.broker_key);
      if (!given.ok()) return Usage(options, "--broker-key: " + given.status().message());
      broker = *given;
    }
    if (broker.empty()) {
      return Usage(options,
                   "say which broker to trust: --broker-key KEY or a broker-public-key line in " +
                       options.key);
    }
    options.keys = dutyhub::ClientKeys{keys->public_key, keys->secret_key, broker};
  }

  Request request;
  if (ping->parsed()) {
    request.mutable_ping();
    return Call(
        options, request,
        [](const Reply& r) {
          return json{{"now", dutyhub::FormatTimestamp(r.ping().now_ms())}};
        },
        [](const Reply&) { return std::string("broker answered\n"); });
  }
  // With a key the broker knows who you are; --as is only for a broker in --insecure-dev.
  if (options.as.empty() && !options.keys) {
    return Usage(options,
                 "say who you are: --key FILE (or DUTYHUB_KEY), or --as NAME for a broker in "
                 "--insecure-dev");
  }
  if (send->parsed()) {
    std::stringstream text;
    if (file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(file, std::ios::binary);
      if (!in) return Usage(options, "cannot read " + file);
      text << in.rdbuf();
    }
    request.mutable_send()->set_notification_json(text.str());
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::SendJson(r.send()); },
        [](const Reply& r) { return dutyhub::cli::SendText(r.send()); });
  }
  if (inbox_cmd->parsed()) {
    request.mutable_inbox()->set_inbox(inbox);
    request.mutable_inbox()->set_all(all);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::InboxJson(r.inbox()); },
        [](const Reply& r) { return dutyhub::cli::InboxText(r.inbox()); });
  }
  if (show->parsed()) {
    request.mutable_show()->set_delivery_id(delivery_id);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::ShowJson(r.show()); },
        [](const Reply& r) { return dutyhub::cli::ShowText(r.show()); });
  }
  if (ack->parsed()) {
    request.mutable_ack()->set_delivery_id(delivery_id);
    request.mutable_ack()->set_note(note);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::AckJson(r.ack()); },
        [](const Reply& r) { return dutyhub::cli::AckText(r.ack()); });
  }
  if (transfer->parsed()) {
    request.mutable_transfer()->set_delivery_id(delivery_id);
    request.mutable_transfer()->set_to_inbox(to);
    request.mutable_transfer()->set_reason(reason);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::TransferJson(r.transfer()); },
        [](const Reply& r) { return dutyhub::cli::TransferText(r.transfer()); });
  }
  if (status->parsed()) {
    request.mutable_status()->set_notification_id(notification_id);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::StatusJson(r.status_reply()); },
        [](const Reply& r) { return dutyhub::cli::StatusText(r.status_reply()); });
  }
  if (overdue->parsed()) {
    request.mutable_overdue()->set_inbox(inbox);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::OverdueJson(r.overdue()); },
        [](const Reply& r) { return dutyhub::cli::OverdueText(r.overdue()); });
  }
  if (report->parsed()) {
    request.mutable_report()->set_from_date(from_date);
    request.mutable_report()->set_to_date(to_date);
    request.mutable_report()->set_inbox(inbox);
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::ReportJson(r.report()); },
        [csv](const Reply& r) {
          return csv ? dutyhub::cli::ReportCsv(r.report()) : dutyhub::cli::ReportText(r.report());
        });
  }
  if (watch->parsed()) return Watch(options, inbox);
  if (audit_verify->parsed()) {
    request.mutable_audit_verify();
    return Call(
        options, request,
        [](const Reply& r) { return dutyhub::cli::AuditVerifyJson(r.audit_verify()); },
        [](const Reply& r) { return dutyhub::cli::AuditVerifyText(r.audit_verify()); }, true);
  }
  if (audit_access->parsed()) {
    request.mutable_audit_access()->set_nhs_number(nhs_number);
    return Call(
        options, request,
        [](const Reply& r) { return dutyhub::cli::AuditAccessJson(r.audit_access()); },
        [](const Reply& r) { return dutyhub::cli::AuditAccessText(r.audit_access()); });
  }
  if (admin_stats->parsed()) {
    request.mutable_stats();
    return Call(
        options, request, [](const Reply& r) { return dutyhub::cli::StatsJson(r.stats()); },
        [](const Reply& r) { return dutyhub::cli::StatsText(r.stats()); });
  }
  auto time_json = [](const Reply& r) { return dutyhub::cli::TimeJson(r.time().now_ms()); };
  auto time_text = [](const Reply& r) {
    return "broker time: " + dutyhub::FormatTimestamp(r.time().now_ms()) + " (" +
           dutyhub::FormatLocalForPeople(r.time().now_ms()) + ")\n";
  };
  if (admin_time->parsed()) {
    request.mutable_admin_time();
    return Call(options, request, time_json, time_text);
  }
  if (advance->parsed()) {
    std::optional<dutyhub::TimeMs> by = dutyhub::ParseDuration(duration);
    if (!by) return Usage(options, "DURATION: expected a duration such as 15m, 4h or 2d");
    request.mutable_advance_clock()->set_by_ms(*by);
    return Call(options, request, time_json, time_text);
  }
  return Usage(options, "no command given");
}

}  // namespace
