#include "broker/auth.h"

#include <spdlog/spdlog.h>

#include <zmq_addon.hpp>

#include "broker/keys.h"

namespace dutyhub {

Status KeyRing::Add(const std::string& principal, const std::string& public_z85) {
  std::optional<std::string> binary = DecodeKey(public_z85);
  if (!binary)
    return Status::InvalidArgument("the public key of '" + principal + "' is not a Z85 key");
  auto [it, added] = by_key_.emplace(*binary, principal);
  if (!added && it->second != principal) {
    return Status::InvalidArgument("'" + principal + "' and '" + it->second +
                                   "' have the same public key: give each its own key pair");
  }
  return Status::Ok();
}

const std::string* KeyRing::Find(const std::string& binary_key) const {
  auto it = by_key_.find(binary_key);
  return it == by_key_.end() ? nullptr : &it->second;
}

bool KeyRing::Has(const std::string& principal) const {
  for (const auto& [key, who] : by_key_) {
    if (who == principal) return true;
  }
  return false;
}

ZapHandler::ZapHandler(zmq::context_t& context, const KeyRing& keys)
    : keys_(keys), socket_(context, zmq::socket_type::rep) {
  socket_.bind("inproc://zeromq.zap.01");
}

void ZapHandler::OnRequest() {
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
  // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
  std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
  std::string address = frames.size() > 3 ? frames[3].to_string() : "";
  std::string mechanism = frames.size() > 5 ? frames[5].to_string() : "";
  std::string status = "400", text = "unknown key", user;
  if (frames.size() < 7 || frames[0].to_string() != "1.0" || mechanism != "CURVE") {
    text = "only CURVE is accepted";
    spdlog::warn("refused a connection from {}: mechanism {} (CURVE required)", address, mechanism);
  } else if (const std::string* principal = keys_.Find(frames[6].to_string())) {
    status = "200";
    text = "OK";
    user = *principal;
  } else {
    spdlog::warn("refused a connection from {}: unknown key {}", address,
                 Fingerprint(EncodeKey(frames[6].to_string())));
  }
  std::vector<zmq::const_buffer> reply = {zmq::str_buffer("1.0"), zmq::buffer(request_id),
                                          zmq::buffer(status),    zmq::buffer(text),
                                          zmq::buffer(user),      zmq::const_buffer()};
  zmq::send_multipart(socket_, reply);
}

}  // namespace dutyhub
