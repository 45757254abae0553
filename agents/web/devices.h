// Known browsers: a duty worker's own browser can still sign her in while her account is
// locked everywhere by someone else's guesses (OWASP's "device cookie" answer to lock-out
// as a denial of service, in its Authentication Cheat Sheet).
//
// After each successful sign-in the gateway gives the browser a cookie holding a token for
// that account: the account's name, a random device id, when it was made, and a MAC of
// the three under a key only this process holds (libsodium's crypto_auth,
// HMAC-SHA-512-256). A browser that presents a token this process made for the account
// being signed in to, in the last kLongestKnownMs, is a known device: its sign-ins are
// counted for it alone (Accounts::SignIn). Whoever has never signed in to the account
// cannot make one, so they can lock it only for browsers not known. Each sign-in makes
// the browser's token again, with the same device id and a new time.
//
// What must stay true:
//   - a token is believed only for the account it names, only with a MAC this process's
//     key made (any change to its text makes it unknown), and only until it is
//     kLongestKnownMs old, as the cookie's Max-Age says: a copy taken is not good for ever;
//   - the key is made at start and never leaves memory, so a restart makes every browser
//     unknown again (each is known again at its next sign-in): a stolen token is then
//     worth nothing, and nothing on disk needs protecting;
//   - a token only moves a sign-in to the known device's own count; it never stands in
//     for the password.
//
// Thread-safe: the key is fixed at construction.
#pragma once

#include <sodium.h>

#include <array>
#include <optional>
#include <string>

#include "broker/clock.h"

namespace dutyhub::web {

class KnownDevices {
 public:
  // Accounts remembered per browser: a shared duty-room computer keeps several.
  static constexpr size_t kMostAccounts = 6;
  // A cookie longer than this is not read at all, and Remember never makes one (six tokens
  // of 20-letter names are about 900 bytes; a browser keeps up to 4,096).
  static constexpr size_t kLongestCookie = 2048;
  // How long a token is believed: the cookie's Max-Age.
  static constexpr TimeMs kLongestKnownMs = 183 * kDayMs;

  // Tokens are dated by `clock`; the key is new and random.
  explicit KnownDevices(const Clock& clock);

  // The device id this process gave `account` on the browser whose cookie is `cookie`
  // (its value, as the browser sent it); nullopt when there is none, or it is not one of
  // this process's, or it was made for another account, or more than kLongestKnownMs ago.
  std::optional<std::string> Recognise(const std::string& cookie, const std::string& account) const;

  // The cookie's value once `account` has signed in on this browser: its token first
  // (the device id it had, or a new one; made now), then the other accounts' tokens still
  // valid, newest first, at most kMostAccounts in all and never past kLongestCookie.
  // Whatever else the old value held is dropped. Empty when this account's token alone
  // would be too long (a name of many hundreds of letters).
  std::string Remember(const std::string& cookie, const std::string& account) const;

 private:
  std::string Token(const std::string& account, const std::string& device, TimeMs made) const;

  const Clock& clock_;
  std::array<unsigned char, crypto_auth_KEYBYTES> key_;
};

}  // namespace dutyhub::web
