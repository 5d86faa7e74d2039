// Escaped views (issue 17): with borrow_strings, a string value with escapes keeps its escaped
// input bytes; the writer copies them back (verbatim when canonical, re-escaped in one pass
// otherwise) and stringView() decodes on demand. Everything must be byte-for-byte what the
// decoding parser + appendJsonString produce, and every malformed string still refused with
// the same error at the same offset.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::common {
namespace {

JsonParseOptions borrowing() {
  JsonParseOptions o;
  o.borrow_strings = true;
  return o;
}

// The document {"s":"<contents>"} parsed both ways; the value of "s" from the borrowing parse.
struct Both {
  std::string text;
  Result<JsonValue, JsonParseError> owned;
  Result<JsonValue, JsonParseError> viewed;
};

Both parseBoth(const std::string& contents) {
  std::string text = "{\"s\":\"" + contents + "\"}";
  auto owned = parseJson(text);
  auto viewed = parseJson(text, borrowing());
  return Both{std::move(text), std::move(owned), std::move(viewed)};
}

// Same output, same decoded text, as the decoding parser.
void expectSameAsDecoded(const std::string& contents) {
  Both b = parseBoth(contents);
  ASSERT_TRUE(b.owned.ok()) << contents;
  ASSERT_TRUE(b.viewed.ok()) << contents;
  EXPECT_EQ(toJson(b.viewed.value()), toJson(b.owned.value())) << contents;
  EXPECT_EQ(*b.viewed.value().find("s")->stringView(), *b.owned.value().find("s")->stringView()) << contents;
  EXPECT_EQ(b.viewed.value(), b.owned.value()) << contents;
}

TEST(JsonEscapedView, EveryEscapeKindWritesTheSameBytes) {
  const std::vector<std::string> escapes = {
      R"(\")",     R"(\\)",     R"(\/)",           R"(\b)",
      R"(\f)",     R"(\n)",     R"(\r)",           R"(\t)",
      R"(\u0001)", R"(\u001f)", R"(\u001F)",       R"(\u0008)",
      R"(\u000a)", R"(\u0022)", R"(\u005c)",       R"(\u005C)",
      R"(\u0041)", R"(\u007f)", R"(\u00e9)",       R"(\u00E9)",
      R"(\u2014)", R"(\uffff)", R"(\uD83D\uDE80)", R"(\ud83d\ude80)",
      R"(\uD800)", R"(\uDC00)", R"(\uD800\u0041)", R"(\uD800\uD800\uDC00)",
  };
  for (const std::string& e : escapes) {
    expectSameAsDecoded("0123456789abcdef " + e + " tail é — 日本語 🚀");  // long: an escaped view
    expectSameAsDecoded(e + "x");                                         // short: decoded and owned
    expectSameAsDecoded(e + e + e + e + e + e);
  }
}

TEST(JsonEscapedView, CanonicalEscapesAreCopiedVerbatim) {
  const std::string contents = R"(line one\n\t\"quoted\" \\ path \u0001 \u001f é — 日本語)";
  Both b = parseBoth(contents);
  ASSERT_TRUE(b.viewed.ok());
  const JsonValue* s = b.viewed.value().find("s");
  ASSERT_TRUE(s->isEscapedView());
  EXPECT_FALSE(s->isBorrowed());  // isBorrowed() stays "a view without escapes"
  EXPECT_TRUE(s->isString());
  bool canonical = false;
  ASSERT_NE(s->escapedRaw(canonical), nullptr);
  EXPECT_TRUE(canonical);
  EXPECT_EQ(*s->escapedRaw(canonical), contents);
  EXPECT_GE(s->escapedRaw(canonical)->data(), b.text.data());  // really points into the input
  EXPECT_EQ(toJson(b.viewed.value()), b.text);
  EXPECT_EQ(*s->stringView(), "line one\n\t\"quoted\" \\ path \x01 \x1f é — 日本語");
}

TEST(JsonEscapedView, NonCanonicalEscapesAreRewrittenInOnePass) {
  for (const std::string contents :
       {R"(a slash \/ and a dash \u2014 here)", R"(upper hex \u001F control)", R"(quote as \u0022 and \u005c)",
        R"(backspace as \u0008, pair \uD83D\uDE80, lone \uDC00)"}) {
    Both b = parseBoth(contents);
    ASSERT_TRUE(b.viewed.ok());
    bool canonical = true;
    ASSERT_NE(b.viewed.value().find("s")->escapedRaw(canonical), nullptr) << contents;
    EXPECT_FALSE(canonical) << contents;
    EXPECT_EQ(toJson(b.viewed.value()), toJson(b.owned.value())) << contents;
  }
  Both b = parseBoth(R"(a slash \/ and a dash \u2014 here)");
  EXPECT_EQ(toJson(b.viewed.value()), "{\"s\":\"a slash / and a dash — here\"}");
}

TEST(JsonEscapedView, MalformedStringsAreRefusedWithTheSameErrors) {
  const std::vector<std::string> bad = {
      R"(0123456789abcdef \x bad escape)",
      R"(0123456789abcdef \u12 truncated)",
      R"(0123456789abcdef \u12G4 bad hex)",
      "0123456789abcdef \\n then a raw tab \t",
      "0123456789abcdef \\n then a raw newline \n",
      "0123456789abcdef \\n invalid utf-8 \xC3\x28",
      "0123456789abcdef \\n overlong \xC0\xAF",
      "0123456789abcdef \\n surrogate \xED\xA0\x80",
      "0123456789abcdef \\n above U+10FFFF \xF4\x90\x80\x80",
      "0123456789abcdef \\n truncated \xE2\x80",
      "short \xFF",
      R"(\q)",
  };
  for (const std::string& contents : bad) {
    Both b = parseBoth(contents);
    ASSERT_FALSE(b.owned.ok()) << contents;
    ASSERT_FALSE(b.viewed.ok()) << contents;
    EXPECT_EQ(b.viewed.error().message, b.owned.error().message) << contents;
    EXPECT_EQ(b.viewed.error().offset, b.owned.error().offset) << contents;
  }
  // Unterminated, with and without an escape at the very end.
  for (const std::string text : {R"({"s":"0123456789abcdef\n)", R"({"s":"0123456789abcdef\)", R"({"s":"0123\u00)"}) {
    auto owned = parseJson(text);
    auto viewed = parseJson(text, borrowing());
    ASSERT_FALSE(owned.ok());
    ASSERT_FALSE(viewed.ok());
    EXPECT_EQ(viewed.error().message, owned.error().message) << text;
    EXPECT_EQ(viewed.error().offset, owned.error().offset) << text;
  }
}

TEST(JsonEscapedView, CopiesMutationAndMakeOwned) {
  const std::string text = R"({"s":"0123456789abcdef\n\u2014 end","a":["0123456789abcdef\tX"]})";
  auto r = parseJson(text, borrowing());
  ASSERT_TRUE(r.ok());
  JsonValue& v = r.value();
  JsonValue copy = v;
  EXPECT_TRUE(copy.find("s")->isEscapedView());
  EXPECT_EQ(*copy.find("s")->stringView(), "0123456789abcdef\n— end");
  copy.find("s")->mutableString()->append("!");
  EXPECT_FALSE(copy.find("s")->isEscapedView());
  EXPECT_EQ(*copy.find("s")->stringView(), "0123456789abcdef\n— end!");
  EXPECT_TRUE(v.find("s")->isEscapedView());
  EXPECT_FALSE(v.find("s")->isEmptyString());
  const std::string before = toJson(v);
  v.makeOwned();
  EXPECT_FALSE(v.find("s")->isEscapedView());
  EXPECT_FALSE((*v.find("a")->getArray())[0].isEscapedView());
  EXPECT_EQ(toJson(v), before);
  EXPECT_EQ(v, parseJson(text).value());
}

// Random strings of escapes, ASCII, multi-byte UTF-8 and the occasional malformed piece:
// the viewing parse + writer agree with the decoding parse + writer on every one.
TEST(JsonEscapedView, RandomStringsAgreeWithTheDecodingParser) {
  const std::vector<std::string> pieces = {
      "a",         "plain text ",
      R"(\")",     R"(\\)",
      R"(\/)",     R"(\n)",
      R"(\t)",     R"(\r)",
      R"(\b)",     R"(\f)",
      R"(\u0000)", R"(\u001b)",
      R"(\u00e9)", R"(\u2014)",
      R"(\uD83D)", R"(\uDE80)",
      R"(\u0022)", "é",
      "—",         "日本",
      "🚀",         "\x7f",
      "\xC3",      "\\x",
      "\x01",      "0123456789abcdef",
  };
  std::mt19937 rng(2026);
  for (int round = 0; round < 20000; ++round) {
    std::string contents;
    const int n = 1 + static_cast<int>(rng() % 30);  // long enough for the 32-byte scan steps
    for (int k = 0; k < n; ++k) contents += pieces[rng() % pieces.size()];
    Both b = parseBoth(contents);
    ASSERT_EQ(b.viewed.ok(), b.owned.ok()) << contents;
    if (b.owned.ok()) {
      ASSERT_EQ(toJson(b.viewed.value()), toJson(b.owned.value())) << contents;
      ASSERT_EQ(*b.viewed.value().find("s")->stringView(), *b.owned.value().find("s")->stringView()) << contents;
    } else {
      ASSERT_EQ(b.viewed.error().message, b.owned.error().message) << contents;
      ASSERT_EQ(b.viewed.error().offset, b.owned.error().offset) << contents;
    }
  }
}

}  // namespace
}  // namespace cosp::common
