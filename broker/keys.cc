#include "broker/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace dutyhub {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\"");
  size_t e = s.find_last_not_of(" \t\r\n\"");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

bool IsZ85Key(const std::string& text) { return text.size() == 40 && DecodeKey(text).has_value(); }

std::optional<std::string> DecodeKey(const std::string& z85) {
  if (z85.size() != 40) return std::nullopt;
  uint8_t out[32];
  if (zmq_z85_decode(out, z85.c_str()) == nullptr) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string EncodeKey(const std::string& binary) {
  char out[41] = {0};
  if (binary.size() != 32 ||
      zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(binary.data()), 32) == nullptr) {
    return "";
  }
  return out;
}

std::string Fingerprint(const std::string& public_z85) { return public_z85.substr(0, 12); }

Result<KeyPair> GenerateKeyPair() {
  char public_key[41], secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Internal("this ZeroMQ cannot make CURVE keys (built without libsodium?)");
  }
  return KeyPair{public_key, secret_key, ""};
}

Status WriteKeyFile(const std::string& path, const KeyPair& keys) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return Status::InvalidArgument("cannot create " + path + ": " + std::string(strerror(errno)) +
                                   " (an existing key file is never overwritten)");
  }
  std::string text =
      "# dutyhub key pair. The secret key is its owner's identity: keep this file private.\n"
      "public-key = " +
      keys.public_key + "\nsecret-key = " + keys.secret_key + "\n";
  if (!keys.broker_public_key.empty())
    text += "broker-public-key = " + keys.broker_public_key + "\n";
  bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written = (fsync(fd) == 0) && written;
  close(fd);
  if (!written) return Status::Unavailable("cannot write " + path);
  return Status::Ok();
}

namespace {

// Whether this process is in group `gid` (its own or one of its supplementary groups): a key
// file readable by some other group is readable by others.
bool IsOneOfMyGroups(gid_t gid) {
  if (gid == ::getegid()) return true;
  const int count = ::getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  const int got = ::getgroups(count, groups.data());
  return got > 0 && std::find(groups.begin(), groups.begin() + got, gid) != groups.begin() + got;
}

}  // namespace

Result<KeyPair> ReadKeyFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Status::InvalidArgument("cannot read key file " + path);
  // Private to its owner; or, as a service's secrets are kept, owned by root and readable by
  // the service's group (0640), which the service then cannot change. Never others', never
  // writable by the group.
  const bool owners_alone = (st.st_mode & 077) == 0;
  const bool roots_for_a_group =
      st.st_uid == 0 && (st.st_mode & 037) == 0 && IsOneOfMyGroups(st.st_gid);
  if (!owners_alone && !roots_for_a_group) {
    return Status::PermissionDenied("key file " + path +
                                    " is open to others: chmod 600 it (or, owned by root, 640 "
                                    "for a group the service is in)");
  }
  std::ifstream in(path);
  KeyPair keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (name == "public-key") keys.public_key = value;
    if (name == "secret-key") keys.secret_key = value;
    if (name == "broker-public-key") keys.broker_public_key = value;
  }
  if (!IsZ85Key(keys.public_key) || !IsZ85Key(keys.secret_key)) {
    return Status::InvalidArgument("key file " + path +
                                   " has no valid public-key and secret-key lines");
  }
  if (!keys.broker_public_key.empty() && !IsZ85Key(keys.broker_public_key)) {
    return Status::InvalidArgument("key file " + path + ": broker-public-key is not a Z85 key");
  }
  return keys;
}

Result<std::string> ReadPublicKey(const std::string& key_or_path) {
  // A file first: a path of 40 characters all in Z85's alphabet (letters, digits, '/', '.',
  // '-') decodes as a key too, and was taken for one ("/tmp/demo/.demo/keys/northshire-
  // mash.pub"): its principal then had a key nobody holds, and could not connect.
  std::error_code error;
  if (!std::filesystem::is_regular_file(key_or_path, error) && IsZ85Key(key_or_path)) {
    return key_or_path;
  }
  std::ifstream in(key_or_path);
  if (!in)
    return Status::InvalidArgument("'" + key_or_path +
                                   "' is neither a Z85 key nor a readable file");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    // A .pub file's line is the key alone; Z85 itself may contain '='.
    if (IsZ85Key(Trim(line))) return Trim(line);
    size_t eq = line.find('=');
    if (eq != std::string::npos && Trim(line.substr(0, eq)) == "public-key" &&
        IsZ85Key(Trim(line.substr(eq + 1)))) {
      return Trim(line.substr(eq + 1));
    }
  }
  return Status::InvalidArgument(key_or_path + " holds no public key");
}

}  // namespace dutyhub
