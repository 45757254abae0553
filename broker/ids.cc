#include "broker/ids.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace dutyhub {

RandomIds::RandomIds() {
  if (sodium_init() < 0) std::abort();  // no random source at all: nothing is safe to do
}

std::string RandomIds::NewId() {
  uint64_t hi, lo;
  randombytes_buf(&hi, sizeof hi);
  randombytes_buf(&lo, sizeof lo);
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                      // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

}  // namespace dutyhub
