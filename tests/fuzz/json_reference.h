#pragma once

// The reference side of the JSON differential: RapidJSON's SAX reader builds a small tree in which
// numbers stay as their source text (kParseNumbersAsStringsFlag), so the fuzz target can check our
// number values against an exact conversion instead of RapidJSON's own double parsing.

#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cosp::fuzz {

struct RefMember;

struct RefValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // String: the value (UTF-8 as RapidJSON decoded it); Number: the source text
  std::vector<RefValue> items;
  std::vector<RefMember> members;
};

struct RefMember {
  std::string key;
  RefValue value;
};

struct RefParse {
  bool ok = false;
  rapidjson::ParseErrorCode error = rapidjson::kParseErrorNone;
  bool too_deep = false;  // gave up past kMaxRefDepth (so neither accepted nor refused)
  std::size_t max_depth = 0;
  RefValue root;
};

// Deeper than our parser's limit (256) by a margin; the tree is never built deeper, so a hostile
// 100,000-deep array cannot overflow the stack in RefValue's destructor.
inline constexpr std::size_t kMaxRefDepth = 300;

class RefBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RefBuilder> {
 public:
  explicit RefBuilder(RefParse& out) : out_(out) {}

  bool Null() { return add(RefValue{}); }
  bool Bool(bool b) {
    RefValue v;
    v.kind = RefValue::Kind::Bool;
    v.boolean = b;
    return add(std::move(v));
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return addText(RefValue::Kind::Number, s, n); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return addText(RefValue::Kind::String, s, n); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    return true;
  }
  bool StartObject() { return open(RefValue::Kind::Object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(RefValue::Kind::Array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

 private:
  bool addText(RefValue::Kind kind, const char* s, rapidjson::SizeType n) {
    RefValue v;
    v.kind = kind;
    v.text.assign(s, n);
    return add(std::move(v));
  }
  bool add(RefValue v) {
    if (stack_.empty()) {
      out_.root = std::move(v);
      return true;
    }
    RefValue& top = *stack_.back();
    if (top.kind == RefValue::Kind::Array) {
      top.items.push_back(std::move(v));
    } else {
      top.members.push_back(RefMember{std::move(key_), std::move(v)});
    }
    return true;
  }
  bool open(RefValue::Kind kind) {
    if (stack_.size() + 1 > kMaxRefDepth) {
      out_.too_deep = true;
      return false;
    }
    RefValue v;
    v.kind = kind;
    // Keys of the parent are held in key_ until the child closes, so park them with the child.
    pending_keys_.push_back(std::move(key_));
    stack_.push_back(std::make_unique<RefValue>(std::move(v)));
    out_.max_depth = std::max(out_.max_depth, stack_.size());
    return true;
  }
  bool close() {
    RefValue done = std::move(*stack_.back());
    stack_.pop_back();
    key_ = std::move(pending_keys_.back());
    pending_keys_.pop_back();
    return add(std::move(done));
  }

  RefParse& out_;
  std::vector<std::unique_ptr<RefValue>> stack_;
  std::vector<std::string> pending_keys_;
  std::string key_;
};

// Strict RFC 8259 with UTF-8 validation; iterative, so deep input costs no stack.
inline RefParse referenceParse(std::string_view text) {
  RefParse out;
  RefBuilder builder(out);
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
  const rapidjson::ParseResult r = reader.Parse<kFlags>(ms, builder);
  out.ok = !r.IsError();
  out.error = r.Code();
  return out;
}

}  // namespace cosp::fuzz
