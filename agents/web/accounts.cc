#include "agents/web/accounts.h"

#include <sodium.h>
#include <yaml-cpp/yaml.h>

namespace dutyhub::web {
namespace {

constexpr size_t kMostTrackedNames = 10000;  // a flood of made-up names must not grow memory
constexpr size_t kLongestPassword = 1024;
// Per name, the addresses whose failures are counted apart: a flood from many cannot grow
// memory either.
constexpr size_t kMostTrackedAddresses = 1000;

// Whole minutes, rounded up: "try again in 0 minute(s)" would be wrong.
std::string Minutes(TimeMs ms) { return std::to_string((ms + kMinuteMs - 1) / kMinuteMs); }

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

Result<Account> Accounts::SignIn(const std::string& name, const std::string& password,
                                 const std::string& from) {
  const Status refused = Status::PermissionDenied("that account name and password do not match");
  const TimeMs now = clock_.Now();
  const Account* account = Find(name);
  {
    std::lock_guard lock(mutex_);
    const auto& table = account != nullptr ? failures_ : strangers_;
    if (auto it = table.find(name); it != table.end()) {
      const NameFailures& f = it->second;
      if (f.anywhere.locked_until > now) {
        return Status::PermissionDenied(
            "this account is locked after repeated failed sign-ins: try again in " +
            Minutes(f.anywhere.locked_until - now) + " minute(s), or ask your manager");
      }
      if (auto here = f.from.find(from); here != f.from.end() && here->second.locked_until > now) {
        return Status::PermissionDenied(
            "sign-ins to this account from this address are locked after repeated failures: "
            "try again in " +
            Minutes(here->second.locked_until - now) + " minute(s), or ask your manager");
      }
    }
  }
  const std::string& hash = account != nullptr ? account->password_hash : DecoyHash();
  checking_.acquire();
  const bool right = password.size() <= kLongestPassword && !hash.empty() &&
                     crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  checking_.release();
  std::lock_guard lock(mutex_);
  if (right && account != nullptr) {
    if (auto it = failures_.find(name); it != failures_.end()) {
      it->second.from.erase(from);
      // Checked unlocked above: a lock another request set meanwhile is left to stand.
      if (it->second.anywhere.locked_until <= now) it->second.anywhere = Failures{};
      if (it->second.from.empty() && it->second.anywhere.locked_until == 0) failures_.erase(it);
    }
    return *account;
  }
  if (account == nullptr && stranger_addresses_ >= kMostTrackedNames) {
    // Made-up names are forgotten, never a real account's count: a flood of them, from
    // however many addresses, cannot grow memory or reset anyone's lock.
    strangers_.clear();
    stranger_addresses_ = 0;
  }
  NameFailures& f = (account != nullptr ? failures_ : strangers_)[name];
  const size_t addresses_before = f.from.size();  // counted in stranger_addresses_ already
  if (f.from.size() >= kMostTrackedAddresses && !f.from.count(from)) {
    // Only the addresses locked now keep their places; the others' counts start again, and
    // the count from anywhere, never forgotten, still locks the account at its ceiling.
    std::erase_if(f.from, [now](const auto& entry) { return entry.second.locked_until <= now; });
    if (f.from.size() >= kMostTrackedAddresses) f.from.clear();
  }
  Failures& here = f.from[from];
  if (account == nullptr)
    stranger_addresses_ = stranger_addresses_ - addresses_before + f.from.size();
  for (Failures* served : {&f.anywhere, &here}) {
    if (served->locked_until != 0 && served->locked_until <= now) *served = Failures{};
  }
  ++here.count;
  if (++f.anywhere.count >= policy_.account_failures) {
    f.anywhere.locked_until = now + policy_.lock_for;
    return Status::PermissionDenied("this account is now locked after " +
                                    std::to_string(f.anywhere.count) +
                                    " failed sign-ins in a row: try again in " +
                                    Minutes(policy_.lock_for) + " minute(s), or ask your manager");
  }
  if (here.count >= policy_.failures) {
    here.locked_until = now + policy_.lock_for;
    return Status::PermissionDenied(
        "sign-ins to this account from this address are now locked after " +
        std::to_string(here.count) + " failures: try again in " + Minutes(policy_.lock_for) +
        " minute(s), or ask your manager");
  }
  return refused;
}

}  // namespace dutyhub::web
