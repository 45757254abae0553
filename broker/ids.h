// Where new delivery ids come from. Injected like the Clock, so a test can predict them.
#pragma once

#include <mutex>
#include <random>
#include <string>

namespace dutyhub {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new random (version 4) UUID in its lower-case text form.
  virtual std::string NewId() = 0;
};

// Seeded from the operating system; thread-safe.
class RandomIds final : public IdSource {
 public:
  RandomIds();
  std::string NewId() override;

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace dutyhub
