#include "agents/web/devices.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace dutyhub::web {
namespace {

constexpr size_t kDeviceBytes = 16;
constexpr char kBetweenTokens = '~';  // cookie-octets (RFC 6265 4.1.1), as is '.'

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.pop_back();
  return out;
}

// `hex` decoded, whole and of lower-case digits only, so each token has one spelling;
// nullopt otherwise.
std::optional<std::string> Unhex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  std::string out(hex.size() / 2, '\0');
  size_t length = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &length, nullptr) != 0 ||
      length != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> Split(const std::string& text, char at) {
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t found; (found = text.find(at, from)) != std::string::npos; from = found + 1)
    parts.push_back(text.substr(from, found - from));
  parts.push_back(text.substr(from));
  return parts;
}

// What the MAC covers: the account, the device id and when it was made, told apart by a
// byte none of them holds.
std::string Signed(const std::string& account, const std::string& device, const std::string& made) {
  return account + '\0' + device + '\0' + made;
}

struct Known {
  std::string account;
  std::string device;  // hex
  std::string token;   // as it was in the cookie
};

// Milliseconds since the epoch in decimal digits, no sign or leading zero; nullopt
// otherwise (one spelling, and no overflow).
std::optional<TimeMs> Made(const std::string& digits) {
  if (digits.empty() || digits.size() > 15 || (digits[0] == '0' && digits.size() > 1))
    return std::nullopt;
  TimeMs made = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    made = made * 10 + (c - '0');
  }
  return made;
}

// The tokens in `cookie` this key made, and no more than kLongestKnownMs before `now`,
// in the cookie's order.
std::vector<Known> KnownIn(const std::string& cookie, const unsigned char* key, TimeMs now) {
  std::vector<Known> known;
  if (cookie.empty() || cookie.size() > KnownDevices::kLongestCookie) return known;
  for (const std::string& token : Split(cookie, kBetweenTokens)) {
    const std::vector<std::string> parts = Split(token, '.');
    if (parts.size() != 4 || parts[1].size() != kDeviceBytes * 2) continue;
    std::optional<std::string> account = Unhex(parts[0]);
    std::optional<TimeMs> made = Made(parts[2]);
    std::optional<std::string> mac = Unhex(parts[3]);
    if (!account || account->empty() || account->find('\0') != std::string::npos || !made || !mac ||
        mac->size() != crypto_auth_BYTES || !Unhex(parts[1])) {
      continue;
    }
    if (*made > now || now - *made > KnownDevices::kLongestKnownMs) continue;
    const std::string message = Signed(*account, parts[1], parts[2]);
    if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac->data()),
                           reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                           key) != 0) {
      continue;
    }
    known.push_back(Known{*account, parts[1], token});
  }
  return known;
}

}  // namespace

KnownDevices::KnownDevices(const Clock& clock) : clock_(clock) {
  // The key must be random, or every token is forgeable. main() has started libsodium and
  // stopped with a reason if it could not; this call again is then a no-op.
  if (sodium_init() < 0) std::abort();
  crypto_auth_keygen(key_.data());
}

std::string KnownDevices::Token(const std::string& account, const std::string& device,
                                TimeMs made) const {
  const std::string when = std::to_string(made);
  const std::string message = Signed(account, device, when);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              key_.data());
  return Hex(reinterpret_cast<const unsigned char*>(account.data()), account.size()) + "." +
         device + "." + when + "." + Hex(mac, sizeof mac);
}

std::optional<std::string> KnownDevices::Recognise(const std::string& cookie,
                                                   const std::string& account) const {
  for (const Known& k : KnownIn(cookie, key_.data(), clock_.Now())) {
    if (k.account == account) return k.device;
  }
  return std::nullopt;
}

std::string KnownDevices::Remember(const std::string& cookie, const std::string& account) const {
  const TimeMs now = clock_.Now();
  const std::vector<Known> known = KnownIn(cookie, key_.data(), now);
  std::string device;
  for (const Known& k : known) {
    if (k.account == account) {
      device = k.device;
      break;
    }
  }
  if (device.empty()) {
    unsigned char fresh[kDeviceBytes];
    randombytes_buf(fresh, sizeof fresh);
    device = Hex(fresh, sizeof fresh);
  }
  std::string value = Token(account, device, now);
  if (value.size() > kLongestCookie) return "";
  std::vector<std::string> kept = {account};
  for (const Known& k : known) {
    if (kept.size() == kMostAccounts) break;
    if (std::find(kept.begin(), kept.end(), k.account) != kept.end()) continue;
    // The older ones give way: past the length, the browser's whole cookie would be unread.
    if (value.size() + 1 + k.token.size() > kLongestCookie) break;
    value += kBetweenTokens + k.token;
    kept.push_back(k.account);
  }
  return value;
}

}  // namespace dutyhub::web
