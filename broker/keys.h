// CURVE keys: every agency system and every person has a key pair; the broker has its own.
// Keys are Z85 text (40 characters), as ZeroMQ writes them.
//
// A key file (written by `dutyhub keygen`, mode 0600: the secret key is its owner's
// identity) holds:
//   # comment lines
//   public-key = <Z85>
//   secret-key = <Z85>
//   broker-public-key = <Z85>     (optional: which broker a client trusts)
// A public key file (`NAME.pub`) holds the one Z85 public key on a line.
#pragma once

#include <optional>
#include <string>

#include "broker/status.h"

namespace dutyhub {

struct KeyPair {
  std::string public_key;         // Z85
  std::string secret_key;         // Z85
  std::string broker_public_key;  // Z85 or empty
};

Result<KeyPair> GenerateKeyPair();

// Writes `keys` to `path` readable by its owner only (0600), replacing nothing: an
// existing file is INVALID_ARGUMENT, so nobody overwrites an identity by mistake.
Status WriteKeyFile(const std::string& path, const KeyPair& keys);

Result<KeyPair> ReadKeyFile(const std::string& path);

// A public key given as Z85 text, or as the path of a file holding one (a key file or a
// .pub file). A file that exists is read, even when its path would decode as Z85.
Result<std::string> ReadPublicKey(const std::string& key_or_path);

bool IsZ85Key(const std::string& text);

// The 32-byte binary form, as ZAP hands a client's key to the broker.
std::optional<std::string> DecodeKey(const std::string& z85);
std::string EncodeKey(const std::string& binary);

// What the logs call a key: the first 12 characters of its public Z85 form. Public keys
// are not secret; this only keeps log lines short.
std::string Fingerprint(const std::string& public_z85);

}  // namespace dutyhub
