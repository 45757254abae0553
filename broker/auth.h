// Authentication (DESIGN.md promise 6): every connection proves who it is with CURVE, and
// the broker's ZAP handler maps the client's public key to a principal of the
// configuration, or refuses the handshake. The principal reaches each request as the
// message's User-Id; nothing in the payload can change it.
//
// Threads: the reactor owns the ZAP socket and calls OnRequest when it is readable.
#pragma once

#include <map>
#include <string>
#include <zmq.hpp>

#include "broker/status.h"

namespace dutyhub {

// Which principal holds which public key.
class KeyRing {
 public:
  // INVALID_ARGUMENT when the key is not Z85 or another principal holds it already.
  Status Add(const std::string& principal, const std::string& public_z85);
  // The principal holding this 32-byte key, or null.
  const std::string* Find(const std::string& binary_key) const;
  bool Has(const std::string& principal) const;
  size_t size() const { return by_key_.size(); }

 private:
  std::map<std::string, std::string> by_key_;  // binary key -> principal
};

class ZapHandler {
 public:
  // Binds ZeroMQ's ZAP endpoint on `context`: from then on every CURVE handshake on a
  // socket of that context asks this handler. REQUIRES: bound before the ROUTER listens.
  ZapHandler(zmq::context_t& context, const KeyRing& keys);

  zmq::socket_t& socket() { return socket_; }
  // Answers one waiting ZAP request: 200 with the principal as user id, or 400.
  void OnRequest();

 private:
  const KeyRing& keys_;
  zmq::socket_t socket_;
};

}  // namespace dutyhub
