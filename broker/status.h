// Errors as values. Anything a peer or a configuration file can get wrong is reported
// through a Status; exceptions never cross the message path.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dutyhub {

// The codes match proto/hub.proto's Status.Code and the command line's exit codes.
enum class Code {
  kOk = 0,
  kInvalidArgument = 3,
  kPermissionDenied = 4,
  kUnavailable = 5,
  kNotFound = 6,
  kInternal = 7,
};

const char* CodeName(Code code);

// One broken rule: the field path it concerns and a sentence a person can act on.
struct Violation {
  std::string field;
  std::string description;
  bool operator==(const Violation&) const = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message, std::vector<Violation> violations = {}) {
    return Status(Code::kInvalidArgument, std::move(message), std::move(violations));
  }
  static Status PermissionDenied(std::string message) {
    return Status(Code::kPermissionDenied, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(Code::kInternal, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<Violation>& violations() const { return violations_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string message, std::vector<Violation> violations = {})
      : code_(code), message_(std::move(message)), violations_(std::move(violations)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::vector<Violation> violations_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace dutyhub
