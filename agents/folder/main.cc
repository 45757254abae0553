// dutyhub-folder: for the MASH case-management export. Watches a folder for notification
// JSON files; moves each to sent/ once it is in the outbox, or to failed/ with a
// .error.json beside it; writes receipts/<id>.json as the receipt changes. It never
// deletes a file, and never moves one away before the outbox has it on disk.
//
// Exporters should write a file under another name (e.g. .json.tmp) and rename it to
// .json when complete; files younger than half a second are left for the next look.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "agents/adapter/adapter_config.h"
#include "agents/cli/render.h"
#include "broker/validation.h"

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop = true; }

// Who may read what the adapter writes back. The exporter often runs under an account of
// its own, sharing the folder through a group; the operator says so with the folder's own
// group and permissions, and the subfolders and files the adapter makes follow them: the
// folder's group, and of its group bits only reading (and, for a subfolder, searching),
// never anything for others. Never writing: a group that could write in receipts/ or failed/
// could put a link where the adapter writes. A folder of 0700 keeps everything to the
// adapter's account.
struct Sharing {
  gid_t group = static_cast<gid_t>(-1);  // -1: leave the group as made
  mode_t folder_mode = 0700;
  mode_t file_mode = 0600;
};

Sharing SharingOf(const fs::path& folder) {
  Sharing sharing;
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) return sharing;
  sharing.group = st.st_gid;
  sharing.folder_mode = 0700 | (st.st_mode & (S_IRGRP | S_IXGRP | S_ISGID));  // set-gid: kept
  sharing.file_mode = 0600 | (st.st_mode & S_IRGRP);
  return sharing;
}

// Best effort: an adapter's account outside the folder's group keeps its own group (said
// once in the log), and the file stays readable by that account alone, never wider.
void Share(int fd, const Sharing& sharing, mode_t mode) {
  static std::atomic<bool> told{false};  // the watcher's thread and the outbox's both write
  if (sharing.group != static_cast<gid_t>(-1) && ::fchown(fd, -1, sharing.group) != 0 &&
      !told.exchange(true)) {
    spdlog::warn(
        "cannot give what the adapter writes back the folder's group ({}): put the "
        "adapter's account in that group, or make the folder set-group-id (chmod g+s)",
        std::strerror(errno));
  }
  (void)::fchmod(fd, mode);
}

// Writes `text` to `path` so that a reader never sees half a file. The temporary file is made
// new, never opened through a link or a file someone else left there.
void WriteAtomically(const fs::path& path, const std::string& text, const Sharing& sharing) {
  fs::path temporary = path;
  temporary += ".tmp";
  (void)::unlink(temporary.c_str());  // one left by a crash (or a link): the name, not its target
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::error("cannot write a file in {}: {}", path.parent_path().filename().string(),
                  std::strerror(errno));
    return;
  }
  Share(fd, sharing, sharing.file_mode);
  bool written = true;
  for (size_t done = 0; written && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    written = n > 0;
    if (written) done += static_cast<size_t>(n);
  }
  ::close(fd);
  std::error_code ec;
  if (written) {
    fs::rename(temporary, path, ec);
  } else {
    fs::remove(temporary, ec);
  }
}

// Why the folder is not safe to watch, or "". Where another account may write in it (the
// exporter's, through the group, to drop its files), it must be sticky and the adapter's own:
// otherwise that account could rename sent/, failed/ or receipts/ and put a link in its
// place, and what the adapter writes back would go wherever the link leads. For the same
// reason each of those already there must be a folder of the adapter's own, not a link.
std::string UnsafeFolder(const fs::path& folder) {
  struct stat st {};
  if (::lstat(folder.c_str(), &st) != 0) return "cannot see " + folder.string();
  if (!S_ISDIR(st.st_mode)) return folder.string() + " is not a folder (a link is not taken)";
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (others_write && ((st.st_mode & S_ISVTX) == 0 || st.st_uid != ::geteuid())) {
    return folder.string() +
           " may be written in by other accounts, so it must be sticky and the adapter's own "
           "(chown the adapter's account, then chmod 3770: set-group-id and sticky)";
  }
  for (const char* sub : {"sent", "failed", "receipts"}) {
    const fs::path path = folder / sub;
    if (::lstat(path.c_str(), &st) != 0) continue;  // made below
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
      return path.string() +
             " is not a folder of the adapter's own: remove it (the adapter makes it)";
    }
  }
  return "";
}

// A subfolder made by the adapter (one the operator made keeps what they gave it).
void MakeShared(const fs::path& folder, const Sharing& sharing) {
  std::error_code ec;
  if (!fs::create_directories(folder, ec)) return;
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  Share(fd, sharing, sharing.folder_mode);
  ::close(fd);
}

// The dropped file's text, never read through a link: an exporter's link could otherwise have
// the adapter send, as its agency, any file the adapter's account may read.
// Opened without waiting (a FIFO put in its place would otherwise hold the adapter for ever),
// and read only when it is a plain file.
dutyhub::Result<std::string> ReadDropped(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      return dutyhub::Status::InvalidArgument(
          "the file is a link: the exporter must write the notification's file itself");
    }
    return dutyhub::Status::Unavailable(std::string("cannot read it: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return dutyhub::Status::InvalidArgument(
        "it is not a plain file: the exporter must write the notification's file itself");
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string text;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0)
    return dutyhub::Status::Unavailable(std::string("cannot read it: ") + std::strerror(errno));
  return text;
}

// `name` in `dir`, or `name` with a number added if that is taken: nothing is overwritten.
fs::path FreeName(const fs::path& dir, const fs::path& name) {
  fs::path candidate = dir / name;
  for (int i = 1; fs::exists(candidate); ++i) {
    candidate = dir / (name.stem().string() + "." + std::to_string(i) + name.extension().string());
  }
  return candidate;
}

nlohmann::json ReceiptJson(const dutyhub::Receipt& receipt) {
  nlohmann::json out =
      receipt.status ? dutyhub::cli::StatusJson(*receipt.status) : nlohmann::json::object();
  out["id"] = receipt.id;
  out["state"] = receipt.state;
  if (!receipt.refusal.empty()) out["refusal"] = receipt.refusal;
  return out;
}

// What the log may say of a file: its notification's id, never its name, which the exporter
// chose and may have made of the child's name or date of birth (promise 7: ids only).
std::string ForLog(const dutyhub::Result<dutyhub::v1::Notification>& parsed) {
  if (!parsed.ok()) return "a file that is not a readable notification";
  return parsed->id().empty() ? "a file with no notification id"
                              : "the file of notification " + parsed->id();
}

// One file: into the outbox and sent/, or into failed/ with the reasons. A store failure
// leaves it where it is, for the next look; `waiting` holds the files left so, so that each
// is logged once, not at every look (every 200 ms until the outbox can take it again).
void Take(dutyhub::Outbox& outbox, const dutyhub::Clock& clock, const fs::path& file,
          const fs::path& folder, const Sharing& sharing, std::set<fs::path>& waiting) {
  auto text = ReadDropped(file);
  dutyhub::Status status;
  auto parsed = text.ok() ? dutyhub::ParseNotificationJson(*text, clock.Now())
                          : dutyhub::Result<dutyhub::v1::Notification>(text.status());
  const std::string which = ForLog(parsed);
  if (parsed.ok()) {
    auto accepted = outbox.Accept(*parsed);
    if (accepted.ok()) {
      std::error_code ec;
      fs::rename(file, FreeName(folder / "sent", file.filename()), ec);
      spdlog::info("notification {} in the outbox{}; its file moved to sent/", accepted->id,
                   accepted->duplicate ? " (already there)" : "");
      waiting.erase(file);
      return;
    }
    status = accepted.status();
  } else {
    status = parsed.status();
  }
  // Not stored (the outbox's disk): left where it is, for the next look. Anything else is
  // final: a broken rule, or a form the hub refused when it was sent before (its receipt
  // says so too), which sending again would not change.
  if (status.code() == dutyhub::Code::kUnavailable || status.code() == dutyhub::Code::kInternal) {
    if (waiting.insert(file).second)
      spdlog::error("{}: not taken yet ({}); it stays in the folder and is tried again", which,
                    dutyhub::CodeName(status.code()));
    return;
  }
  waiting.erase(file);
  dutyhub::v1::Status wire;
  static_assert(static_cast<int>(dutyhub::Code::kInvalidArgument) ==
                    dutyhub::v1::Status::INVALID_ARGUMENT &&
                static_cast<int>(dutyhub::Code::kPermissionDenied) ==
                    dutyhub::v1::Status::PERMISSION_DENIED &&
                static_cast<int>(dutyhub::Code::kNotFound) == dutyhub::v1::Status::NOT_FOUND);
  wire.set_code(static_cast<dutyhub::v1::Status::Code>(status.code()));
  wire.set_message(status.message());
  for (const auto& v : status.violations()) {
    auto* out = wire.add_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  fs::path failed = FreeName(folder / "failed", file.filename());
  WriteAtomically(failed.string() + ".error.json", dutyhub::cli::ErrorJson(wire).dump(2) + "\n",
                  sharing);
  std::error_code ec;
  fs::rename(file, failed, ec);
  spdlog::warn("{}: refused ({}) with {} violation(s); see failed/", which,
               dutyhub::CodeName(status.code()), wire.violations_size());
}

}  // namespace

int main(int argc, char** argv) {
  umask(077);  // the outbox and receipts hold children's details
  CLI::App app{"dutyhub-folder: sends the notification files an agency system drops in a folder"};
  std::string config_path;
  app.add_option("--config", config_path, "the adapter's configuration (YAML)")->required();
  CLI11_PARSE(app, argc, argv);

  auto config = dutyhub::LoadAdapterConfig(config_path);
  if (!config.ok()) {
    std::cerr << "dutyhub-folder: " << config.status().message() << "\n";
    return 2;
  }
  if (config->folder.empty()) {
    std::cerr << "dutyhub-folder: " << config_path << ": folder: missing required key\n";
    return 2;
  }
  const fs::path folder = config->folder;
  std::error_code made;
  fs::create_directories(folder, made);
  if (std::string unsafe = UnsafeFolder(folder); !unsafe.empty()) {
    std::cerr << "dutyhub-folder: " << config_path << ": folder: " << unsafe << "\n";
    return 2;
  }
  const Sharing sharing = SharingOf(folder);
  for (const char* sub : {"sent", "failed", "receipts"}) MakeShared(folder / sub, sharing);
  auto options = dutyhub::OutboxOptionsFor(*config);
  if (!options.ok()) {
    std::cerr << "dutyhub-folder: " << options.status().message() << "\n";
    return 2;
  }
  dutyhub::SystemClock clock;
  auto outbox = dutyhub::Outbox::Open(*options, clock);
  if (!outbox.ok()) {
    std::cerr << "dutyhub-folder: " << outbox.status().message() << "\n";
    return 2;
  }
  (*outbox)->OnReceiptChanged([&folder, &sharing](const dutyhub::Receipt& receipt) {
    // The id passed validation (a UUID), so it is safe as a file name.
    WriteAtomically(folder / "receipts" / (receipt.id + ".json"),
                    ReceiptJson(receipt).dump(2) + "\n", sharing);
  });
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  (*outbox)->Start();
  spdlog::info("dutyhub-folder watching {} for {}", folder.string(), config->agency);
  std::set<fs::path> waiting;  // left in the folder by a store failure, already logged
  while (!g_stop) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
      auto age = fs::file_time_type::clock::now() - entry.last_write_time(ec);
      if (age < std::chrono::milliseconds(500)) continue;  // maybe still being written
      files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) Take(**outbox, clock, file, folder, sharing, waiting);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  (*outbox)->Stop();
  spdlog::info("dutyhub-folder stopped; {} notification(s) still waiting in the outbox",
               (*outbox)->pending());
  return 0;
}
