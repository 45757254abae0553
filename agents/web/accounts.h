// Local web accounts: who may sign in to the pages, as which principal of the broker's
// configuration, with an Argon2id password hash (libsodium's crypto_pwhash_str). Repeated
// failures lock an account for a while, whatever password comes next: for the address they
// came from (an IPv6 address by its /64), so that a few wrong guesses from elsewhere do not
// lock a duty worker out at her own computer; and everywhere once there are very many in a
// row from anywhere (NIST SP 800-63B, 5.2.2: at most 100). A lock that has run out starts
// its count again, but each lock that follows another without a success in between lasts
// twice as long (to a day), so neither spreading guesses over addresses nor waiting out
// the locks gives many more of them; a success makes them short again. Someone with enough
// addresses can still lock an account everywhere, but not for a browser where it signed in
// before (a known device, devices.h), which is counted on its own (README.md).
//
// The accounts file (YAML; `dutyhub-web hash-password` makes a hash):
//
//   accounts:
//     alice: {password: "$argon2id$v=19$m=65536,t=2,p=1$..."}                 # acts as alice
//     gwh-ed-liaison: {acts_as: gwh-ed, password: "$argon2id$..."}   # agency staff: status only
//
// Thread-safe: the lock-out counts are behind a mutex.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>

#include "broker/clock.h"
#include "broker/status.h"

namespace dutyhub::web {

struct Account {
  std::string name;     // what they type to sign in
  std::string acts_as;  // the broker's principal: a person, or an agency for its staff
  std::string password_hash;
};

struct LockoutPolicy {
  int failures = 5;                  // this many wrong passwords in a row from one address ...
  TimeMs lock_for = 15 * kMinuteMs;  // ... lock the account there this long (the first time)
  int account_failures = 100;        // this many in a row from anywhere lock it everywhere
  // How much is remembered, so that a flood of sign-ins cannot grow memory. Not in the
  // configuration: tests make them small. When full, what no running lock needs gives way;
  // a running lock never does (accounts.cc).
  //
  // Made-up (name, address) pairs, all names together: about 350-400 bytes each (measured
  // with these maps), so 50,000 is under 20 MB. Once they are all running locks, further
  // made-up pairs go uncounted and can be told from an account's. Holding 50,000 locks at
  // once takes 250,000 wrong guesses inside one lock's length; at four Argon2id checks at a
  // time (about 24 a second on two cores, measured) that is 2.9 hours, so only a fifth lock
  // in a row (4 hours) lasts long enough: 1.25 million guesses, some 14 hours of the
  // gateway checking nothing else, where 10,000 took 150,000 (under two hours).
  size_t most_stranger_addresses = 50000;
  size_t most_addresses = 1000;  // one account's addresses, and each made-up name's
  // One account's known browsers. Only someone who has signed in to the account holds its
  // tokens, so only they can fill its table, and a full one makes only its browsers unknown.
  size_t most_browsers = 100;
};

// An Argon2id hash of `password` in libsodium's string form, or INTERNAL.
Result<std::string> HashPassword(const std::string& password);

class Accounts {
 public:
  Accounts(const Clock& clock, LockoutPolicy policy) : clock_(clock), policy_(policy) {}

  // Reads the accounts file; INVALID_ARGUMENT naming file, line and key.
  Status Load(const std::string& path);

  // The account when `password` is right and the account is not locked, for `from` (the
  // client's address) or everywhere. Every refusal is PERMISSION_DENIED, worded alike for a
  // made-up name and an account, so a caller learns nothing about which names exist; a
  // locked account says so (its owner needs to know to wait or call someone). Each attempt
  // counts before its password is checked, so sign-ins sent at once get no more tries.
  // A success clears the failures from its own address and from everywhere, not another
  // address's: a stranger's tries there are not given back. While an account's table of
  // addresses is full of running locks, the addresses not in it share one count, and a
  // success from one of them takes back its own attempt from that count, no more.
  //
  // `device`: the id of a known browser of this account (devices.h), when the sign-in came
  // from one. Its attempts are counted for that browser alone, and the locks for `from` and
  // from everywhere do not apply to it, so a duty worker signs in at her own computer
  // while someone else's guesses have locked the account; its success clears only its own
  // count. After `failures` wrong passwords in a row it is counted like any other computer
  // until its lock runs out. `as_known_browser`, when given, is set to whether this attempt
  // was counted as the known browser's own (for the log).
  Result<Account> SignIn(const std::string& name, const std::string& password,
                         const std::string& from,
                         const std::optional<std::string>& device = std::nullopt,
                         bool* as_known_browser = nullptr);

  // The account of that name, for single sign-on through a trusted proxy.
  const Account* Find(const std::string& name) const;

  // How many entries the lock-out keeps now: made-up (name, address) pairs, and an
  // account's addresses and known browsers. For tests of the bounds in LockoutPolicy.
  size_t StrangerAddressesKept() const;
  size_t AddressesKept(const std::string& account) const;
  size_t BrowsersKept(const std::string& account) const;

 private:
  struct Failures {
    int count = 0;  // in a row, with the attempts being checked now
    TimeMs locked_until = 0;
    int locks = 0;  // locks in a row without a success: the next lasts twice the last
  };
  struct NameFailures {
    Failures anywhere;                     // from every address together
    std::map<std::string, Failures> from;  // by client address; bounded (accounts.cc)
    // An account's addresses not in `from` while it is full of running locks, together:
    // a new address can neither drop a running lock nor go uncounted.
    Failures every_other;
    int every_other_round = 0;  // counts its fresh starts: a success takes back only its own
    std::map<std::string, Failures> devices;  // known browsers', by device id; bounded
  };
  struct Tracked {
    NameFailures* name = nullptr;  // nullptr: a made-up name while strangers_ is full
    Failures* here = nullptr;      // this address's count, or the name's every_other
  };
  // The failures of `key` from `from`, made if need be; none for a made-up name needing a
  // new place once strangers_ is full of locks still running. A made-up name whose own
  // addresses are full of running locks needs none: its every_other, as an account's.
  // REQUIRES: mutex_ held.
  Tracked Track(bool account, const std::string& key, const std::string& from, TimeMs now);
  // `from`'s count among f's addresses (made if need be), or f's every_other while they
  // are `most_addresses` locks still running; never drops a running lock.
  Failures& AddressCount(NameFailures& f, const std::string& from, TimeMs now);
  // The failures of the account's known browser `device`, made if need be; nullptr when
  // the account's table is full of locks still running (the browser is then counted as
  // any other). REQUIRES: mutex_ held.
  Failures* TrackDevice(NameFailures& f, const std::string& device, TimeMs now);
  TimeMs LockLength(const Failures& f) const;

  const Clock& clock_;
  LockoutPolicy policy_;
  std::map<std::string, Account> accounts_;
  mutable std::mutex mutex_;
  std::map<std::string, NameFailures> failures_;   // the accounts' own, never forgotten
  std::map<std::string, NameFailures> strangers_;  // made-up names, by a hash: bounded
  size_t stranger_addresses_ = 0;                  // the addresses in strangers_, all names
  // Each check takes 64 MiB for a moment (Argon2id): a few at a time, so a flood of
  // sign-ins waits instead of exhausting memory.
  std::counting_semaphore<4> checking_{4};
};

}  // namespace dutyhub::web
