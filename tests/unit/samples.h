// What the unit tests share: times from text and the project's sample notifications.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "broker/time_text.h"
#include "broker/validation.h"

namespace dutyhub::testing {

inline TimeMs At(const char* text) {
  std::optional<TimeMs> t = ParseTimestamp(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(0);
}

// A sample from config/samples, parsed as the broker parses it.
inline v1::Notification Sample(const std::string& name) {
  std::ifstream in(std::string(DUTYHUB_SAMPLES_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseNotificationJson(text.str());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : v1::Notification();
}

}  // namespace dutyhub::testing
