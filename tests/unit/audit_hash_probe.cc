// Run by AuditHashTest, once as it is and once with libcrypto's SHA-256 switched off
// (OPENSSL_CONF loading only OpenSSL's null provider): prints whether libcrypto can hash
// here, then the audit hash of each pinned case in hex, one a line.

#include <openssl/evp.h>

#include <cstdio>

#include "broker/store.h"
#include "tests/unit/audit_hash_cases.h"

int main() {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::printf("libcrypto %s\n", sha256 != nullptr ? "hashes" : "cannot");
  EVP_MD_free(sha256);
  for (const dutyhub::AuditHashCase& c : dutyhub::AuditHashCases()) {
    const std::string hash = dutyhub::AuditHash(c.previous, c.seq, c.delivery_id, c.at, c.event,
                                                c.by, c.inbox, c.note, c.via);
    for (unsigned char byte : hash) std::printf("%02x", byte);
    std::printf("\n");
  }
  return 0;
}
