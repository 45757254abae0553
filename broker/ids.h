// Where new delivery ids come from. Injected like the Clock, so a test can predict them.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
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

 private:
  // The random source is asked for many ids' worth at once: one system call per id was a
  // tenth of the reactor's time per publish.
  static constexpr size_t kIdsPerRefill = 256;
  std::mutex mutex_;
  std::array<uint64_t, 2 * kIdsPerRefill> random_{};
  size_t next_ = random_.size();  // all used: fill before the first id
};

}  // namespace dutyhub
