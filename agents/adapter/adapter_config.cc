#include "agents/adapter/adapter_config.h"

#include <yaml-cpp/yaml.h>

#include "broker/keys.h"

namespace dutyhub {

Result<AdapterConfig> LoadAdapterConfig(const std::string& path) {
  AdapterConfig config;
  config.source = path;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap())
      return Status::InvalidArgument(path + ":1: expected a mapping of keys to values");
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      const std::string where =
          path + ":" + std::to_string(entry.first.Mark().line + 1) + ": " + key + ": ";
      if (!entry.second.IsScalar())
        return Status::InvalidArgument(where + "expected a single value");
      const std::string value = entry.second.Scalar();
      if (key == "agency")
        config.agency = value;
      else if (key == "broker")
        config.broker = value;
      else if (key == "key")
        config.key = value;
      else if (key == "broker_key")
        config.broker_key = value;
      else if (key == "insecure_as")
        config.insecure_as = value;
      else if (key == "outbox")
        config.outbox = value;
      else if (key == "listen")
        config.listen = value;
      else if (key == "folder")
        config.folder = value;
      else if (key == "callback_url")
        config.callback_url = value;
      else {
        return Status::InvalidArgument(where +
                                       "unknown key (expected agency, broker, key, broker_key, "
                                       "insecure_as, outbox, listen, folder or callback_url)");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) +
                                   ": not readable YAML: " + e.msg);
  }
  if (config.agency.empty())
    return Status::InvalidArgument(path + ": agency: missing required key");
  if (config.outbox.empty())
    return Status::InvalidArgument(path + ": outbox: missing required key");
  if (config.key.empty() && config.insecure_as.empty()) {
    return Status::InvalidArgument(
        path + ": key: give the adapter's key file (or insecure_as for development)");
  }
  return config;
}

std::optional<ListenAddress> ParseListen(const std::string& text) {
  ListenAddress out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (out.host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  out.port = std::stoi(port);
  if (out.port > 65535) return std::nullopt;
  return out;
}

bool IsLoopbackHost(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "::1";
}

Result<OutboxOptions> OutboxOptionsFor(const AdapterConfig& config) {
  OutboxOptions options;
  options.path = config.outbox;
  options.broker = config.broker;
  options.insecure_as = config.insecure_as;
  if (!config.key.empty()) {
    auto keys = ClientKeysFromFiles(config.key, config.broker_key, config.source);
    if (!keys.ok()) return keys.status();
    options.keys = *keys;
  }
  return options;
}

Result<ClientKeys> ClientKeysFromFiles(const std::string& key_file, const std::string& broker_key,
                                       const std::string& source) {
  auto keys = ReadKeyFile(key_file);
  if (!keys.ok()) return Status::InvalidArgument(source + ": key: " + keys.status().message());
  std::string broker = keys->broker_public_key;
  if (!broker_key.empty()) {
    auto given = ReadPublicKey(broker_key);
    if (!given.ok())
      return Status::InvalidArgument(source + ": broker_key: " + given.status().message());
    broker = *given;
  }
  if (broker.empty())
    return Status::InvalidArgument(source + ": broker_key: which broker to trust?");
  return ClientKeys{keys->public_key, keys->secret_key, broker};
}

}  // namespace dutyhub
