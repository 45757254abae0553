// Runs after every other integration test (a ctest fixture cleanup): no broker or client
// log they left holds any sample's names, NHS numbers, dates of birth, addresses or
// postcodes (DESIGN.md promise 7).
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace dutyhub::testing {
namespace {

TEST(Logs, HoldNoChildsDetailsAfterTheWholeIntegrationSuite) {
  const std::set<std::string> personal = PersonalDetailsInSamples();
  ASSERT_GT(personal.size(), 40u);
  int broker_logs = 0, client_logs = 0;
  size_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LogFolder())) {
    const std::string name = entry.path().filename().string();
    const std::string log = WithoutTimestamps(ReadFile(entry.path()));
    bytes += log.size();
    broker_logs += name.rfind("broker-", 0) == 0;
    client_logs += name.rfind("client-", 0) == 0;
    for (const std::string& detail : personal) {
      EXPECT_EQ(log.find(detail), std::string::npos)
          << name << " holds a personal detail from a sample";
    }
  }
  // Not vacuous: the suite ran brokers and clients that said things.
  EXPECT_GE(broker_logs, 20);
  EXPECT_GE(client_logs, 1);
  EXPECT_GT(bytes, 10000u);
}

}  // namespace
}  // namespace dutyhub::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
