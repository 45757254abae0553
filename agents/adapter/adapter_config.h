// What every agency adapter is told in its configuration file (YAML):
//
//   agency: gwh-ed                        # the agency it sends for
//   broker: tcp://127.0.0.1:5570
//   key: /etc/dutyhub/gwh-ed.key          # its CURVE key file (dutyhub keygen) ...
//   broker_key: /etc/dutyhub/broker.pub   # ... and the broker it trusts (or in the key file)
//   insecure_as: gwh-ed                   # instead of keys, against --insecure-dev only
//   outbox: /var/lib/dutyhub-http/outbox.sqlite
//   listen: 127.0.0.1:8080                # HTTP and HL7 (MLLP) adapters
//   folder: /srv/mash-export              # the folder adapter
//   callback_url: http://host/receipts    # HTTP adapter, optional
//
// A mistake stops the adapter before it starts, exit 2, with file, line and key.
#pragma once

#include <optional>
#include <string>

#include "agents/outbox/outbox.h"
#include "broker/status.h"

namespace dutyhub {

struct AdapterConfig {
  std::string source;
  std::string agency;
  std::string broker = "tcp://127.0.0.1:5570";
  std::string key;
  std::string broker_key;
  std::string insecure_as;
  std::string outbox;
  std::string listen;
  std::string folder;
  std::string callback_url;
};

Result<AdapterConfig> LoadAdapterConfig(const std::string& path);

// Where a listening adapter listens: "127.0.0.1:2575", "[::1]:8080", "0.0.0.0:2575".
struct ListenAddress {
  std::string host;  // without brackets: "127.0.0.1", "::1"
  int port = 0;      // 0: any free port (tests)
};
std::optional<ListenAddress> ParseListen(const std::string& text);

// Reachable from this machine only (the adapters warn when they listen beyond it).
bool IsLoopbackHost(const std::string& host);

// A client's CURVE identity from its key file, trusting the broker named by `broker_key`
// (a key or a file), or else by the key file's own broker-public-key line. `source` names
// the configuration file in messages.
Result<ClientKeys> ClientKeysFromFiles(const std::string& key_file, const std::string& broker_key,
                                       const std::string& source);

// The outbox options it describes, with the keys read from their files.
Result<OutboxOptions> OutboxOptionsFor(const AdapterConfig& config);

}  // namespace dutyhub
