// Delivery ids: unguessable, unique, and in the order they were made to the millisecond.
#include "broker/ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dutyhub {
namespace {

bool IsVersion7(const std::string& id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-')
    return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return false;
  }
  return id[14] == '7' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

TEST(RandomIdsTest, ManyIdsAcrossRefillsAreDistinctVersion7Uuids) {
  // Several times the ids drawn from one fill of random bytes, so refills are crossed.
  RandomIds ids;
  std::set<std::string> seen;
  std::set<std::string> random_parts;
  for (int i = 0; i < 5000; ++i) {
    std::string id = ids.NewId();
    ASSERT_TRUE(IsVersion7(id)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    // The 74 random bits, without the time: never repeated either.
    EXPECT_TRUE(random_parts.insert(id.substr(15)).second) << "random bits repeated in " << id;
  }
}

TEST(RandomIdsTest, IdsMadeLaterSortAfterEarlierOnes) {
  RandomIds ids;
  const std::string first = ids.NewId();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string later = ids.NewId();
  EXPECT_LT(first, later);
}

TEST(RandomIdsTest, SafeFromSeveralThreadsAtOnce) {
  // The reactor makes ids for new items, the writer for escalated copies.
  RandomIds ids;
  std::vector<std::vector<std::string>> made(4);
  std::vector<std::thread> threads;
  for (auto& out : made) {
    threads.emplace_back([&ids, &out] {
      for (int i = 0; i < 2000; ++i) out.push_back(ids.NewId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& out : made) all.insert(out.begin(), out.end());
  EXPECT_EQ(all.size(), 8000u);
}

}  // namespace
}  // namespace dutyhub
