#include "broker/status.h"

namespace dutyhub {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kPermissionDenied:
      return "PERMISSION_DENIED";
    case Code::kUnavailable:
      return "UNAVAILABLE";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string Status::ToString() const {
  std::string out = CodeName(code_);
  if (!message_.empty()) out += ": " + message_;
  for (const Violation& v : violations_) out += "\n  " + v.field + ": " + v.description;
  return out;
}

}  // namespace dutyhub
