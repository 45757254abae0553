// Where new delivery ids come from. Injected like the Clock, so a test can predict them.
#pragma once

#include <string>

namespace dutyhub {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new random (version 4) UUID in its lower-case text form.
  virtual std::string NewId() = 0;
};

// From the operating system's cryptographic random source (libsodium), so a delivery id
// cannot be guessed from another; thread-safe.
class RandomIds final : public IdSource {
 public:
  RandomIds();
  std::string NewId() override;
};

}  // namespace dutyhub
