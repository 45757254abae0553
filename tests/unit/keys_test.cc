// Key files as the broker, the CLI and the adapters read them.
#include "broker/keys.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace dutyhub
