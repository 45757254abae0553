#include "broker/log_sink.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

namespace dutyhub {
namespace {

class GatheringStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~GatheringStdoutSink() override { WriteOut(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    formatter_->format(msg, lines_);
    if (msg.level >= spdlog::level::warn || lines_.size() >= kWriteOutAt) WriteOut();
  }
  void flush_() override { WriteOut(); }

 private:
  static constexpr size_t kWriteOutAt = 64 * 1024;

  void WriteOut() {
    const char* p = lines_.data();
    size_t left = lines_.size();
    while (left > 0) {
      ssize_t n = ::write(STDOUT_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        break;  // nowhere to write (closed, full disk): the lines are dropped, as stdio would
      p += n;
      left -= static_cast<size_t>(n);
    }
    lines_.clear();
  }

  spdlog::memory_buf_t lines_;
};

}  // namespace

void GatherLogLinesUnlessOnATerminal() {
  if (::isatty(STDOUT_FILENO)) return;
  auto logger = std::make_shared<spdlog::logger>("", std::make_shared<GatheringStdoutSink>());
  logger->set_level(spdlog::default_logger_raw()->level());
  spdlog::set_default_logger(std::move(logger));
}

void FlushLog() { spdlog::default_logger_raw()->flush(); }

}  // namespace dutyhub
