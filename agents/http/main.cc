// dutyhub-http: the HTTP adapter, first for the neonatal unit's system. An agency system
// POSTs a notification; it is validated with the broker's own rules and stored in the
// adapter's durable outbox before the answer (202), so the hub being away never loses it.
// The outbox forwards it and keeps its receipt, which GET answers and which is POSTed to
// the agency's callback URL, when it has one, whenever it changes. README.md beside this
// file is the contract for integration engineers.
//
// Logs name notification ids and field paths only, never a child's details: request bodies
// are never logged, nor the id of a notification that was refused (it may be anything).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agents/adapter/adapter_config.h"
#include "agents/cli/render.h"
#include "broker/validation.h"

namespace {

using nlohmann::json;

constexpr size_t kMaxBodyBytes = 1 << 20;  // a notification is a few kilobytes
constexpr int kExitConfiguration = 2;
constexpr size_t kMostQueuedCallbacks = 10000;

int Fail(const std::string& message) {
  std::cerr << "dutyhub-http: " << message << "\n";
  return kExitConfiguration;
}

struct CallbackUrl {
  std::string origin;  // "http://host:port", as httplib::Client takes it
  std::string path;    // "/receipts", at least "/"
};

std::optional<CallbackUrl> ParseCallbackUrl(const std::string& text) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string prefix = scheme;
    if (text.rfind(prefix, 0) != 0) continue;
    size_t slash = text.find('/', prefix.size());
    CallbackUrl out{text.substr(0, slash), slash == std::string::npos ? "/" : text.substr(slash)};
    if (out.origin.size() == prefix.size()) return std::nullopt;  // no host
    return out;
  }
  return std::nullopt;
}

std::string Dump(const json& body) {
  // Replace, not throw, should anything hold invalid UTF-8.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

int HttpStatusFor(dutyhub::Code code) {
  switch (code) {
    case dutyhub::Code::kOk:
      return 200;
    case dutyhub::Code::kInvalidArgument:
      return 400;
    case dutyhub::Code::kPermissionDenied:
      return 403;
    case dutyhub::Code::kNotFound:
      return 404;
    case dutyhub::Code::kUnavailable:
      return 503;
    case dutyhub::Code::kInternal:
      return 500;
  }
  return 500;
}

// The command line's error shape (docs/CLI.md), so an agency system reads one format.
void ReplyError(httplib::Response& res, const dutyhub::Status& status) {
  dutyhub::v1::Status wire;
  wire.set_code(static_cast<dutyhub::v1::Status::Code>(status.code()));
  wire.set_message(status.message());
  for (const auto& v : status.violations()) {
    auto* out = wire.add_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  res.status = HttpStatusFor(status.code());
  res.set_content(Dump(dutyhub::cli::ErrorJson(wire)), "application/json");
}

// The outbox's state and attempts; with the broker's status (docs/CLI.md `status` fields)
// once it has been fetched.
json ReceiptJson(const dutyhub::Receipt& receipt) {
  json out = receipt.status ? dutyhub::cli::StatusJson(*receipt.status) : json::object();
  out["id"] = receipt.id;
  out["state"] = receipt.state;
  out["attempts"] = receipt.attempts;
  if (!receipt.refusal.empty()) out["refusal"] = receipt.refusal;
  return out;
}

// POSTs each receipt change to the agency's callback URL from a thread of its own, so a
// slow or absent receiver never holds up the outbox's sender. One attempt per change, with
// short timeouts: a failure is logged and the receipt stays available by GET; the next
// change carries the whole receipt anyway. Changes to one notification still waiting are
// merged into its latest, which keeps the queue bounded by the notifications in flight.
//
// Thread-safe: Post from any thread.
class ReceiptCallback {
 public:
  explicit ReceiptCallback(CallbackUrl url) : url_(std::move(url)), thread_([this] { Run(); }) {}
  ~ReceiptCallback() { Stop(); }

  void Post(const std::string& id, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [queued_id, queued_body] : queue_) {
      if (queued_id == id) {
        queued_body = std::move(body);
        return;
      }
    }
    if (queue_.size() >= kMostQueuedCallbacks) {
      spdlog::warn("callback for {} dropped: {} callbacks already waiting", queue_.front().first,
                   queue_.size());
      queue_.pop_front();
    }
    queue_.emplace_back(id, std::move(body));
    wake_.notify_one();
  }

  // Returns after the callback in progress, if any; what is still queued is not sent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
      if (!queue_.empty())
        spdlog::warn("stopping with {} receipt callback(s) unsent", queue_.size());
      wake_.notify_one();
    }
    thread_.join();
  }

 private:
  void Run() {
    httplib::Client client(url_.origin);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(5));
    client.set_write_timeout(std::chrono::seconds(5));
    while (true) {
      std::pair<std::string, std::string> next;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      httplib::Result res = client.Post(url_.path, next.second, "application/json");
      if (!res) {
        spdlog::warn("receipt callback for {} not delivered: {}", next.first,
                     httplib::to_string(res.error()));
      } else if (res->status < 200 || res->status > 299) {
        spdlog::warn("receipt callback for {} answered HTTP {}", next.first, res->status);
      } else {
        spdlog::info("receipt callback for {} delivered", next.first);
      }
    }
  }

  const CallbackUrl url_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<std::string, std::string>> queue_;  // (id, receipt JSON)
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

// The form's field paths only: never what was written in them, nor a key that is no field
// (which may be a child's name).
void LogBrokenRules(const dutyhub::Status& status) {
  std::string fields;
  for (const auto& v : status.violations())
    fields += (fields.empty() ? "" : ", ") + dutyhub::FormFieldLabel(v.field);
  spdlog::warn("refused a notification breaking {} rule(s): {}", status.violations().size(),
               fields);
}

void AcceptNotification(dutyhub::Outbox& outbox, const dutyhub::Clock& clock,
                        const httplib::Request& req, httplib::Response& res) {
  if (req.body.size() > kMaxBodyBytes) {  // httplib's own limit answers first; kept for safety
    res.status = 413;
    return;
  }
  // With the time, so that a form with a field written in the wrong shape hears about the
  // rest of its broken rules too.
  auto parsed = dutyhub::ParseNotificationJson(req.body, clock.Now());
  if (!parsed.ok()) {
    if (parsed.status().violations().empty()) {
      spdlog::warn("refused a notification that is not readable JSON");
    } else {
      LogBrokenRules(parsed.status());
    }
    ReplyError(res, parsed.status());
    return;
  }
  auto accepted = outbox.Accept(std::move(*parsed));
  if (!accepted.ok()) {
    const dutyhub::Status& status = accepted.status();
    if (status.code() == dutyhub::Code::kInvalidArgument) {
      LogBrokenRules(status);
    } else {
      spdlog::error("could not store a notification in the outbox: {}",
                    dutyhub::CodeName(status.code()));
    }
    ReplyError(res, status);
    return;
  }
  std::string state = "PENDING";
  if (auto receipt = outbox.GetReceipt(accepted->id); receipt.ok() && receipt->has_value()) {
    state = (*receipt)->state;
  }
  if (accepted->duplicate) {
    spdlog::info("notification {} again: a retry, already in the outbox", accepted->id);
  }
  res.status = 202;
  res.set_header("Location", "/v1/notifications/" + accepted->id);
  res.set_content(
      Dump(json{{"id", accepted->id}, {"duplicate", accepted->duplicate}, {"state", state}}),
      "application/json");
}

void AnswerReceipt(dutyhub::Outbox& outbox, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  auto receipt = outbox.GetReceipt(id);
  if (!receipt.ok()) {
    spdlog::error("could not read a receipt from the outbox: {}",
                  dutyhub::CodeName(receipt.status().code()));
    ReplyError(res, receipt.status());
    return;
  }
  if (!receipt->has_value()) {
    ReplyError(res, dutyhub::Status::NotFound("no notification with this id was accepted here"));
    return;
  }
  res.status = 200;
  res.set_content(Dump(ReceiptJson(**receipt)), "application/json");
}

// Errors httplib answers by itself (too large, no such path, wrong method) get the same
// JSON shape as ours.
httplib::Server::HandlerResponse DescribeError(const httplib::Request&, httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  dutyhub::Status status = dutyhub::Status::Internal("the adapter could not handle this request");
  if (res.status == 413) {
    status = dutyhub::Status::InvalidArgument("the notification is larger than 1 MiB");
  } else if (res.status == 404) {
    status = dutyhub::Status::NotFound(
        "no such endpoint: POST /v1/notifications, GET /v1/notifications/ID");
  } else if (res.status < 500) {
    status = dutyhub::Status::InvalidArgument("the request is not one this adapter understands");
  }
  const int code = res.status;
  ReplyError(res, status);
  res.status = code;
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

int main(int argc, char** argv) {
  // The outbox holds children's details: nobody but the adapter's own account reads it.
  umask(077);
  CLI::App app{
      "dutyhub-http: takes an agency system's safeguarding notifications over HTTP, keeps them "
      "in a durable outbox and forwards them to dutyhub; answers their receipts"};
  std::string config_path;
  app.add_option("--config", config_path, "the adapter's configuration (YAML, see example.yaml)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitConfiguration;
  }

  auto config = dutyhub::LoadAdapterConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (config->listen.empty())
    return Fail(config_path + ": listen: missing required key (HOST:PORT)");
  auto listen = dutyhub::ParseListen(config->listen);
  if (!listen) return Fail(config_path + ": listen: expected HOST:PORT, e.g. 127.0.0.1:8080");
  std::optional<CallbackUrl> callback_url;
  if (!config->callback_url.empty()) {
    callback_url = ParseCallbackUrl(config->callback_url);
    if (!callback_url)
      return Fail(config_path + ": callback_url: expected http://HOST[:PORT]/PATH or https://...");
  }
  auto options = dutyhub::OutboxOptionsFor(*config);
  if (!options.ok()) return Fail(options.status().message());
  if (!options->keys) {
    spdlog::warn(
        "INSECURE DEVELOPMENT MODE: sending as {} without a key; only a broker in --insecure-dev "
        "accepts this. Never use it with real data.",
        config->insecure_as);
  }

  // SIGTERM and SIGINT are taken by sigwait below; every thread started from here on
  // inherits them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dutyhub::SystemClock clock;
  auto opened = dutyhub::Outbox::Open(std::move(*options), clock);
  if (!opened.ok()) return Fail(config->outbox + ": " + opened.status().message());
  dutyhub::Outbox& outbox = **opened;

  std::unique_ptr<ReceiptCallback> callback;
  if (callback_url) callback = std::make_unique<ReceiptCallback>(*callback_url);
  outbox.OnReceiptChanged([&callback](const dutyhub::Receipt& receipt) {
    int copies = 0, acknowledged = 0;
    if (receipt.status) {
      for (const auto& d : receipt.status->deliveries()) {
        ++copies;
        acknowledged += d.state() == dutyhub::v1::ACKNOWLEDGED;
      }
    }
    spdlog::info("receipt for {} changed: {} of {} copies acknowledged", receipt.id, acknowledged,
                 copies);
    if (callback) callback->Post(receipt.id, Dump(ReceiptJson(receipt)));
  });

  httplib::Server server;
  server.set_payload_max_length(kMaxBodyBytes);
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(10));
  server.Post("/v1/notifications",
              [&outbox, &clock](const httplib::Request& req, httplib::Response& res) {
                AcceptNotification(outbox, clock, req, res);
              });
  server.Get(R"(/v1/notifications/([^/]+))",
             [&outbox](const httplib::Request& req, httplib::Response& res) {
               AnswerReceipt(outbox, req, res);
             });
  server.set_error_handler(httplib::Server::HandlerWithResponse(DescribeError));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        spdlog::error("a request failed inside the adapter");
        ReplyError(res, dutyhub::Status::Internal("the adapter could not handle this request"));
      });

  int port = listen->port;
  if (port == 0) {
    port = server.bind_to_any_port(listen->host);
  } else if (!server.bind_to_port(listen->host, port)) {
    port = -1;
  }
  if (port <= 0) return Fail(config_path + ": listen: cannot listen on " + config->listen);
  if (!dutyhub::IsLoopbackHost(listen->host)) {
    spdlog::warn(
        "listening beyond loopback: anyone who reaches {} sends as {}; keep it behind the "
        "agency's firewall or TLS proxy",
        config->listen, config->agency);
  }

  outbox.Start();
  std::atomic<bool> stopping{false};
  std::atomic<bool> ended{false};
  std::thread http([&] {
    server.listen_after_bind();
    ended = true;
    if (!stopping) kill(getpid(), SIGTERM);  // ended by itself: wakes the sigwait below
  });
  // httplib's stop() does nothing before the server runs, so wait for that first.
  while (!server.is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string shown_host =
      listen->host.find(':') == std::string::npos ? listen->host : "[" + listen->host + "]";
  spdlog::info("dutyhub-http for {} listening on http://{}:{}; outbox {}; broker {}{}",
               config->agency, shown_host, port, config->outbox, config->broker,
               callback_url ? "; receipt callbacks on" : "");

  int received = 0;
  sigwait(&signals, &received);
  stopping = true;
  const bool failed = ended.load();
  if (failed) spdlog::error("the HTTP server stopped by itself");
  spdlog::info("stopping on signal {}: no new requests; finishing those in progress", received);
  server.stop();
  http.join();
  outbox.Stop();
  if (callback) callback->Stop();
  spdlog::info(
      "dutyhub-http stopped; {} notification(s) still waiting in the outbox for the broker",
      outbox.pending());
  return failed ? 1 : 0;
}
