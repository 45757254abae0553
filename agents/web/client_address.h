// Whose computer a request came from, when the pages sit behind reverse proxies: the
// sign-in lock-out counts failures by it, and /metrics without a token serves only this
// machine. The connection's own address is the proxy's, so every person would share one.
//
// A proxy appends the address it was connected from to X-Forwarded-For (nginx's
// $proxy_add_x_forwarded_for, HAProxy's `option forwardfor`, Apache's mod_proxy), keeping
// what the client sent to its left. Only the entries the configured proxies added can be
// believed: the client's address is the right-most entry not itself a proxy's, reading
// from the right and only while each hop is one of the proxies. Anything a client wrote
// further left is never read, so a client cannot pick its address.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dutyhub::web {

// An IPv4 or IPv6 address literal in one spelling (inet_ntop's), so "::1" and
// "0:0:0:0:0:0:0:1" are the same proxy, and an IPv4-mapped address ("::ffff:127.0.0.1", as
// a socket taking both kinds sees an IPv4 client) is its IPv4 address; nullopt when `text`
// is not one.
std::optional<std::string> CanonicalAddress(const std::string& text);

// The client's address for a connection from `peer` carrying `forwarded` (every
// X-Forwarded-For line, in order), when `proxies` (canonical, see above) are the reverse
// proxies in front, in CanonicalAddress's spelling when it is an address. The peer itself
// when it is not one of them or the header is missing;
// the last proxy read when the entry left of it is not an address (a proxy misconfigured:
// its own address is then the most that is known).
//
// REQUIRES: every listed proxy appends to the header. One that passes on what the client
// sent unchanged lets the client write the entry believed.
std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded,
                          const std::vector<std::string>& proxies);

}  // namespace dutyhub::web
