// Where new delivery ids come from. Injected like the Clock, so a test can predict them.
#pragma once

#include <string>

namespace dutyhub {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new unguessable UUID in its lower-case text form.
  virtual std::string NewId() = 0;
};

// Version 7 UUIDs (RFC 9562): the millisecond they were made, then 74 bits from the
// operating system's cryptographic random source (libsodium), so a delivery id cannot be
// guessed from another. The time first keeps new ids together at the end of the store's
// indexes: a commit rewrites a few index pages, not one page per new item, which is most of
// what a commit writes to disk otherwise. Thread-safe.
class RandomIds final : public IdSource {
 public:
  RandomIds();
  std::string NewId() override;
};

}  // namespace dutyhub
