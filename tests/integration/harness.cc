#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace dutyhub::testing {
namespace {

// In a child just forked: it dies with the test that started it. A test that crashes never
// runs its fixtures' destructors, and the brokers and gateways it started would otherwise
// run on, holding ports, waking every second and weighing on every benchmark after them.
// The signal is sent when the forking thread ends: every fork here is on a test's thread.
void DieWithTheTest(pid_t test) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != test) _exit(127);  // it ended before the line above
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Sends `signal` to the child `pid`, reaps it and forgets it; its exit code, or -1 when
// there was none running.
int EndChild(pid_t& pid, int signal) {
  if (pid <= 0) return -1;
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

nlohmann::json CommandResult::Json() const {
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         int timeout_seconds) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return {};
  const pid_t test = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    DieWithTheTest(test);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    auto args = Argv(argv);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Inputs here are small (a notification); write it all, then close.
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = write(in_pipe[1], input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  CommandResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int open_fds = 2;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[65536];
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TempDir::TempDir() {
  std::random_device device;
  path_ = std::filesystem::temp_directory_path() /
          ("dutyhub-test-" + std::to_string(getpid()) + "-" + std::to_string(device()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path SamplePath(const std::string& name) {
  return std::filesystem::path(DUTYHUB_SAMPLES_DIR) / name;
}

Notifications::Notifications() : body_(ReadFile(SamplePath("hospital-liaison-school-age.json"))) {}

std::string Notifications::With(const std::string& id) const {
  static constexpr char kSampleId[] = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a02";
  std::string copy = body_;
  copy.replace(copy.find(kSampleId), 36, id);
  return copy;
}

std::string Notifications::Id(int client, int n) {
  char id[40];
  std::snprintf(id, sizeof id, "6f1c2a7e-3b4d-4e5f-%04x-%012d", 0x8000 + client, n);
  return id;
}

std::filesystem::path ConfigPath(const std::string& name) {
  return std::filesystem::path(DUTYHUB_CONFIG_DIR) / name;
}

void MakeKeys(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  std::filesystem::create_directories(dir);
  auto keygen = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv = {DUTYHUB_CLI_BIN, "keygen", "--out",
                                     (dir / (name + ".key")).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult r = RunCommand(argv);
    std::ofstream(dir / (name + ".pub")) << r.out;
  };
  keygen("broker", {});
  for (const std::string& name : names)
    keygen(name, {"--broker-key", (dir / "broker.pub").string()});
}

std::vector<std::string> NorthshirePrincipals() {
  return {"gwh-ed", "gwh-scbu", "northshire-mash", "alice", "bob",  "carol", "sam",
          "priya",  "gina",     "eddie",           "dan",   "erin", "frank", "tess"};
}

namespace {

void CollectPersonalDetails(const nlohmann::json& node, std::set<std::string>& out) {
  static const std::set<std::string> kPersonal = {
      "given_name", "family_name", "nhs_number", "date_of_birth", "expected_delivery_date",
      "postcode"};
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (kPersonal.count(key) && value.is_string()) {
        std::string text = value;
        out.insert(text);
        text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
        out.insert(text);
      } else if (key == "lines") {
        for (const auto& line : value) out.insert(line.get<std::string>());
      } else {
        CollectPersonalDetails(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) CollectPersonalDetails(item, out);
  }
}

}  // namespace

std::set<std::string> PersonalDetailsInSamples() {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(DUTYHUB_SAMPLES_DIR)) {
    if (entry.path().extension() != ".json") continue;
    CollectPersonalDetails(nlohmann::json::parse(ReadFile(entry.path()), nullptr, false), out);
  }
  return out;
}

std::string WithoutTimestamps(const std::string& log) {
  std::string out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > 26 && line[0] == '[' && line[25] == ']') line = line.substr(26);
    out += line + "\n";
  }
  return out;
}

void ExpectNoPersonalDetails(const std::string& stamped_log, const std::string& which) {
  const std::string log = WithoutTimestamps(stamped_log);
  for (const std::string& detail : PersonalDetailsInSamples()) {
    EXPECT_EQ(log.find(detail), std::string::npos)
        << which << " holds a personal detail from a sample";
  }
}

std::filesystem::path LogFolder() {
  std::filesystem::path dir = DUTYHUB_TEST_LOGS;
  std::filesystem::create_directories(dir);
  return dir;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv,
                                     std::filesystem::path output)
    : output_(std::move(output)) {
  const pid_t test = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    DieWithTheTest(test);
    int fd = open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    auto args = Argv(argv);
    execv(args[0], args.data());
    _exit(127);
  }
}

BackgroundCommand::~BackgroundCommand() { EndChild(pid_, SIGTERM); }

AdapterProcess::AdapterProcess(std::string binary, std::filesystem::path config,
                               const std::string& name, std::string marker)
    : binary_(std::move(binary)), config_(std::move(config)), marker_(std::move(marker)) {
  static int count = 0;
  log_ = LogFolder() /
         (name + "-" + std::to_string(getpid()) + "-" + std::to_string(++count) + ".log");
}

AdapterProcess::~AdapterProcess() { EndChild(pid_, SIGKILL); }

bool AdapterProcess::Start() {
  const pid_t test = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    DieWithTheTest(test);
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    execl(binary_.c_str(), binary_.c_str(), "--config", config_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return Eventually(
             [&] {
               if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                 pid_ = -1;
                 return true;
               }
               std::string text = log();
               size_t at = text.rfind(marker_);
               if (at == std::string::npos || text.find('\n', at) == std::string::npos)
                 return false;
               port_ = std::atoi(text.c_str() + at + marker_.size());
               return true;
             },
             10000) &&
         pid_ > 0 && port_ > 0;
}

int AdapterProcess::Stop() { return EndChild(pid_, SIGTERM); }

std::string AdapterProcess::log() const { return ReadFile(log_); }

void BackgroundCommand::Kill9() { EndChild(pid_, SIGKILL); }

std::string SqliteQuery(const std::filesystem::path& db, const std::string& sql) {
  CommandResult r = RunCommand({"/usr/bin/sqlite3", "-readonly", db.string(), sql});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find_last_not_of('\n') + 1);
}

long ResidentKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool Eventually(const std::function<bool()>& condition, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

std::string BackgroundCommand::Output() const { return ReadFile(output_); }

bool BackgroundCommand::WaitFor(const std::string& text, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

BrokerProcess::BrokerProcess(std::filesystem::path config, std::filesystem::path data_dir,
                             std::vector<std::string> extra)
    : config_(std::move(config)), data_dir_(std::move(data_dir)), extra_(std::move(extra)) {}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) Kill9();
  // Keep the log for the check that no child's details reached any log.
  std::error_code ec;
  std::filesystem::copy_file(
      data_dir_ / "broker.log",
      LogFolder() / ("broker-" + std::to_string(getpid()) + "-" +
                     std::to_string(reinterpret_cast<uintptr_t>(this)) + ".log"),
      std::filesystem::copy_options::overwrite_existing, ec);
}

bool BrokerProcess::Start() {
  std::filesystem::create_directories(data_dir_);
  std::filesystem::remove(data_dir_ / "broker.endpoint");
  std::vector<std::string> args = {DUTYHUB_BROKER_BIN, "--config", config_.string(), "--data",
                                   data_dir_.string(), "--listen", listen_};
  if (keys_.empty()) {
    args.push_back("--insecure-dev");
  } else {
    args.insert(args.end(), {"--key", (keys_ / "broker.key").string(), "--keys", keys_.string()});
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  const pid_t test = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    DieWithTheTest(test);
    int log_fd = open((data_dir_ / "broker.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close(log_fd);
    auto argv = Argv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::string endpoint = ReadFile(data_dir_ / "broker.endpoint");
    if (!endpoint.empty() && endpoint.back() == '\n') {
      endpoint_ = endpoint.substr(0, endpoint.size() - 1);
      std::vector<std::string> ping = {DUTYHUB_CLI_BIN, "--broker", endpoint_,
                                       "--timeout",     "2",        "ping"};
      if (!keys_.empty()) ping.insert(ping.begin() + 1, {"--key", (keys_ / "frank.key").string()});
      if (RunCommand(ping).exit_code == 0) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int BrokerProcess::Stop() { return EndChild(pid_, SIGTERM); }

void BrokerProcess::Kill9() { EndChild(pid_, SIGKILL); }

int BrokerProcess::WaitForExit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

std::string BrokerProcess::log() const { return ReadFile(data_dir_ / "broker.log"); }

CommandResult BrokerProcess::Cli(const std::string& as, std::vector<std::string> args,
                                 const std::string& input) const {
  std::vector<std::string> argv = {DUTYHUB_CLI_BIN, "--broker", endpoint_, "--json"};
  if (keys_.empty()) {
    argv.insert(argv.end(), {"--as", as});
  } else {
    argv.insert(argv.end(), {"--key", (keys_ / (as + ".key")).string()});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = RunCommand(argv, input);
  std::ofstream(LogFolder() / ("client-" + std::to_string(getpid()) + ".log"), std::ios::app)
      << result.err;
  return result;
}

}  // namespace dutyhub::testing
