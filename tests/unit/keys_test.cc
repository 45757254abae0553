// Key files as the broker, the CLI and the adapters read them.
#include "broker/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dutyhub {
namespace {

const char* kKey = "e5kZS}64gP!.JL+lcFy%a[wTAEMBy1sKX.M8)lq?";

TEST(ReadPublicKeyTest, AKeyGivenAsTextIsThatKey) {
  auto key = ReadPublicKey(kKey);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, kKey);
  EXPECT_FALSE(ReadPublicKey("not a key and not a file").ok());
}

TEST(ReadPublicKeyTest, AFileWhosePathWouldDecodeAsAKeyIsStillRead) {
  // A folder under /tmp whose .pub file's path is exactly 40 characters, each in Z85's
  // alphabet: the demo's keys in a clone at /tmp/demo had one such.
  const std::string folder = "/tmp/dhk-" + std::to_string(getpid() % 100000);
  std::filesystem::create_directories(folder);
  std::string path = folder + "/";
  path += std::string(40 - path.size() - 4, 'k') + ".pub";
  ASSERT_EQ(path.size(), 40u);
  ASSERT_TRUE(IsZ85Key(path)) << "the path must decode as a key for this test to mean anything";
  std::ofstream(path) << kKey << "\n";
  auto key = ReadPublicKey(path);
  std::filesystem::remove_all(folder);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, kKey) << "the path was taken for the key";
}

// A secret key is private to its owner (0600), or kept as a service's secrets are: owned by
// root, readable by the service's group (0640), which cannot then change it. Anything wider is
// refused, saying what to do.
TEST(ReadKeyFileTest, PrivateOrRootsForAGroupIsReadAndAnythingWiderRefused) {
  const std::string folder = "/tmp/dhkf-" + std::to_string(getpid());
  std::filesystem::create_directories(folder);
  auto pair = GenerateKeyPair();
  ASSERT_TRUE(pair.ok());
  const std::string path = folder + "/service.key";
  ASSERT_TRUE(WriteKeyFile(path, *pair).ok());
  struct Case {
    mode_t mode;
    bool root_may;   // owned by root
    bool other_may;  // owned by anyone else
  };
  const bool root = ::geteuid() == 0;
  for (const Case& c : {Case{0600, true, true}, Case{0400, true, true}, Case{0640, true, false},
                        Case{0660, false, false}, Case{0644, false, false},
                        Case{0604, false, false}, Case{0650, false, false}}) {
    SCOPED_TRACE(std::to_string(c.mode));
    ASSERT_EQ(::chmod(path.c_str(), c.mode), 0);
    if (root) {
      ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
      auto read = ReadKeyFile(path);
      EXPECT_EQ(read.ok(), c.root_may) << (read.ok() ? "" : read.status().message());
      if (read.ok()) {
        EXPECT_EQ(read->secret_key, pair->secret_key);
      } else {
        EXPECT_NE(read.status().message().find("chmod 600"), std::string::npos);
      }
      // Root's, for a group this process is not in: as good as open to others.
      ASSERT_EQ(::chown(path.c_str(), 0, 4321), 0);
      auto other_group = ReadKeyFile(path);
      EXPECT_EQ(other_group.ok(), c.other_may);
      ASSERT_EQ(::chown(path.c_str(), 4321, 4321), 0);  // as a service's own account
    }
    auto read = ReadKeyFile(path);  // owned by this (non-root) account, or by 4321
    EXPECT_EQ(read.ok(), c.other_may) << (read.ok() ? "" : read.status().message());
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace dutyhub
