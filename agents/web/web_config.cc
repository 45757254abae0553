#include "agents/web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agents/adapter/adapter_config.h"
#include "agents/web/client_address.h"

namespace dutyhub::web {
namespace {

// A configuration mistake, thrown inside the loader only and turned into a Status there.
struct Mistake {
  std::string message;
};

std::string Where(const std::string& path, const YAML::Node& node, const std::string& key) {
  return path + ":" + std::to_string(node.Mark().line + 1) + ": " + key + ": ";
}

void ExpectKeys(const std::string& path, const YAML::Node& map, const std::string& prefix,
                const std::set<std::string>& known) {
  if (!map.IsMap()) throw Mistake{Where(path, map, prefix) + "expected a mapping"};
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Mistake{Where(path, entry.first, prefix + key) +
                    "unknown key (expected one of: " + list + ")"};
    }
  }
}

std::string Text(const std::string& path, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw Mistake{Where(path, node, key) + "expected a single value"};
  return node.Scalar();
}

int Number(const std::string& path, const YAML::Node& node, const std::string& key, int lo,
           int hi) {
  const std::string text = Text(path, node, key);
  try {
    size_t used = 0;
    int value = std::stoi(text, &used);
    if (used == text.size() && value >= lo && value <= hi) return value;
  } catch (const std::exception&) {
  }
  throw Mistake{Where(path, node, key) + "expected a whole number from " + std::to_string(lo) +
                " to " + std::to_string(hi)};
}

// A computer's address in CanonicalAddress's one spelling, as connections are compared.
std::string Address(const std::string& path, const YAML::Node& node, const std::string& key) {
  const std::string text = Text(path, node, key);
  std::optional<std::string> address = CanonicalAddress(text);
  if (!address) {
    throw Mistake{Where(path, node, key) + "'" + text +
                  "' is not an IPv4 or IPv6 address (one address each, no ranges or names)"};
  }
  return *address;
}

bool Flag(const std::string& path, const YAML::Node& node, const std::string& key) {
  const std::string text = Text(path, node, key);
  if (text == "true") return true;
  if (text == "false") return false;
  throw Mistake{Where(path, node, key) + "expected true or false"};
}

std::string ReadSecretFile(const std::string& path, const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Mistake{path + ": metrics_token_file: cannot read " + file};
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.size() < 16)
    throw Mistake{path + ": metrics_token_file: the token must be at least 16 characters"};
  return token;
}

}  // namespace

Result<WebConfig> LoadWebConfig(const std::string& path) {
  WebConfig config;
  config.source = path;
  std::string key_file, broker_key_file;
  try {
    YAML::Node root = YAML::LoadFile(path);
    // Under TLS every cookie is Secure, whatever order the keys come in: a later
    // `secure_cookies: false` must not quietly take that back.
    if (root.IsMap() && root["tls"] && root["secure_cookies"] &&
        !Flag(path, root["secure_cookies"], "secure_cookies")) {
      throw Mistake{Where(path, root["secure_cookies"], "secure_cookies") +
                    "cannot be false with tls: cookies under TLS are always Secure; remove "
                    "secure_cookies"};
    }
    ExpectKeys(path, root, "",
               {"listen", "broker", "gateway", "key", "broker_key", "insecure_dev", "accounts",
                "tls", "secure_cookies", "trusted_proxy", "reverse_proxies", "session", "lockout",
                "metrics_token_file"});
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      const YAML::Node& value = entry.second;
      if (key == "listen")
        config.listen = Text(path, value, key);
      else if (key == "broker")
        config.broker = Text(path, value, key);
      else if (key == "gateway")
        config.gateway = Text(path, value, key);
      else if (key == "key")
        key_file = Text(path, value, key);
      else if (key == "broker_key")
        broker_key_file = Text(path, value, key);
      else if (key == "insecure_dev")
        config.insecure_dev = Flag(path, value, key);
      else if (key == "accounts")
        config.accounts = Text(path, value, key);
      else if (key == "secure_cookies")
        config.secure_cookies = Flag(path, value, key);
      else if (key == "metrics_token_file")
        config.metrics_token = ReadSecretFile(path, Text(path, value, key));
      else if (key == "tls") {
        ExpectKeys(path, value, "tls.", {"certificate", "private_key"});
        if (!value["certificate"] || !value["private_key"]) {
          throw Mistake{Where(path, value, key) + "give both certificate and private_key"};
        }
        config.tls_certificate = Text(path, value["certificate"], "tls.certificate");
        config.tls_private_key = Text(path, value["private_key"], "tls.private_key");
        config.secure_cookies = true;
      } else if (key == "trusted_proxy") {
        ExpectKeys(path, value, "trusted_proxy.", {"header", "from"});
        if (!value["header"] || !value["from"] || !value["from"].IsSequence() ||
            value["from"].size() == 0) {
          throw Mistake{
              Where(path, value, key) +
              "give the header the proxy sets and `from`, the proxy's addresses (a list)"};
        }
        config.proxy_header = Text(path, value["header"], "trusted_proxy.header");
        // Compared with the connection's address, which is always an address in
        // CanonicalAddress's spelling: a host name here would never match, and single
        // sign-on would refuse everyone without saying why.
        for (const auto& from : value["from"])
          config.proxy_from.push_back(Address(path, from, "trusted_proxy.from"));
      } else if (key == "reverse_proxies") {
        if (!value.IsSequence() || value.size() == 0) {
          throw Mistake{Where(path, value, key) +
                        "give the reverse proxies' addresses as a list, e.g. [127.0.0.1]"};
        }
        for (const auto& proxy : value) config.reverse_proxies.push_back(Address(path, proxy, key));
      } else if (key == "session") {
        ExpectKeys(path, value, "session.", {"idle_minutes", "longest_hours"});
        if (value["idle_minutes"])
          config.idle_minutes =
              Number(path, value["idle_minutes"], "session.idle_minutes", 1, 24 * 60);
        if (value["longest_hours"])
          config.longest_hours =
              Number(path, value["longest_hours"], "session.longest_hours", 1, 7 * 24);
      } else if (key == "lockout") {
        ExpectKeys(path, value, "lockout.", {"failures", "minutes", "account_failures"});
        if (value["failures"])
          config.lockout_failures = Number(path, value["failures"], "lockout.failures", 1, 100);
        if (value["minutes"])
          config.lockout_minutes = Number(path, value["minutes"], "lockout.minutes", 1, 24 * 60);
        if (value["account_failures"]) {
          config.lockout_account_failures =
              Number(path, value["account_failures"], "lockout.account_failures", 1, 100);
        }
        if (config.lockout_account_failures < config.lockout_failures) {
          throw Mistake{Where(path, value, "lockout.account_failures") +
                        "must be at least lockout.failures (" +
                        std::to_string(config.lockout_failures) +
                        "): it counts the failures from every address together"};
        }
      }
    }
  } catch (const Mistake& m) {
    return Status::InvalidArgument(m.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) +
                                   ": not readable YAML: " + e.msg);
  }
  if (!ParseListen(config.listen)) {
    return Status::InvalidArgument(path + ": listen: expected HOST:PORT, e.g. 127.0.0.1:8080");
  }
  if (config.accounts.empty()) {
    return Status::InvalidArgument(
        path +
        ": accounts: give the accounts file (it names who may sign in, and as "
        "whom, with single sign-on too)");
  }
  if (key_file.empty() && !config.insecure_dev) {
    return Status::InvalidArgument(
        path + ": key: give the gateway's key file (or insecure_dev for development)");
  }
  if (!key_file.empty()) {
    auto keys = ClientKeysFromFiles(key_file, broker_key_file, path);
    if (!keys.ok()) return keys.status();
    config.keys = *keys;
  }
  return config;
}

}  // namespace dutyhub::web
