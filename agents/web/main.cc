// dutyhub-web: the pages duty workers, managers and agencies' staff use in a browser, and
// /metrics. A gateway: people sign in here, and it asks the broker on their behalf with
// its own key; the broker believes it because its configuration names it under
// `gateways`. README.md beside this file says how to run it.
//
//   dutyhub-web --config web.yaml        serve the pages
//   dutyhub-web hash-password            read a password on stdin, print its Argon2id hash
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include "agents/adapter/adapter_config.h"
#include "agents/web/accounts.h"
#include "agents/web/app.h"
#include "agents/web/web_config.h"

namespace {

constexpr int kExitConfiguration = 2;

int Fail(const std::string& message) {
  std::cerr << "dutyhub-web: " << message << "\n";
  return kExitConfiguration;
}

int HashPasswordCommand() {
  std::string password;
  std::getline(std::cin, password);
  if (password.size() < 8) return Fail("a password needs at least 8 characters");
  auto hash = dutyhub::web::HashPassword(password);
  sodium_memzero(password.data(), password.size());
  if (!hash.ok()) return Fail(hash.status().message());
  std::cout << *hash << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dutyhub-web: the duty, manager and sender pages, and /metrics"};
  std::string config_path;
  app.add_option("--config", config_path, "the configuration file (README.md beside the source)");
  CLI::App* hash = app.add_subcommand("hash-password",
                                      "read a password on standard input, print its Argon2id hash");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return Fail("libsodium did not start");
  if (hash->parsed()) return HashPasswordCommand();
  if (config_path.empty()) return Fail("--config FILE is required (or hash-password)");

  auto config = dutyhub::web::LoadWebConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  auto listen = dutyhub::ParseListen(config->listen);

  dutyhub::SystemClock clock;
  dutyhub::web::Accounts accounts(
      clock, {config->lockout_failures, config->lockout_minutes * dutyhub::kMinuteMs,
              config->lockout_account_failures});
  if (!config->accounts.empty()) {
    if (auto s = accounts.Load(config->accounts); !s.ok()) return Fail(s.message());
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<httplib::Server> server;
  if (!config->tls_certificate.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(config->tls_certificate.c_str(),
                                                    config->tls_private_key.c_str());
    if (!tls->is_valid())
      return Fail(config_path + ": tls: cannot use that certificate and private key");
    server = std::move(tls);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  // Each live page holds a worker for its event stream, so there are plenty.
  server->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server->set_read_timeout(std::chrono::seconds(10));
  server->set_write_timeout(std::chrono::seconds(10));
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        spdlog::error("a request failed inside dutyhub-web");
        res.status = 500;
        res.set_content(
            "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"dutyhub-web could not handle this "
            "request\"}}",
            "application/json");
      });

  dutyhub::web::WebApp web(*config, accounts, clock);
  web.Register(*server);

  int port = listen->port;
  if (port == 0) {
    port = server->bind_to_any_port(listen->host);
  } else if (!server->bind_to_port(listen->host, port)) {
    port = -1;
  }
  if (port <= 0) return Fail(config_path + ": listen: cannot listen on " + config->listen);
  if (!dutyhub::IsLoopbackHost(listen->host) && config->tls_certificate.empty() &&
      !config->secure_cookies) {
    spdlog::warn(
        "listening beyond loopback without TLS: passwords and sessions would cross the network in "
        "clear; give `tls` or put it behind a TLS proxy with secure_cookies: true");
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> ended{false};
  std::thread http([&] {
    server->listen_after_bind();
    ended = true;
    if (!stopping) kill(getpid(), SIGTERM);
  });
  while (!server->is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string scheme = config->tls_certificate.empty() ? "http" : "https";
  const std::string shown_host =
      listen->host.find(':') == std::string::npos ? listen->host : "[" + listen->host + "]";
  spdlog::info("dutyhub-web listening on {}://{}:{}; broker {} as gateway {}{}", scheme, shown_host,
               port, config->broker, config->gateway,
               config->proxy_header.empty() ? "" : "; single sign-on on");

  int received = 0;
  sigwait(&signals, &received);
  stopping = true;
  spdlog::info("stopping on signal {}", received);
  web.Stop();
  server->stop();
  http.join();
  return ended && !stopping ? 1 : 0;
}
