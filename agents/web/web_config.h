// What dutyhub-web is told in its configuration file (YAML; README.md beside this file):
//
//   listen: 127.0.0.1:8080                 # where the pages are served
//   broker: tcp://127.0.0.1:5570
//   gateway: web                           # its principal: a broker's `gateways` entry
//   key: /etc/dutyhub/web.key              # its CURVE key file (dutyhub keygen) ...
//   broker_key: /etc/dutyhub/broker.pub    # ... and the broker it trusts (or in the key file)
//   insecure_dev: true                     # instead of keys, against --insecure-dev only
//   accounts: /etc/dutyhub/web-accounts.yaml
//   tls: {certificate: cert.pem, private_key: key.pem}   # HTTPS; cookies are then Secure
//   secure_cookies: true                   # Secure cookies behind a TLS-terminating proxy
//   trusted_proxy: {header: X-Remote-User, from: [127.0.0.1]}   # single sign-on
//   reverse_proxies: [127.0.0.1]           # whose X-Forwarded-For names the client
//   session: {idle_minutes: 30, longest_hours: 12}
//   lockout: {failures: 5, minutes: 15, account_failures: 100}   # per address; from anywhere
//   metrics_token_file: /etc/dutyhub/metrics.token   # /metrics wants "Authorization: Bearer" it
//
// A mistake stops it before it starts, exit 2, naming file, line and key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agents/client/hub_client.h"
#include "broker/status.h"

namespace dutyhub::web {

struct WebConfig {
  std::string source;
  std::string listen = "127.0.0.1:8080";
  std::string broker = "tcp://127.0.0.1:5570";
  std::string gateway = "web";
  std::optional<ClientKeys> keys;  // none: insecure_dev
  bool insecure_dev = false;
  std::string accounts;
  std::string tls_certificate;
  std::string tls_private_key;
  bool secure_cookies = false;
  std::string proxy_header;                  // empty: no single sign-on
  std::vector<std::string> proxy_from;       // peer addresses whose header is believed (canonical)
  std::vector<std::string> reverse_proxies;  // canonical (client_address.h); empty: none
  int idle_minutes = 30;
  int longest_hours = 12;
  int lockout_failures = 5;
  int lockout_minutes = 15;
  int lockout_account_failures = 100;  // from anywhere, in a row: at least lockout_failures
  std::string metrics_token;           // empty: /metrics needs no token
};

Result<WebConfig> LoadWebConfig(const std::string& path);

}  // namespace dutyhub::web
