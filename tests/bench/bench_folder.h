// The folder a bench keeps its stores in, given by --dir. A bench empties it before a run and
// removes it after, so it must never be a folder of someone else's: `--dir ~` or `--dir .`
// would otherwise delete a home directory or a checkout. The rule: a bench uses a folder that
// does not exist yet, is empty, or holds its own mark (left by an earlier run of a bench);
// anything else is refused, naming the folder, with nothing removed.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace dutyhub::bench {

inline constexpr const char* kBenchFolderMark = ".dutyhub-bench-folder";

// Empties `folder` (or makes it) and marks it as a bench's. Returns "" when it is ready,
// otherwise why it was refused; nothing in a refused folder is touched.
inline std::string ClaimBenchFolder(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(folder, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return folder.string() + " is not a folder; give --dir a new or empty folder";
    }
    const bool empty = fs::is_empty(folder, ec);
    if (ec) return folder.string() + ": " + ec.message();
    if (!empty && !fs::exists(folder / kBenchFolderMark, ec)) {
      return folder.string() +
             " holds files a bench did not make, and a bench empties its folder; give --dir a "
             "new or empty folder";
    }
    fs::remove_all(folder, ec);
    if (ec) return "cannot empty " + folder.string() + ": " + ec.message();
  }
  fs::create_directories(folder, ec);
  if (ec) return "cannot make " + folder.string() + ": " + ec.message();
  std::ofstream mark(folder / kBenchFolderMark);
  mark << "made by a dutyhub bench, which empties this folder when it runs again\n";
  if (!mark) return "cannot write in " + folder.string();
  return "";
}

}  // namespace dutyhub::bench
