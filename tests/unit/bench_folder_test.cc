// The benches empty the folder given as --dir: they must take only one that is new, empty or
// their own, and refuse anything else with nothing removed.
#include "tests/bench/bench_folder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using dutyhub::bench::ClaimBenchFolder;
using dutyhub::bench::kBenchFolderMark;

namespace {

class BenchFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("bench-folder-test-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  fs::path root_;
};

TEST_F(BenchFolderTest, AFolderNotThereYetIsMadeAndMarked) {
  const fs::path folder = root_ / "new" / "bench-data";
  EXPECT_EQ(ClaimBenchFolder(folder), "");
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::exists(folder / kBenchFolderMark));
}

TEST_F(BenchFolderTest, AnEmptyFolderIsTakenAndMarked) {
  const fs::path folder = root_ / "empty";
  fs::create_directories(folder);
  EXPECT_EQ(ClaimBenchFolder(folder), "");
  EXPECT_TRUE(fs::exists(folder / kBenchFolderMark));
}

TEST_F(BenchFolderTest, AFolderHoldingSomeoneElsesFilesIsRefusedAndNothingInItIsRemoved) {
  const fs::path folder = root_ / "home";
  Write(folder / "thesis.txt", "years of work");
  Write(folder / "data" / "dutyhub.sqlite", "a real store");
  const std::string refused = ClaimBenchFolder(folder);
  EXPECT_NE(refused.find(folder.string()), std::string::npos) << refused;
  EXPECT_NE(refused.find("new or empty folder"), std::string::npos) << refused;
  EXPECT_TRUE(fs::exists(folder / "thesis.txt"));
  EXPECT_TRUE(fs::exists(folder / "data" / "dutyhub.sqlite"));
  EXPECT_FALSE(fs::exists(folder / kBenchFolderMark));
}

TEST_F(BenchFolderTest, ABenchsOwnFolderFromAnEarlierRunIsEmptiedAndTakenAgain) {
  const fs::path folder = root_ / "bench-data";
  ASSERT_EQ(ClaimBenchFolder(folder), "");
  Write(folder / "broker" / "dutyhub.sqlite", "last run's store");
  EXPECT_EQ(ClaimBenchFolder(folder), "");
  EXPECT_FALSE(fs::exists(folder / "broker"));
  EXPECT_TRUE(fs::exists(folder / kBenchFolderMark));
}

TEST_F(BenchFolderTest, AFileIsRefusedAndLeftAsItWas) {
  const fs::path file = root_ / "notes.txt";
  Write(file, "keep me");
  EXPECT_NE(ClaimBenchFolder(file).find("is not a folder"), std::string::npos);
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
}

TEST_F(BenchFolderTest, ALinkToSomeoneElsesFolderIsRefusedAndWhatItPointsAtKept) {
  const fs::path real = root_ / "real";
  Write(real / "thesis.txt", "years of work");
  const fs::path link = root_ / "link";
  fs::create_directory_symlink(real, link);
  EXPECT_NE(ClaimBenchFolder(link), "");
  EXPECT_TRUE(fs::exists(real / "thesis.txt"));
}

}  // namespace
