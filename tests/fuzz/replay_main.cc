// A main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on
// every file named, or on every file in every folder named (not recursing), in name
// order. ctest uses it to replay the checked-in seed corpora in every build, with any
// compiler; to reproduce a crash a fuzzer found, pass the crash file.
//
// Exit status: 0 when every input ran; 2 when a path cannot be read (a missing corpus must
// not pass as an empty one). A crashing input ends the process, as under libFuzzer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool Run(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) return false;
  std::fprintf(stderr, "replay: %s\n", file.string().c_str());
  // A copy of exactly `size` bytes, so a read past the end is caught as under libFuzzer,
  // and never a null pointer (libFuzzer passes a valid one even for an empty input).
  static const uint8_t kNothing = 0;
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.empty() ? &kNothing : copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::error_code error;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    if (error) {
      std::fprintf(stderr, "replay: cannot read %s: %s\n", argv[i], error.message().c_str());
      return 2;
    }
    for (const auto& file : files) {
      if (!Run(file)) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.string().c_str());
        return 2;
      }
      ++ran;
    }
  }
  std::printf("replay: ran %zu inputs\n", ran);
  return 0;
}
