#include "broker/ids.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace dutyhub {

RandomIds::RandomIds() {
  if (sodium_init() < 0) std::abort();  // no random source at all: nothing is safe to do
}

std::string RandomIds::NewId() {
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  uint64_t hi, lo;
  {
    std::lock_guard lock(mutex_);
    if (next_ == random_.size()) {
      randombytes_buf(random_.data(), random_.size() * sizeof(uint64_t));
      next_ = 0;
    }
    hi = random_[next_];
    lo = random_[next_ + 1];
    // Used once: wiped, so what is left in memory is only ids not yet handed out.
    random_[next_] = random_[next_ + 1] = 0;
    next_ += 2;
  }
  hi = (ms << 16) | 0x7000ULL | (hi & 0x0FFFULL);  // 48-bit time, version 7, 12 random bits
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 9562 variant, 62 random bits
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

}  // namespace dutyhub
