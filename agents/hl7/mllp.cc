#include "agents/hl7/mllp.h"

#include <algorithm>

namespace dutyhub {

std::string MllpFrame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out += kMllpStartBlock;
  out += message;
  out += kMllpEndBlock;
  out += kMllpCarriageReturn;
  return out;
}

void MllpDecoder::Feed(std::string_view bytes) {
  constexpr std::string_view kControl("\x0b\x1c", 2);
  size_t i = 0;
  while (i < bytes.size()) {
    const char c = bytes[i];
    switch (state_) {
      case State::kAfterEnd:
        state_ = State::kBetweenFrames;
        if (c == kMllpCarriageReturn) ++i;  // the end block's second byte
        break;
      case State::kBetweenFrames:
        if (c == kMllpStartBlock) {
          state_ = State::kInFrame;
        } else {
          ++skipped_;
        }
        ++i;
        break;
      case State::kInFrame:
      case State::kOversized: {
        if (c == kMllpStartBlock) {
          // A start inside a frame: the sender gave up on the first and starts again.
          skipped_ += frame_.size();
          frame_.clear();
          state_ = State::kInFrame;
          ++i;
          break;
        }
        if (c == kMllpEndBlock) {
          if (state_ == State::kOversized) {
            ready_.push_back(Status::InvalidArgument(
                "the message is larger than " + std::to_string(max_frame_bytes_ / 1024) +
                " KiB, far more than any liaison form: it was dropped"));
          } else {
            ready_.push_back(std::move(frame_));
          }
          frame_.clear();
          state_ = State::kAfterEnd;
          ++i;
          break;
        }
        // Copy the run up to the next control byte at once: frames are mostly text.
        const size_t end = std::min(bytes.find_first_of(kControl, i), bytes.size());
        if (state_ == State::kInFrame) {
          if (frame_.size() + (end - i) > max_frame_bytes_) {
            std::string().swap(frame_);  // give the memory back, not just the length
            state_ = State::kOversized;
          } else {
            frame_.append(bytes.substr(i, end - i));
          }
        }
        i = end;
        break;
      }
    }
  }
}

std::optional<Result<std::string>> MllpDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Result<std::string> next = std::move(ready_.front());
  ready_.pop_front();
  return next;
}

}  // namespace dutyhub
