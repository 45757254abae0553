// dutyhub-web's parts that need no broker: accounts and lock-out, known browsers, the client's
// address behind reverse proxies, sessions and their expiry, the configuration's mistakes, and the
// Prometheus text. The pages themselves are tested through the real processes
// (integration/web_test.cc, browser/pages_test.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "agents/web/accounts.h"
#include "agents/web/app.h"
#include "agents/web/client_address.h"
#include "agents/web/devices.h"
#include "agents/web/metrics.h"
#include "agents/web/sessions.h"
#include "agents/web/web_config.h"
#include "broker/time_text.h"

namespace dutyhub::web {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("dutyhub-web-test-" + RandomToken().substr(0, 12) + ".yaml");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string AccountsText() {
  static const std::string text = [] {
    auto alice = HashPassword("correct horse battery");
    auto staff = HashPassword("liaison password");
    EXPECT_TRUE(alice.ok() && staff.ok());
    return "accounts:\n  alice: {password: \"" + *alice +
           "\"}\n  gwh-ed-liaison: {acts_as: gwh-ed, password: \"" + *staff + "\"}\n";
  }();
  return text;
}

// Alice's and the hospital's liaison accounts, on a clock the test moves; three failures in
// a row from one address lock the account there, eight from anywhere lock it everywhere.
// Alice signs in at her computer, kAlicesDesk; someone else tries from kElsewhere.
constexpr char kAlicesDesk[] = "10.20.0.14";
constexpr char kElsewhere[] = "10.99.0.7";

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(accounts.Load(file.path()).ok()); }
  // Wrong passwords for `name`, `n` of them from `from`; each must be refused.
  void Fail(const std::string& name, const std::string& from, int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_FALSE(accounts.SignIn(name, "guess " + std::to_string(i), from).ok()) << from;
    }
  }
  SimulatedClock clock{1'000'000};
  Accounts accounts{clock, {.failures = 3, .lock_for = 15 * kMinuteMs, .account_failures = 8}};
  TempFile file{AccountsText()};
};

TEST_F(AccountsTest, TheRightPasswordSignsInAsTheConfiguredPrincipal) {
  auto alice = accounts.SignIn("alice", "correct horse battery", kAlicesDesk);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->acts_as, "alice");
  auto staff = accounts.SignIn("gwh-ed-liaison", "liaison password", kAlicesDesk);
  ASSERT_TRUE(staff.ok());
  EXPECT_EQ(staff->acts_as, "gwh-ed");
}

TEST_F(AccountsTest, AWrongPasswordAndAnUnknownNameAreRefusedAlike) {
  auto wrong = accounts.SignIn("alice", "correct horse", kElsewhere);
  auto unknown = accounts.SignIn("mallory", "correct horse battery", kElsewhere);
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  // And they lock alike: the answers say nothing about which names are accounts.
  Fail("alice", kElsewhere, 1);
  Fail("mallory", kElsewhere, 1);
  auto third = accounts.SignIn("alice", "guess", kElsewhere);
  auto strangers_third = accounts.SignIn("mallory", "guess", kElsewhere);
  EXPECT_EQ(third.status().message(), strangers_third.status().message());
  EXPECT_EQ(accounts.SignIn("alice", "correct horse battery", kElsewhere).status().message(),
            accounts.SignIn("mallory", "correct horse battery", kElsewhere).status().message());
}

TEST_F(AccountsTest,
       RepeatedFailuresLockTheAccountThereEvenAgainstTheRightPasswordUntilTheTimePasses) {
  Fail("alice", kElsewhere, 2);
  auto third = accounts.SignIn("alice", "guess 3", kElsewhere);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("from this address are now locked"), std::string::npos)
      << third.status().message();
  auto right = accounts.SignIn("alice", "correct horse battery", kElsewhere);
  ASSERT_FALSE(right.ok()) << "locked there whatever the password";
  EXPECT_NE(right.status().message().find("locked"), std::string::npos) << right.status().message();
  EXPECT_NE(right.status().message().find("15 minute"), std::string::npos)
      << right.status().message();
  EXPECT_TRUE(accounts.SignIn("gwh-ed-liaison", "liaison password", kElsewhere).ok())
      << "other accounts are not locked";
  clock.Advance(15 * kMinuteMs + 1);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok());
}

TEST_F(AccountsTest, SomeoneElsesFailuresDoNotLockTheDutyWorkerOutAtHerOwnComputer) {
  Fail("alice", kElsewhere, 3);
  ASSERT_FALSE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok());
  auto at_her_desk = accounts.SignIn("alice", "correct horse battery", kAlicesDesk);
  EXPECT_TRUE(at_her_desk.ok()) << at_her_desk.status().ToString();
  // Nor does her success give the other address its tries back.
  EXPECT_FALSE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok());
}

TEST_F(AccountsTest, ASuccessClearsItsOwnAddresssFailuresButNotAnothers) {
  Fail("alice", kAlicesDesk, 2);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
  Fail("alice", kAlicesDesk, 2);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok())
      << "two in a row since the last success: not locked";
  Fail("alice", kElsewhere, 2);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
  auto third_elsewhere = accounts.SignIn("alice", "guess", kElsewhere);
  EXPECT_NE(third_elsewhere.status().message().find("now locked"), std::string::npos)
      << "three in a row there, whatever happened at her desk: "
      << third_elsewhere.status().message();
}

TEST_F(AccountsTest, ManyFailuresFromManyAddressesLockTheAccountEverywhere) {
  // Two from each of four addresses: none locked on its own, eight in a row in all.
  for (const char* from : {"10.1.0.1", "10.1.0.2", "10.1.0.3"}) Fail("alice", from, 2);
  Fail("alice", "10.1.0.4", 1);
  auto eighth = accounts.SignIn("alice", "guess", "10.1.0.4");
  ASSERT_FALSE(eighth.ok());
  EXPECT_NE(eighth.status().message().find("now locked after 8 failed sign-ins in a row"),
            std::string::npos)
      << eighth.status().message();
  auto at_her_desk = accounts.SignIn("alice", "correct horse battery", kAlicesDesk);
  ASSERT_FALSE(at_her_desk.ok()) << "locked everywhere, her desk too";
  EXPECT_NE(at_her_desk.status().message().find("this account is locked"), std::string::npos)
      << at_her_desk.status().message();
  clock.Advance(15 * kMinuteMs + 1);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
}

TEST_F(AccountsTest, ASuccessStartsTheCountFromEverywhereAgain) {
  for (const char* from : {"10.1.0.1", "10.1.0.2", "10.1.0.3"}) Fail("alice", from, 2);
  Fail("alice", "10.1.0.4", 1);  // seven in a row
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
  for (const char* from : {"10.2.0.1", "10.2.0.2", "10.2.0.3"}) Fail("alice", from, 2);
  Fail("alice", "10.2.0.4", 1);  // seven in a row again, fourteen in all
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
}

TEST_F(AccountsTest, EachLockWithoutASuccessBetweenLastsTwiceTheLastAndASuccessEndsThat) {
  Fail("alice", kElsewhere, 3);
  EXPECT_NE(accounts.SignIn("alice", "x", kElsewhere).status().message().find("15 minute"),
            std::string::npos);
  clock.Advance(15 * kMinuteMs + 1);
  Fail("alice", kElsewhere, 2);
  auto second = accounts.SignIn("alice", "guess", kElsewhere);
  EXPECT_NE(second.status().message().find("now locked after 3 failures: try again in 30 minute"),
            std::string::npos)
      << second.status().message();
  clock.Advance(15 * kMinuteMs);
  EXPECT_FALSE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok())
      << "the second lock has not run out at 15 minutes";
  clock.Advance(15 * kMinuteMs + 1);
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok());
  Fail("alice", kElsewhere, 2);
  auto after_success = accounts.SignIn("alice", "guess", kElsewhere);
  EXPECT_NE(after_success.status().message().find("try again in 15 minute"), std::string::npos)
      << after_success.status().message();
}

TEST_F(AccountsTest, SignInsSentAtOnceGetNoMoreTriesThanOneAfterAnother) {
  // Each check takes a tenth of a second or so and four run at once: all eight start before
  // the first is answered, so only counting before the check keeps them to three.
  std::vector<std::string> answers(8);
  std::vector<std::thread> senders;
  for (size_t i = 0; i < answers.size(); ++i) {
    senders.emplace_back([&, i] {
      answers[i] =
          accounts.SignIn("alice", "guess " + std::to_string(i), kElsewhere).status().message();
    });
  }
  for (std::thread& t : senders) t.join();
  int checked = 0;
  for (const std::string& answer : answers) {
    // Refused unchecked: "... are locked after repeated failures"; checked: any other answer.
    if (answer.find("are locked after repeated failures") == std::string::npos) ++checked;
  }
  EXPECT_EQ(checked, 3) << "answers: " << ::testing::PrintToString(answers);
}

TEST_F(AccountsTest, AnIPv6MachineIsOneAddressByItsSlash64) {
  for (const char* from : {"2001:db8:1:2::5", "2001:db8:1:2::6", "2001:db8:1:2:aaaa::1"}) {
    Fail("alice", from, 1);
  }
  EXPECT_FALSE(accounts.SignIn("alice", "correct horse battery", "2001:db8:1:2::99").ok())
      << "the same /64: locked";
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", "2001:db8:1:3::5").ok())
      << "another /64";
}

// Alice's own browser ("her-browser", the device id its token carries) while guesses from
// elsewhere have locked her account everywhere.
TEST_F(AccountsTest, AKnownBrowserSignsInWhileTheAccountIsLockedEverywhere) {
  for (const char* from : {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"}) Fail("alice", from, 2);
  ASSERT_NE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk)
                .status()
                .message()
                .find("this account is locked"),
            std::string::npos)
      << "locked everywhere for a browser not known";
  auto own = accounts.SignIn("alice", "correct horse battery", kAlicesDesk, "her-browser");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->acts_as, "alice");
  EXPECT_FALSE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok())
      << "her success on her own browser does not unlock it for whoever locked it";
  EXPECT_FALSE(accounts.SignIn("alice", "guess", kAlicesDesk, "her-browser").ok())
      << "still only with the password";
}

TEST_F(AccountsTest, WrongPasswordsFromAKnownBrowserCountForItAloneThenLikeAnyOther) {
  for (int i = 0; i < 2; ++i)
    EXPECT_FALSE(accounts.SignIn("alice", "guess", kElsewhere, "her-browser").ok());
  // Had those two counted from kElsewhere, or towards the eight from anywhere, this locks.
  Fail("alice", kElsewhere, 2);
  for (const char* from : {"10.1.0.1", "10.1.0.2"}) Fail("alice", from, 2);
  Fail("alice", "10.1.0.3", 1);  // seven in a row from anywhere
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kElsewhere).ok());
  // Three wrong in a row from the browser itself: from then on it is any other computer.
  ASSERT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk, "her-browser").ok())
      << "its own count starts again";
  for (const char* from : {"10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"}) Fail("alice", from, 2);
  for (int i = 0; i < 2; ++i)
    EXPECT_FALSE(accounts.SignIn("alice", "guess", kAlicesDesk, "her-browser").ok());
  bool counted_apart = false;
  auto third = accounts.SignIn("alice", "guess", kAlicesDesk, "her-browser", &counted_apart);
  EXPECT_TRUE(counted_apart);
  EXPECT_NE(third.status().message().find(
                "3 times in a row on this browser: for 15 minute(s) it is counted like any other"),
            std::string::npos)
      << third.status().message();
  auto locked =
      accounts.SignIn("alice", "correct horse battery", kAlicesDesk, "her-browser", &counted_apart);
  ASSERT_FALSE(locked.ok()) << "a known browser that guessed wrong three times is not trusted";
  EXPECT_FALSE(counted_apart) << "the log must not call it a known browser now";
  EXPECT_NE(locked.status().message().find("this account is locked"), std::string::npos)
      << locked.status().message();
  EXPECT_TRUE(
      accounts.SignIn("alice", "correct horse battery", kAlicesDesk, "another-browser").ok())
      << "her other browser is counted apart";
  // Once its own lock has run out it is hers again, though the account is locked anew.
  clock.Advance(15 * kMinuteMs + 1);
  for (const char* from : {"10.3.0.1", "10.3.0.2", "10.3.0.3", "10.3.0.4"}) Fail("alice", from, 2);
  ASSERT_FALSE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk).ok());
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", kAlicesDesk, "her-browser").ok());
}

TEST_F(AccountsTest, AMadeUpNameHasNoKnownBrowser) {
  for (const char* from : {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"})
    Fail("mallory", from, 2);
  auto made_up = accounts.SignIn("mallory", "anything", kAlicesDesk, "a-browser");
  ASSERT_FALSE(made_up.ok());
  EXPECT_NE(made_up.status().message().find("this account is locked"), std::string::npos)
      << "refused as a locked account would be, not told apart: " << made_up.status().message();
}

// The lock-out's tables with bounds small enough to fill: three wrong passwords lock, and
// nothing locks everywhere, so each table is seen alone.
class LockoutBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(accounts.Load(file.path()).ok()); }
  Status Try(const std::string& name, const std::string& from,
             const std::optional<std::string>& browser = std::nullopt, bool* apart = nullptr) {
    return accounts.SignIn(name, "a guess", from, browser, apart).status();
  }
  void Lock(const std::string& name, const std::string& from,
            const std::optional<std::string>& browser = std::nullopt) {
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(Try(name, from, browser).ok());
  }
  SimulatedClock clock{1'000'000};
  Accounts accounts{clock,
                    {.failures = 3,
                     .lock_for = 15 * kMinuteMs,
                     .account_failures = 100,
                     .most_stranger_addresses = 3,
                     .most_addresses = 3,
                     .most_browsers = 2}};
  TempFile file{AccountsText()};
};

TEST_F(LockoutBoundsTest, MadeUpNamesFillTheirTableOnlySoFarAndTheirRunningLocksStay) {
  Lock("mallory", "10.9.0.1");
  for (int i = 2; i <= 9; ++i) {
    EXPECT_FALSE(Try("stranger" + std::to_string(i), "10.9.0." + std::to_string(i)).ok());
    EXPECT_LE(accounts.StrangerAddressesKept(), 3u);
  }
  EXPECT_NE(Try("mallory", "10.9.0.1").message().find("from this address are locked"),
            std::string::npos)
      << "a made-up name stays locked as an account would, or the two could be told apart";
  Lock("trudy", "10.9.0.20");
  Lock("oscar", "10.9.0.21");
  EXPECT_EQ(accounts.StrangerAddressesKept(), 3u) << "three running locks fill it";
  EXPECT_FALSE(Try("eve", "10.9.0.22").ok());
  EXPECT_EQ(accounts.StrangerAddressesKept(), 3u) << "a fourth is not kept, and none dropped";
  for (const auto& [name, from] :
       {std::pair{"mallory", "10.9.0.1"}, std::pair{"trudy", "10.9.0.20"},
        std::pair{"oscar", "10.9.0.21"}}) {
    EXPECT_NE(Try(name, from).message().find("locked"), std::string::npos) << name;
  }
  clock.Advance(15 * kMinuteMs + 1);
  EXPECT_FALSE(Try("eve", "10.9.0.22").ok());
  EXPECT_EQ(accounts.StrangerAddressesKept(), 1u) << "locks run out make room: eve alone now";
}

TEST_F(LockoutBoundsTest, AnAccountKeepsAtMostItsBoundOfAddresses) {
  Lock("alice", "10.8.0.1");
  size_t most = 0;
  for (int i = 2; i <= 8; ++i) {
    EXPECT_FALSE(Try("alice", "10.8.0." + std::to_string(i)).ok());
    EXPECT_LE(accounts.AddressesKept("alice"), 3u);
    most = std::max(most, accounts.AddressesKept("alice"));
  }
  EXPECT_EQ(most, 3u) << "the bound is reached, not one short of it";
  EXPECT_NE(Try("alice", "10.8.0.1").message().find("from this address are locked"),
            std::string::npos)
      << "the locked address kept its place while the others' counts gave way";
}

TEST_F(LockoutBoundsTest, AnAccountFullOfRunningLocksDropsNoneAndCountsNewAddressesTogether) {
  for (const char* from : {"10.6.0.1", "10.6.0.2", "10.6.0.3"}) Lock("alice", from);
  // One guess from each of three new addresses: together they lock as one address would,
  // so a stranger cannot guess on by taking a new address for every guess.
  EXPECT_FALSE(Try("alice", "10.6.0.4").ok());
  EXPECT_FALSE(Try("alice", "10.6.0.5").ok());
  EXPECT_NE(Try("alice", "10.6.0.1").message().find("from this address are locked"),
            std::string::npos);
  EXPECT_NE(
      Try("alice", "10.6.0.6").message().find("from addresses not seen before are now locked"),
      std::string::npos)
      << "an attempt from an address already kept between the guesses clears nothing";
  const Status refused = accounts.SignIn("alice", "correct horse battery", "10.6.0.7").status();
  EXPECT_NE(refused.message().find("from addresses not seen before are locked"), std::string::npos)
      << "the right password from yet another new address waits too: " << refused.message();
  EXPECT_NE(refused.message().find("a browser you have signed in with before"), std::string::npos)
      << "she is told how to get in now";
  EXPECT_EQ(accounts.AddressesKept("alice"), 3u) << "new addresses are not kept one by one";
  for (const char* from : {"10.6.0.1", "10.6.0.2", "10.6.0.3"}) {
    EXPECT_NE(Try("alice", from).message().find("from this address are locked"), std::string::npos)
        << from << ": a running lock was dropped to make room";
  }
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", "10.6.0.8", "her-browser").ok())
      << "her own browser is not held by the addresses' locks";
  Lock("alice", "10.6.0.8", "a-locked-browser");
  const std::string on_it = Try("alice", "10.6.0.8", "a-locked-browser").message();
  EXPECT_NE(on_it.find("from addresses not seen before are locked"), std::string::npos) << on_it;
  EXPECT_EQ(on_it.find("a browser you have signed in with before"), std::string::npos)
      << "not told to use the browser she is on, whose own lock runs: " << on_it;
  clock.Advance(15 * kMinuteMs + 1);
  // The locks run out with two guesses shared since; a new address then has room. The
  // table fills with locks again: the shared count starts from nothing, not from two.
  for (const char* from : {"10.6.0.1", "10.6.0.2", "10.6.0.3"}) Lock("alice", from);
  EXPECT_FALSE(Try("alice", "10.6.0.4").ok());
  EXPECT_FALSE(Try("alice", "10.6.0.5").ok());
  clock.Advance(30 * kMinuteMs + 1);
  EXPECT_EQ(Try("alice", "10.6.0.9").message(), "that account name and password do not match");
  Lock("alice", "10.6.0.10");
  Lock("alice", "10.6.0.11");
  EXPECT_FALSE(Try("alice", "10.6.0.9").ok());
  EXPECT_NE(Try("alice", "10.6.0.9").message().find("from this address are now locked"),
            std::string::npos);
  EXPECT_EQ(Try("alice", "10.6.0.12").message(), "that account name and password do not match")
      << "what new addresses shared before there was room again was carried over";
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", "10.6.0.13").ok())
      << "one guess shared: the right password from a new address gets in";
}

TEST_F(LockoutBoundsTest, ARightPasswordFromANewAddressTakesBackOnlyItsOwnAttemptFromTheShared) {
  for (const char* from : {"10.3.0.1", "10.3.0.2", "10.3.0.3"}) Lock("alice", from);
  EXPECT_FALSE(Try("alice", "10.3.0.4").ok());  // a stranger's guess: one shared
  EXPECT_TRUE(accounts.SignIn("alice", "correct horse battery", "10.3.0.5").ok());
  EXPECT_EQ(Try("alice", "10.3.0.6").message(), "that account name and password do not match")
      << "her own right password was counted against the addresses not seen before";
  EXPECT_NE(
      Try("alice", "10.3.0.7").message().find("from addresses not seen before are now locked"),
      std::string::npos)
      << "the stranger's guess was taken back with hers";
}

TEST_F(LockoutBoundsTest, AMadeUpNameFullOfItsOwnLocksIsCountedAsAnAccountWithTheStrangersFull) {
  // Three addresses locked, then one guess from each of three new ones: the third locks.
  const auto answers = [&](const std::string& name, const std::string& network) {
    std::vector<std::string> said;
    for (int a = 1; a <= 6; ++a) {
      for (int i = 0; i < (a <= 3 ? 3 : 1); ++i) {
        said.push_back(Try(name, network + std::to_string(a)).message());
      }
    }
    return said;
  };
  const std::vector<std::string> account = answers("alice", "10.4.0.");
  EXPECT_NE(account.back().find("from addresses not seen before are now locked"), std::string::npos)
      << account.back();
  EXPECT_EQ(answers("mallory", "10.4.1."), account)
      << "its new addresses took no place in the full strangers' table, so went uncounted";
  EXPECT_EQ(accounts.StrangerAddressesKept(), 3u) << "mallory's own three fill it";
}

TEST_F(LockoutBoundsTest, AnAccountKeepsAtMostItsBoundOfBrowsersAndAnotherIsThenAnyComputer) {
  Lock("alice", "10.7.0.1", "browser-1");
  Lock("alice", "10.7.0.1", "browser-2");
  EXPECT_EQ(accounts.BrowsersKept("alice"), 2u);
  bool apart = true;
  EXPECT_FALSE(Try("alice", "10.7.0.1", "browser-3", &apart).ok());
  EXPECT_FALSE(apart) << "no room: counted by its address, like any other computer";
  EXPECT_EQ(accounts.BrowsersKept("alice"), 2u);
  EXPECT_EQ(accounts.BrowsersKept("gwh-ed-liaison"), 0u) << "another account's table is its own";
  bool liaison_apart = false;
  EXPECT_FALSE(Try("gwh-ed-liaison", "10.7.0.1", "browser-1", &liaison_apart).ok());
  EXPECT_TRUE(liaison_apart) << "one account's full table leaves another's browsers known";
  clock.Advance(15 * kMinuteMs + 1);
  EXPECT_FALSE(Try("alice", "10.7.0.9", "browser-3", &apart).ok());
  EXPECT_TRUE(apart) << "locks run out make room";
  EXPECT_LE(accounts.BrowsersKept("alice"), 2u);
}

TEST(Lockout, AMadeUpNameFullOfRunningLocksAnswersNewAddressesAsAnAccountDoes) {
  SimulatedClock clock{1'000'000};
  Accounts accounts{clock,
                    {.failures = 3,
                     .lock_for = 15 * kMinuteMs,
                     .account_failures = 100,
                     .most_stranger_addresses = 100,
                     .most_addresses = 3,
                     .most_browsers = 2}};
  TempFile file{AccountsText()};
  ASSERT_TRUE(accounts.Load(file.path()).ok());
  // Three addresses locked, then one guess from each of four new ones.
  const auto answers = [&](const std::string& name) {
    std::vector<std::string> said;
    for (int a = 1; a <= 7; ++a) {
      for (int i = 0; i < (a <= 3 ? 3 : 1); ++i) {
        said.push_back(accounts.SignIn(name, "a guess", "10.5." + std::to_string(a) + ".1")
                           .status()
                           .message());
      }
    }
    return said;
  };
  const std::vector<std::string> account = answers("alice");
  EXPECT_NE(account.back().find("from addresses not seen before are locked"), std::string::npos)
      << account.back();
  EXPECT_EQ(answers("mallory"), account) << "a made-up name is told apart from an account";
  EXPECT_EQ(accounts.StrangerAddressesKept(), 3u) << "a made-up name's addresses are bounded too";
}

TEST(KnownDevices, ATokenIsBelievedOnlyForItsAccountAndOnlyAsThisProcessMadeIt) {
  SimulatedClock clock{1'764'000'000'000};
  KnownDevices devices(clock);
  const std::string cookie = devices.Remember("", "alice");
  const std::optional<std::string> device = devices.Recognise(cookie, "alice");
  ASSERT_TRUE(device);
  EXPECT_EQ(device->size(), 32u);
  EXPECT_EQ(cookie.find("alice"), std::string::npos) << "hex, so any name is cookie-safe";
  EXPECT_FALSE(devices.Recognise(cookie, "bob")) << "made for alice";
  EXPECT_FALSE(KnownDevices(clock).Recognise(cookie, "alice"))
      << "another process's key: a restart";
  EXPECT_TRUE(devices.Recognise("x.y~" + cookie + "~~", "alice")) << "among garbage";
  for (size_t at = 0; at < cookie.size(); ++at) {
    std::string changed = cookie;
    changed[at] = changed[at] == '0' ? '1' : '0';
    EXPECT_FALSE(devices.Recognise(changed, "alice")) << "one character changed at " << at;
  }
  std::string upper = cookie;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(devices.Recognise(upper, "alice")) << "one spelling only";
  for (const std::string& garbage :
       {std::string(""), std::string("~~~"), std::string("..."), std::string(".") + cookie,
        cookie + ".00", std::string(5000, 'a'), cookie + "~" + std::string(3000, 'b')}) {
    EXPECT_FALSE(devices.Recognise(garbage, "alice")) << garbage.substr(0, 40);
  }
  EXPECT_EQ(devices.Recognise(devices.Remember(cookie, "alice"), "alice"), device)
      << "signing in again keeps the browser's id";
}

TEST(KnownDevices, ATokenIsBelievedForHalfAYearFromItsLastSignInAndNotBeforeItWasMade) {
  SimulatedClock clock{1'764'000'000'000};
  KnownDevices devices(clock);
  std::string cookie = devices.Remember("", "alice");
  clock.Advance(KnownDevices::kLongestKnownMs);
  EXPECT_TRUE(devices.Recognise(cookie, "alice")) << "half a year to the millisecond";
  const std::string renewed = devices.Remember(cookie, "alice");
  clock.Advance(1);
  EXPECT_FALSE(devices.Recognise(cookie, "alice")) << "a copy taken then is too old now";
  EXPECT_TRUE(devices.Recognise(renewed, "alice")) << "each sign-in dates it again";
  clock.Set(1'700'000'000'000);
  EXPECT_FALSE(devices.Recognise(renewed, "alice")) << "made after now: not one of ours";
}

TEST(KnownDevices, ABrowserKeepsTheLatestSixAccountsAndDropsWhatIsNotATokenOfThisProcess) {
  SimulatedClock clock{1'764'000'000'000};
  KnownDevices devices(clock);
  std::string cookie = "not-a-token~" + KnownDevices(clock).Remember("", "carol");
  for (const char* name : {"a1", "a2", "a3", "a4", "a5", "a6", "a7"})
    cookie = devices.Remember(cookie, name);
  EXPECT_FALSE(devices.Recognise(cookie, "a1")) << "the oldest of seven is dropped";
  for (const char* name : {"a2", "a3", "a4", "a5", "a6", "a7"})
    EXPECT_TRUE(devices.Recognise(cookie, name)) << name;
  EXPECT_EQ(cookie.find("not-a-token"), std::string::npos);
  EXPECT_EQ(std::count(cookie.begin(), cookie.end(), '~'), 5);
  EXPECT_LE(cookie.size(), KnownDevices::kLongestCookie);
  const std::optional<std::string> a3 = devices.Recognise(cookie, "a3");
  cookie = devices.Remember(cookie, "a3");
  EXPECT_EQ(devices.Recognise(cookie, "a3"), a3);
  EXPECT_TRUE(devices.Recognise(cookie.substr(0, cookie.find('~')), "a3")) << "newest first";
  EXPECT_TRUE(devices.Recognise(cookie, "a2")) << "re-ordering drops no one";
}

TEST(KnownDevices, LongNamesGiveWayOldestFirstSoTheCookieIsNeverTooLongToRead) {
  SimulatedClock clock{1'764'000'000'000};
  KnownDevices devices(clock);
  std::string cookie;
  std::vector<std::string> names;
  for (char c = 'a'; c < 'g'; ++c) {
    names.push_back(std::string(200, c));
    cookie = devices.Remember(cookie, names.back());
    ASSERT_LE(cookie.size(), KnownDevices::kLongestCookie);
  }
  EXPECT_TRUE(devices.Recognise(cookie, names.back())) << "the newest is always kept";
  EXPECT_FALSE(devices.Recognise(cookie, names.front()))
      << "six tokens of 200 letters are too long";
  EXPECT_TRUE(devices.Recognise(cookie, names[names.size() - 2]));
  EXPECT_EQ(devices.Remember(cookie, std::string(1100, 'z')), "") << "no cookie at all can hold it";
}

TEST(Accounts, AFileWithoutArgon2idHashesIsRefusedWithItsLine) {
  SimulatedClock clock(0);
  Accounts accounts(clock, {});
  TempFile plain("accounts:\n  alice: {password: hunter2}\n");
  Status s = accounts.Load(plain.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(":2: accounts.alice.password"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hash-password"), std::string::npos) << s.message();
  TempFile typo("accounts:\n  alice: {pasword: x}\n");
  EXPECT_NE(accounts.Load(typo.path()).message().find("unknown key"), std::string::npos);
}

// Two reverse proxies in front, an outer one (10.0.0.5) and one on this machine; what a
// client writes into X-Forwarded-For itself is to the left of what they add.
const std::vector<std::string> kProxies = {"127.0.0.1", "10.0.0.5"};

TEST(ClientAddress, BehindTheProxiesTheClientIsTheRightMostAddressTheyDidNotAdd) {
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7"}, kProxies), "203.0.113.7");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7, 10.0.0.5"}, kProxies), "203.0.113.7")
      << "through both proxies";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7", "10.0.0.5"}, kProxies), "203.0.113.7")
      << "each proxy's entry on a line of its own";
  EXPECT_EQ(ClientAddress("127.0.0.1", {" 2001:db8::0:1 "}, kProxies), "2001:db8::1")
      << "in one spelling, so its /64 is counted as one";
}

TEST(ClientAddress, AClientCannotChooseItsAddress) {
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.20, 203.0.113.7"}, kProxies), "203.0.113.7")
      << "what the client wrote itself, to the left, is never read";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.20, 10.0.0.5, 203.0.113.7"}, kProxies),
            "203.0.113.7")
      << "not even a proxy's address it wrote";
  EXPECT_EQ(ClientAddress("127.0.0.2", {"198.51.100.20"}, kProxies), "127.0.0.2")
      << "from a connection that is not one of the proxies, the header is the client's";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.20"}, {}), "127.0.0.1")
      << "with no proxies configured, the header is never believed";
  EXPECT_EQ(ClientAddress("::ffff:198.51.100.20", {}, kProxies), "198.51.100.20")
      << "one computer, one spelling, through a proxy or not";
  EXPECT_EQ(ClientAddress("::ffff:127.0.0.1", {"203.0.113.7"}, kProxies), "203.0.113.7")
      << "the proxy on this machine, seen through a socket taking both kinds";
}

TEST(ClientAddress, WhenTheProxiesSayNothingUsableTheLastProxyIsWhatIsKnown) {
  EXPECT_EQ(ClientAddress("127.0.0.1", {}, kProxies), "127.0.0.1") << "no header";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"unknown, 10.0.0.5"}, kProxies), "10.0.0.5")
      << "garbage is not an address, and nothing left of it is believed";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.20, , 10.0.0.5"}, kProxies), "10.0.0.5");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7:4711"}, kProxies), "127.0.0.1")
      << "an address with a port is not one";
  EXPECT_EQ(ClientAddress("127.0.0.1", {"10.0.0.5"}, kProxies), "10.0.0.5")
      << "a request the outer proxy made itself";
  EXPECT_EQ(CanonicalAddress("0:0:0:0:0:0:0:1"), "::1");
  EXPECT_EQ(CanonicalAddress("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(CanonicalAddress("::ffff:127.0.0.1"), "127.0.0.1") << "an IPv4 client of a dual socket";
  EXPECT_EQ(CanonicalAddress("::FFFF:7f00:1"), "127.0.0.1");
  EXPECT_EQ(CanonicalAddress("::127.0.0.1"), "::127.0.0.1") << "compatible, not mapped: IPv6";
  EXPECT_FALSE(CanonicalAddress("localhost"));
  EXPECT_FALSE(CanonicalAddress("10.0.0.0/8"));
}

TEST(Sessions, ASessionEndsWhenIdleTooLongOrTooOldOrSignedOut) {
  SimulatedClock clock(0);
  Sessions sessions(clock, 30 * kMinuteMs, 12 * kHourMs);
  const std::string token = sessions.Start({.account = "alice", .acts_as = "alice"});
  auto found = sessions.Find(token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->csrf.size(), 64u);
  EXPECT_NE(found->csrf, token);
  EXPECT_FALSE(sessions.Find("not-" + token));
  // Active every 20 minutes: still signed in after 11 hours, never after 12.
  for (int i = 0; i < 33; ++i) {
    clock.Advance(20 * kMinuteMs);
    ASSERT_TRUE(sessions.Find(token)) << "after " << (i + 1) * 20 << " minutes";
  }
  clock.Advance(kHourMs + 1);
  EXPECT_FALSE(sessions.Find(token));

  const std::string idle = sessions.Start({.account = "bob", .acts_as = "bob"});
  clock.Advance(29 * kMinuteMs);
  EXPECT_TRUE(sessions.Alive(idle));
  clock.Advance(2 * kMinuteMs);
  EXPECT_FALSE(sessions.Alive(idle)) << "watching a live page is not activity";
  EXPECT_FALSE(sessions.Find(idle));

  const std::string out = sessions.Start({.account = "dan", .acts_as = "dan"});
  sessions.End(out);
  EXPECT_FALSE(sessions.Find(out));
}

// An inbox page left open refreshes itself every 30 seconds; those refreshes are not
// someone at the screen, so the session still ends after 30 idle minutes.
TEST(Sessions, APagesOwnRefreshesDoNotKeepAnIdleSessionSignedIn) {
  SimulatedClock clock(0);
  Sessions sessions(clock, 30 * kMinuteMs, 12 * kHourMs);
  const std::string token = sessions.Start({.account = "alice", .acts_as = "alice"});
  for (int i = 1; i < 60; ++i) {
    clock.Advance(30 * 1000);
    ASSERT_TRUE(sessions.Find(token, /*activity=*/false)) << "after " << i * 30 << " s";
  }
  clock.Advance(61 * 1000);
  EXPECT_FALSE(sessions.Find(token, /*activity=*/false)) << "30 minutes and a second unattended";
  EXPECT_FALSE(sessions.Find(token)) << "and it is over";

  httplib::Request refresh;
  refresh.set_header("X-Dutyhub-Refresh", "background");
  EXPECT_FALSE(CountsAsActivity(refresh));
  httplib::Request clicked;
  EXPECT_TRUE(CountsAsActivity(clicked));
  clicked.set_header("X-Dutyhub-Refresh", "yes please");
  EXPECT_TRUE(CountsAsActivity(clicked)) << "only the pages' own word for it";
  httplib::Request stream;
  stream.path = "/api/events";
  EXPECT_FALSE(CountsAsActivity(stream)) << "a live page's stream reconnects by itself";
}

TEST(Sessions, AnAccountKeepsItsNewestSessionsAndTheOneSeenLongestAgoEnds) {
  SimulatedClock clock(0);
  Sessions sessions(clock, 30 * kMinuteMs, 12 * kHourMs);
  const std::string bobs = sessions.Start({.account = "bob", .acts_as = "bob"});
  // A script behind single sign-on without a cookie jar: a new session every request.
  // Her own browser's session, the first, stays in use throughout.
  std::vector<std::string> alices;
  for (size_t i = 0; i < Sessions::kMostSessionsPerAccount + 5; ++i) {
    clock.Advance(1000);
    alices.push_back(sessions.Start({.account = "alice", .acts_as = "alice"}));
    clock.Advance(1000);
    ASSERT_TRUE(sessions.Find(alices[0])) << "her session in use ended, at " << i;
  }
  size_t live = 0;
  for (const std::string& token : alices) live += sessions.Alive(token);
  EXPECT_EQ(live, Sessions::kMostSessionsPerAccount);
  EXPECT_TRUE(sessions.Alive(alices.back())) << "the newest is kept";
  for (size_t i = 1; i <= 5; ++i) {
    EXPECT_FALSE(sessions.Alive(alices[i])) << i << ": the ones seen longest ago end first";
  }
  EXPECT_TRUE(sessions.Alive(alices[6]));
  EXPECT_TRUE(sessions.Alive(bobs)) << "another account's session is its own";
}

TEST(Sessions, TokensAreRandomAndComparedInConstantTime) {
  EXPECT_NE(RandomToken(), RandomToken());
  EXPECT_TRUE(SameSecret("abc", "abc"));
  EXPECT_FALSE(SameSecret("abc", "abd"));
  EXPECT_FALSE(SameSecret("abc", "abcd"));
  EXPECT_FALSE(SameSecret("", "a"));
}

TEST(WebConfig, TlsCookiesAreSecureAndALaterSecureCookiesFalseIsRefused) {
  TempFile tls(
      "insecure_dev: true\naccounts: a.yaml\ntls: {certificate: c.pem, private_key: k.pem}\n");
  auto secure = LoadWebConfig(tls.path());
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  EXPECT_TRUE(secure->secure_cookies);
  TempFile contradicted(
      "insecure_dev: true\naccounts: a.yaml\ntls: {certificate: c.pem, private_key: k.pem}\n"
      "secure_cookies: false\n");
  auto refused = LoadWebConfig(contradicted.path());
  ASSERT_FALSE(refused.ok()) << "under TLS the cookies lost Secure";
  EXPECT_NE(refused.status().message().find(contradicted.path() + ":4:"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("secure_cookies"), std::string::npos);
}

TEST(WebConfig, MistakesNameTheFileLineAndKey) {
  TempFile unknown(
      "listen: 127.0.0.1:8080\ninsecure_dev: true\naccounts: a.yaml\nlisten_port: 9\n");
  auto a = LoadWebConfig(unknown.path());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find(":4: listen_port: unknown key"), std::string::npos)
      << a.status().message();
  TempFile no_key("listen: 127.0.0.1:8080\naccounts: a.yaml\n");
  auto b = LoadWebConfig(no_key.path());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("key:"), std::string::npos) << b.status().message();
  TempFile bad_listen("listen: everywhere\ninsecure_dev: true\naccounts: a.yaml\n");
  EXPECT_NE(LoadWebConfig(bad_listen.path()).status().message().find("listen"), std::string::npos);
  TempFile bad_lockout("insecure_dev: true\naccounts: a.yaml\nlockout: {failures: 0}\n");
  EXPECT_NE(LoadWebConfig(bad_lockout.path()).status().message().find("lockout.failures"),
            std::string::npos);
  TempFile low_ceiling(
      "insecure_dev: true\naccounts: a.yaml\nlockout: {failures: 5, account_failures: 4}\n");
  const std::string low = LoadWebConfig(low_ceiling.path()).status().message();
  EXPECT_NE(low.find(":3: lockout.account_failures: must be at least lockout.failures (5)"),
            std::string::npos)
      << low;
  TempFile high_ceiling(
      "insecure_dev: true\naccounts: a.yaml\nlockout: {account_failures: 1000}\n");
  EXPECT_NE(LoadWebConfig(high_ceiling.path()).status().message().find("lockout.account_failures"),
            std::string::npos);
  TempFile half_proxy("insecure_dev: true\ntrusted_proxy: {header: X-Remote-User}\n");
  EXPECT_NE(LoadWebConfig(half_proxy.path()).status().message().find("trusted_proxy"),
            std::string::npos);
  TempFile range_proxy("insecure_dev: true\naccounts: a.yaml\nreverse_proxies: [10.0.0.0/8]\n");
  const std::string range = LoadWebConfig(range_proxy.path()).status().message();
  EXPECT_NE(range.find(":3: reverse_proxies: '10.0.0.0/8' is not an IPv4 or IPv6 address"),
            std::string::npos)
      << range;
  TempFile named_sso(
      "insecure_dev: true\naccounts: a.yaml\ntrusted_proxy: {header: X-Remote-User,\n  from: "
      "[127.0.0.1, sso.northshire.example]}\n");
  const std::string named = LoadWebConfig(named_sso.path()).status().message();
  EXPECT_NE(named.find(":4: trusted_proxy.from: 'sso.northshire.example' is not an IPv4 or IPv6 "
                       "address"),
            std::string::npos)
      << "a name never matches a connection's address: " << named;
  TempFile one_proxy("insecure_dev: true\naccounts: a.yaml\nreverse_proxies: 127.0.0.1\n");
  EXPECT_NE(LoadWebConfig(one_proxy.path()).status().message().find("as a list"),
            std::string::npos);
  TempFile good(
      "insecure_dev: true\naccounts: a.yaml\nsession: {idle_minutes: 10}\ntrusted_proxy: {header: "
      "X-Remote-User, from: [\"::ffff:127.0.0.1\", \"0::1\"]}\nreverse_proxies: "
      "[\"0:0:0:0:0:0:0:1\", "
      "10.0.0.5]\n");
  auto c = LoadWebConfig(good.path());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->idle_minutes, 10);
  EXPECT_EQ(c->lockout_failures, 5);
  EXPECT_EQ(c->lockout_account_failures, 100) << "NIST SP 800-63B's ceiling when not given";
  EXPECT_EQ(c->proxy_header, "X-Remote-User");
  EXPECT_EQ(c->proxy_from, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(c->reverse_proxies, (std::vector<std::string>{"::1", "10.0.0.5"}));
  EXPECT_FALSE(c->secure_cookies);
}

// The manager page's periods start on the partnership's own calendar day, not UTC's.
TEST(ReportPeriods, DaysAreEuropeLondonDaysAcrossTheClockChanges) {
  EXPECT_EQ(FormatLocalDate(*ParseTimestamp("2026-11-23T16:00:00Z")), "2026-11-23");
  EXPECT_EQ(FormatLocalDate(*ParseTimestamp("2026-07-01T23:30:00Z")), "2026-07-02")
      << "00:30 BST is tomorrow";
  EXPECT_EQ(FormatLocalDate(*ParseTimestamp("2026-12-31T23:30:00Z")), "2026-12-31")
      << "GMT is UTC in winter";
}

TEST(PrometheusText, EverySeriesTheIssueNamesWithLabelsAndCumulativeBuckets) {
  v1::MetricsReply m;
  m.set_publishes(7);
  m.set_duplicates(2);
  auto* r = m.add_rejections();
  r->set_label("invalid");
  r->set_count(3);
  auto* f = m.add_rejected_fields();
  f->set_label("household[].relationship");
  f->set_count(1);
  auto* o = m.add_outstanding();
  o->set_inbox("hv-north");
  o->set_escalation_level(1);
  o->set_count(4);
  auto* ack = m.mutable_time_to_acknowledge();
  ack->add_upper_bounds_seconds(900);
  ack->add_counts(5);
  ack->add_upper_bounds_seconds(3600);
  ack->add_counts(8);
  ack->set_count(9);
  ack->set_sum_seconds(12345);
  m.set_escalations(6);
  m.set_engine_lag_ms(2);
  m.mutable_commit_latency()->add_upper_bounds_seconds(0.001);
  m.mutable_commit_latency()->add_counts(10);
  m.mutable_commit_latency()->set_count(11);
  m.mutable_commit_latency()->set_sum_seconds(0.02);
  const std::string text = PrometheusText(m);
  for (const char* line :
       {"dutyhub_publishes_total 7\n", "dutyhub_duplicate_publishes_total 2\n",
        "dutyhub_rejections_total{reason=\"invalid\"} 3\n",
        "dutyhub_rejections_total{reason=\"not_permitted\"} 0\n",
        "dutyhub_rejected_fields_total{field=\"household[].relationship\"} 1\n",
        "dutyhub_outstanding_items{inbox=\"hv-north\",level=\"1\"} 4\n",
        "dutyhub_time_to_acknowledge_seconds_bucket{le=\"900\"} 5\n",
        "dutyhub_time_to_acknowledge_seconds_bucket{le=\"3600\"} 8\n",
        "dutyhub_time_to_acknowledge_seconds_bucket{le=\"+Inf\"} 9\n",
        "dutyhub_time_to_acknowledge_seconds_count 9\n", "dutyhub_escalation_steps_total 6\n",
        "dutyhub_engine_lag_seconds 0.002\n",
        "dutyhub_store_commit_seconds_bucket{le=\"0.001\"} 10\n",
        "dutyhub_store_commit_seconds_count 11\n",
        "# TYPE dutyhub_time_to_acknowledge_seconds histogram\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin\n" << text;
  }
  // Every sample line is NAME{labels} VALUE: nothing a scraper would choke on.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_EQ(line.rfind("dutyhub_", 0), 0u) << line;
    EXPECT_NE(line.find(' '), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace dutyhub::web
