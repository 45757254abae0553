// Runs the real binaries for integration tests: a dutyhub-broker process on loopback with
// a store in a fresh temporary folder, and the dutyhub command line.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace dutyhub::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json Json() const;  // standard output parsed; null when it is not JSON
};

// Runs `argv` to completion (at most `timeout_seconds`), feeding `input` on stdin.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         int timeout_seconds = 30);

// A temporary folder removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);
std::filesystem::path SamplePath(const std::string& name);
std::filesystem::path ConfigPath(const std::string& name);

// The school-age sample (school nursing only) with its id replaced: one notification per id,
// for tests that send many.
class Notifications {
 public:
  Notifications();
  std::string With(const std::string& id) const;
  // A distinct id for each (client, n).
  static std::string Id(int client, int n);

 private:
  std::string body_;
};

// A command left running (dutyhub watch), its standard output going to a file.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::vector<std::string>& argv, std::filesystem::path output);
  ~BackgroundCommand();
  // What it has written so far.
  std::string Output() const;
  // Waits until its output holds `text`, for at most `timeout_ms`; true when it does.
  bool WaitFor(const std::string& text, int timeout_ms = 5000) const;
  // SIGKILL, as in a power cut.
  void Kill9();

 private:
  pid_t pid_ = -1;
  std::filesystem::path output_;
};

// Key pairs made with `dutyhub keygen`: DIR/broker.key and .pub, and for each name
// DIR/NAME.key (trusting that broker) and DIR/NAME.pub.
void MakeKeys(const std::filesystem::path& dir, const std::vector<std::string>& names);

// Every value in the samples (valid and invalid) that identifies a person: names, NHS
// numbers as written and normalised, dates of birth, expected delivery dates, address
// lines and postcodes.
std::set<std::string> PersonalDetailsInSamples();

// `log` without the "[2026-11-25 19:17:23.376] " stamps spdlog puts on each line, whose
// dates would otherwise match a sample's date of birth or delivery date one day.
std::string WithoutTimestamps(const std::string& log);

// Fails the current test when `log` (its spdlog timestamps set aside) holds any personal
// detail from the samples; says which log, never which detail.
void ExpectNoPersonalDetails(const std::string& log, const std::string& which);

// Where the integration tests keep broker and client logs for the final check.
std::filesystem::path LogFolder();

// Every agency and person of config/northshire.yaml.
std::vector<std::string> NorthshirePrincipals();

// An agency adapter process (dutyhub-http, dutyhub-hl7) started with `--config CONFIG`.
// What it writes goes to the suite's log folder, so the check at the end of the suite reads
// it for a child's details too.
class AdapterProcess {
 public:
  // `name` prefixes its log file; `marker` is the text after which it logs its port.
  AdapterProcess(std::string binary, std::filesystem::path config, const std::string& name,
                 std::string marker);
  ~AdapterProcess();

  // Starts it and waits until it says where it listens; false when it exits first or
  // says nothing within 10 s.
  bool Start();
  // SIGTERM, then its exit code.
  int Stop();
  int port() const { return port_; }
  std::string log() const;

 private:
  std::string binary_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  std::string marker_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class BrokerProcess {
 public:
  // `extra` goes after --config/--data/--listen/--insecure-dev, e.g. --simulated-clock T.
  BrokerProcess(std::filesystem::path config, std::filesystem::path data_dir,
                std::vector<std::string> extra = {});
  ~BrokerProcess();

  // Starts it and waits until it answers a ping; false (with its stderr in `log()`) when
  // it exits or does not answer within 10 s.
  bool Start();
  // SIGTERM and wait; returns the exit code.
  int Stop();
  // SIGKILL: nothing is finished or flushed, as in a power cut of the process.
  void Kill9();
  // Waits at most `timeout_ms` for it to end by itself: its exit code, or -1 while it runs.
  int WaitForExit(int timeout_ms);
  // Runs with CURVE (no --insecure-dev), keys from MakeKeys(dir); the command line then
  // connects as NAME with DIR/NAME.key.
  void UseKeys(std::filesystem::path dir) { keys_ = std::move(dir); }
  // Listens here instead of on a port the system picks.
  void ListenOn(std::string endpoint) { listen_ = std::move(endpoint); }
  bool Running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& endpoint() const { return endpoint_; }
  std::string log() const;

  // The dutyhub command line against this broker, as `as` (with --as, or with as's key
  // under CURVE), with --json. What it writes on standard error is kept in the folder
  // DUTYHUB_TEST_LOGS for the log check at the end of the suite.
  CommandResult Cli(const std::string& as, std::vector<std::string> args,
                    const std::string& input = "") const;

 private:
  std::filesystem::path config_;
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  std::string endpoint_;
  std::filesystem::path keys_;
  std::string listen_ = "tcp://127.0.0.1:*";
};

// One query through Debian's sqlite3 command, read-only; its output without the last
// newline. Fails the current test when sqlite3 does.
std::string SqliteQuery(const std::filesystem::path& db, const std::string& sql);

// A process's resident memory in KiB (VmRSS), or -1 when it cannot be read.
long ResidentKb(pid_t pid);

// A loopback TCP port nothing listens on right now.
int FreePort();

// Polls `condition` every 50 ms for at most `timeout_ms`; true once it holds.
bool Eventually(const std::function<bool()>& condition, int timeout_ms = 30000);

}  // namespace dutyhub::testing
