// MLLP, HL7's Minimal Lower Layer Protocol over TCP: every message travels as
//
//   0x0B  message bytes  0x1C 0x0D
//
// and the answer (the ACK) comes back framed the same way on the same connection.
//
// The decoder takes bytes as the socket hands them over, in any pieces: a frame may arrive
// in many reads and one read may hold many frames. A frame larger than the limit is dropped
// (its bytes are not kept) and reported once it ends, so a peer cannot make the adapter hold
// more than `max_frame_bytes` per connection. Bytes outside a frame (a newline some senders
// add between frames) are skipped. A missing 0x0D after 0x1C is tolerated.
//
// Not thread-safe: one decoder per connection, used by the thread that reads it.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "broker/status.h"

namespace dutyhub {

constexpr char kMllpStartBlock = 0x0B;
constexpr char kMllpEndBlock = 0x1C;
constexpr char kMllpCarriageReturn = 0x0D;
// A liaison message is a few kilobytes; 1 MiB leaves room and bounds memory.
constexpr size_t kMllpMaxFrameBytes = 1 << 20;

// `message` framed for sending.
std::string MllpFrame(std::string_view message);

class MllpDecoder {
 public:
  explicit MllpDecoder(size_t max_frame_bytes = kMllpMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Takes the bytes of one read.
  void Feed(std::string_view bytes);

  // The next complete frame's message, in order; INVALID_ARGUMENT in its place for a frame
  // that was larger than the limit; nullopt while no frame is complete.
  std::optional<Result<std::string>> Next();

  // Complete frames (and oversize reports) not yet taken by Next.
  size_t waiting() const { return ready_.size(); }
  // Bytes held for the frame being received.
  size_t buffered() const { return frame_.size(); }
  // Bytes skipped outside frames so far, and frames abandoned by a new start block.
  size_t skipped() const { return skipped_; }
  // True while a frame has started and not ended (a peer that hangs up now cut it short).
  bool in_frame() const { return state_ == State::kInFrame || state_ == State::kOversized; }

 private:
  enum class State { kBetweenFrames, kInFrame, kOversized, kAfterEnd };

  size_t max_frame_bytes_;
  State state_ = State::kBetweenFrames;
  std::string frame_;
  size_t skipped_ = 0;
  std::deque<Result<std::string>> ready_;
};

}  // namespace dutyhub
