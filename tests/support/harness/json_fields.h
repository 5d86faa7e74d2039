#pragma once

// Reading the JSON bodies the tests assert on: an object parsed or an empty one (the test failing),
// a string at a path of object keys.

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"

namespace cosp::test {

inline common::JsonValue parsed(const std::string& text) {
  auto v = common::parseJsonObject(text);
  EXPECT_TRUE(v) << "not a JSON object: " << text.substr(0, 400);
  return v ? std::move(*v) : common::JsonValue::object();
}

// The string at a path of object keys, "" when absent or not a string.
inline std::string str(const common::JsonValue& v, std::initializer_list<std::string_view> path) {
  const common::JsonValue* at = &v;
  for (auto key : path) {
    at = common::jsonMember(*at, key);
    if (!at) return {};
  }
  return std::string(at->stringView().value_or(""));
}

}  // namespace cosp::test
