#include "agents/web/accounts.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <optional>

namespace dutyhub::web {
namespace {

constexpr size_t kLongestPassword = 1024;
constexpr TimeMs kLongestLock = 24 * kHourMs;

// Whole minutes, rounded up: "try again in 0 minute(s)" would be wrong.
std::string Minutes(TimeMs ms) { return std::to_string((ms + kMinuteMs - 1) / kMinuteMs); }

// A made-up name is kept by a hash of it: a name may be as long as a request body.
std::string StrangerKey(const std::string& name) {
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(name.data()),
                     name.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

// Where failures are counted from: the address, or for IPv6 its /64, which one machine is
// usually given whole (so it cannot take a new address for every guess).
std::string AddressKey(const std::string& from) {
  in6_addr address{};
  if (inet_pton(AF_INET6, from.c_str(), &address) != 1 || IN6_IS_ADDR_V4MAPPED(&address)) {
    return from;
  }
  std::memset(address.s6_addr + 8, 0, 8);
  char text[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, &address, text, sizeof text) != nullptr ? std::string(text) + "/64"
                                                                     : from;
}

// Checked against when the name is unknown, so an unknown name costs as long as a known one.
const std::string& DecoyHash() {
  static const std::string hash = [] {
    auto made = HashPassword("a password nobody has");
    return made.ok() ? *made : std::string();
  }();
  return hash;
}

}  // namespace

Result<std::string> HashPassword(const std::string& password) {
  if (sodium_init() < 0) return Status::Internal("libsodium did not start");
  char out[crypto_pwhash_STRBYTES];
  // crypto_pwhash_str is Argon2id; the interactive limits keep a sign-in near 0.1 s.
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::Internal("not enough memory to hash a password");
  }
  return std::string(out);
}

Status Accounts::Load(const std::string& path) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    auto where = [&](const YAML::Node& node, const std::string& key) {
      return path + ":" + std::to_string(node.Mark().line + 1) + ": " + key + ": ";
    };
    if (!root.IsMap() || !root["accounts"] || !root["accounts"].IsMap()) {
      return Status::InvalidArgument(path + ":1: accounts: expected a mapping of account names");
    }
    for (const auto& entry : root["accounts"]) {
      const std::string name = entry.first.Scalar();
      const std::string key = "accounts." + name;
      if (!entry.second.IsMap())
        return Status::InvalidArgument(where(entry.first, key) + "expected a mapping");
      Account account{name, name, ""};
      for (const auto& field : entry.second) {
        const std::string f = field.first.Scalar();
        if (!field.second.IsScalar()) {
          return Status::InvalidArgument(where(field.first, key + "." + f) +
                                         "expected a single value");
        }
        if (f == "password")
          account.password_hash = field.second.Scalar();
        else if (f == "acts_as")
          account.acts_as = field.second.Scalar();
        else
          return Status::InvalidArgument(where(field.first, key + "." + f) +
                                         "unknown key (expected password or acts_as)");
      }
      if (account.password_hash.rfind("$argon2id$", 0) != 0) {
        return Status::InvalidArgument(
            where(entry.first, key + ".password") +
            "expected an Argon2id hash (make one with `dutyhub-web hash-password`)");
      }
      accounts_[name] = account;
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) +
                                   ": not readable YAML: " + e.msg);
  }
  return Status::Ok();
}

const Account* Accounts::Find(const std::string& name) const {
  auto it = accounts_.find(name);
  return it == accounts_.end() ? nullptr : &it->second;
}

TimeMs Accounts::LockLength(const Failures& f) const {
  TimeMs length = policy_.lock_for;
  for (int i = 0; i < f.locks && length < kLongestLock; ++i) length *= 2;
  return std::min(length, kLongestLock);
}

Accounts::Failures& Accounts::AddressCount(NameFailures& f, const std::string& from, TimeMs now) {
  if (auto kept = f.from.find(from); kept != f.from.end()) return kept->second;
  if (f.from.size() >= policy_.most_addresses) {
    // Only the addresses locked now keep their places; the others' counts start again,
    // and the count from everywhere still locks the account at its ceiling.
    std::erase_if(f.from, [now](const auto& entry) { return entry.second.locked_until <= now; });
    // Still full: every running lock stays, and this address is counted with the others
    // not seen before, together, so that many new addresses lock no later than one.
    if (f.from.size() >= policy_.most_addresses) return f.every_other;
  }
  // A new address with a place of its own: there is room again, so new addresses are
  // counted alone, and what they shared starts again once its lock (if any) runs out.
  // Only here: an attempt from an address already kept must not clear the shared count.
  if (f.every_other.locked_until <= now && f.every_other.count + f.every_other.locks > 0) {
    f.every_other = Failures{};
    ++f.every_other_round;
  }
  return f.from[from];
}

Accounts::Tracked Accounts::Track(bool account, const std::string& key, const std::string& from,
                                  TimeMs now) {
  if (account) {
    NameFailures& f = failures_[key];
    return {&f, &AddressCount(f, from, now)};
  }
  const auto running = [now](const Failures& c) { return c.locked_until > now; };
  auto it = strangers_.find(key);
  // A name whose own table is full takes no new place from the strangers' table: either
  // one of its own locks has run out and gives its place, or the address is counted with
  // its every_other, as an account's would be (AddressCount).
  const bool needs_place =
      (it == strangers_.end() || !it->second.from.count(from)) &&
      (it == strangers_.end() || it->second.from.size() < policy_.most_addresses);
  if (needs_place && stranger_addresses_ >= policy_.most_stranger_addresses) {
    // Full: forget what no running lock needs, never a running lock, since a made-up name
    // must stay locked as long as an account would or the two could be told apart.
    stranger_addresses_ = 0;
    for (auto n = strangers_.begin(); n != strangers_.end();) {
      std::erase_if(n->second.from, [&](const auto& entry) { return !running(entry.second); });
      if (n->second.from.empty() && !running(n->second.anywhere) &&
          !running(n->second.every_other)) {
        n = strangers_.erase(n);
      } else {
        stranger_addresses_ += n->second.from.size();
        ++n;
      }
    }
    if (stranger_addresses_ >= policy_.most_stranger_addresses) return {};
    it = strangers_.find(key);
  }
  // Each made-up name's addresses are bounded as an account's are, for the same answers.
  NameFailures& f = it != strangers_.end() ? it->second : strangers_[key];
  const size_t before = f.from.size();
  Failures& here = AddressCount(f, from, now);
  stranger_addresses_ = stranger_addresses_ + f.from.size() - before;
  return {&f, &here};
}

Accounts::Failures* Accounts::TrackDevice(NameFailures& f, const std::string& device, TimeMs now) {
  if (f.devices.size() >= policy_.most_browsers && !f.devices.count(device)) {
    std::erase_if(f.devices, [now](const auto& entry) { return entry.second.locked_until <= now; });
    if (f.devices.size() >= policy_.most_browsers) return nullptr;
  }
  return &f.devices[device];
}

size_t Accounts::StrangerAddressesKept() const {
  std::lock_guard lock(mutex_);
  return stranger_addresses_;
}

size_t Accounts::AddressesKept(const std::string& account) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(account);
  return it == failures_.end() ? 0 : it->second.from.size();
}

size_t Accounts::BrowsersKept(const std::string& account) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(account);
  return it == failures_.end() ? 0 : it->second.devices.size();
}

Result<Account> Accounts::SignIn(const std::string& name, const std::string& password,
                                 const std::string& from_address,
                                 const std::optional<std::string>& device, bool* as_known_browser) {
  const Status refused = Status::PermissionDenied("that account name and password do not match");
  const TimeMs now = clock_.Now();
  const Account* account = Find(name);
  const std::string key = account != nullptr ? name : StrangerKey(name);
  const std::string from = AddressKey(from_address);
  std::optional<Status> wrong;  // what this attempt says if its password is wrong
  std::optional<int> shared;    // this attempt was counted in that round of every_other
  // A known browser of this account, not itself locked: its own count, and nothing else's.
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    if (account != nullptr && device) {
      if (Failures* d = TrackDevice(failures_[key], *device, now)) {
        if (d->locked_until != 0 && d->locked_until <= now) {
          d->count = 0;
          d->locked_until = 0;
        }
        if (d->locked_until <= now) {
          known = true;
          // Counted before the check, as below. Locked, this browser is counted like any
          // other computer (by its address, and towards the ceiling) until the lock runs out.
          if (++d->count >= policy_.failures) {
            const TimeMs length = LockLength(*d);
            d->locked_until = now + length;
            ++d->locks;
            wrong = Status::PermissionDenied(
                "that account name and password do not match, " + std::to_string(d->count) +
                " times in a row on this browser: for " + Minutes(length) +
                " minute(s) it is counted like any other computer");
          }
        }
      }
    }
    if (as_known_browser != nullptr) *as_known_browser = known;
    if (known) {
      // Neither this address's count nor the one from everywhere is read or moved.
    } else if (const Tracked tracked = Track(account != nullptr, key, from, now); tracked.name) {
      NameFailures* f = tracked.name;
      Failures& here = *tracked.here;
      const bool every_other = tracked.here == &f->every_other;
      if (every_other) shared = f->every_other_round;
      // Where she can sign in meanwhile: a browser she has used, unless this is one (its
      // own lock running, or the account's table of browsers full).
      const std::string elsewhere = device ? "" : ", from a browser you have signed in with before";
      for (Failures* served : {&f->anywhere, &here}) {
        // A lock run out: the count starts again, and the next lock will be longer.
        if (served->locked_until != 0 && served->locked_until <= now) {
          served->count = 0;
          served->locked_until = 0;
        }
      }
      if (f->anywhere.locked_until > now) {
        return Status::PermissionDenied(
            "this account is locked after repeated failed sign-ins: try again in " +
            Minutes(f->anywhere.locked_until - now) + " minute(s), or ask your manager");
      }
      if (here.locked_until > now && every_other) {
        return Status::PermissionDenied(
            "sign-ins to this account from addresses not seen before are locked while many "
            "addresses are locked out: try again in " +
            Minutes(here.locked_until - now) + " minute(s)" + elsewhere + ", or ask your manager");
      }
      if (here.locked_until > now) {
        return Status::PermissionDenied(
            "sign-ins to this account from this address are locked after repeated failures: "
            "try again in " +
            Minutes(here.locked_until - now) + " minute(s), or ask your manager");
      }
      // Counted before the check, as if wrong: sign-ins sent at once see each other's, so
      // they get no more tries than one after another.
      ++here.count;
      if (++f->anywhere.count >= policy_.account_failures) {
        const TimeMs length = LockLength(f->anywhere);
        f->anywhere.locked_until = now + length;
        ++f->anywhere.locks;
        wrong = Status::PermissionDenied("this account is now locked after " +
                                         std::to_string(f->anywhere.count) +
                                         " failed sign-ins in a row: try again in " +
                                         Minutes(length) + " minute(s), or ask your manager");
      } else if (here.count >= policy_.failures) {
        const TimeMs length = LockLength(here);
        here.locked_until = now + length;
        ++here.locks;
        wrong =
            Status::PermissionDenied(std::string("sign-ins to this account from ") +
                                     (every_other ? "addresses not seen before" : "this address") +
                                     " are now locked after " + std::to_string(here.count) +
                                     " failures: try again in " + Minutes(length) + " minute(s)" +
                                     (every_other ? elsewhere : "") + ", or ask your manager");
      }
    }
  }
  const std::string& hash = account != nullptr ? account->password_hash : DecoyHash();
  checking_.acquire();
  const bool right = password.size() <= kLongestPassword && !hash.empty() &&
                     crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  checking_.release();
  if (right && account != nullptr && known) {
    // Her own browser: its count starts again. A lock from everywhere stands for every
    // other browser, since whoever set it may still be trying.
    std::lock_guard lock(mutex_);
    failures_[key].devices.erase(*device);
    return *account;
  }
  if (right && account != nullptr) {
    // She has shown she knows the password: the counts from here and from everywhere start
    // again, with any lock this attempt's own count set. Other addresses' stand, and so
    // does the count that new addresses share (every_other), strangers' tries being in it:
    // only her own attempt there is taken back, unless it set the lock (she is in; the
    // guesses before hers still count against the others).
    std::lock_guard lock(mutex_);
    if (auto it = failures_.find(key); it != failures_.end()) {
      it->second.from.erase(from);
      it->second.anywhere = Failures{};
      if (Failures& others = it->second.every_other; shared == it->second.every_other_round &&
                                                     others.count > 0 &&
                                                     others.locked_until <= now) {
        --others.count;
      }
      if (it->second.from.empty() && it->second.devices.empty() &&
          it->second.every_other.locked_until <= now) {
        failures_.erase(it);
      }
    }
    return *account;
  }
  return wrong ? *wrong : refused;
}

}  // namespace dutyhub::web
