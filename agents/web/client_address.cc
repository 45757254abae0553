#include "agents/web/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace dutyhub::web {
namespace {

std::string Trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool IsProxy(const std::string& address, const std::vector<std::string>& proxies) {
  return std::find(proxies.begin(), proxies.end(), address) != proxies.end();
}

}  // namespace

std::optional<std::string> CanonicalAddress(const std::string& text) {
  char out[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return inet_ntop(AF_INET, &v4, out, sizeof out) ? std::optional<std::string>(out)
                                                    : std::nullopt;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    // An IPv4 client of a socket that takes both is seen as ::ffff:a.b.c.d: the same
    // computer as a.b.c.d, so spelled as it.
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
      return inet_ntop(AF_INET, &v4, out, sizeof out) ? std::optional<std::string>(out)
                                                      : std::nullopt;
    }
    return inet_ntop(AF_INET6, &v6, out, sizeof out) ? std::optional<std::string>(out)
                                                     : std::nullopt;
  }
  return std::nullopt;
}

std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded,
                          const std::vector<std::string>& proxies) {
  std::optional<std::string> hop = CanonicalAddress(peer);
  if (!hop) return peer;
  if (!IsProxy(*hop, proxies)) return *hop;
  // Every line as one list, left to right, as RFC 9110 5.3 combines a repeated field.
  std::vector<std::string> entries;
  for (const std::string& line : forwarded) {
    for (size_t at = 0; at <= line.size();) {
      size_t comma = line.find(',', at);
      if (comma == std::string::npos) comma = line.size();
      entries.push_back(Trimmed(line.substr(at, comma - at)));
      at = comma + 1;
    }
  }
  // From the right: each entry was added by the hop to its right, believed only while that
  // hop is one of the proxies.
  std::string client = *hop;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    std::optional<std::string> address = CanonicalAddress(*it);
    if (!address) break;
    client = *address;
    if (!IsProxy(client, proxies)) break;
  }
  return client;
}

}  // namespace dutyhub::web
