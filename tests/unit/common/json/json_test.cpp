#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::common {
namespace {

JsonValue mustParse(std::string_view text) {
  auto r = parseJson(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : JsonValue();
}

std::string parseError(std::string_view text) {
  auto r = parseJson(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}

// ---------------------------------------------------------------- parser

TEST(JsonParser, ScalarsAtTopLevel) {
  EXPECT_EQ(mustParse("true"), JsonValue(true));
  EXPECT_EQ(mustParse(" false "), JsonValue(false));
  EXPECT_TRUE(mustParse("null").isNull());
  EXPECT_EQ(*mustParse("\"s\"").stringView(), "s");
  EXPECT_EQ(*mustParse("42").getInt64(), 42);
  EXPECT_EQ(*mustParse("-0").getInt64(), 0);
  EXPECT_DOUBLE_EQ(*mustParse("1.5e3").getDouble(), 1500.0);
}

TEST(JsonParser, IntegersKeepTheirKind) {
  const JsonValue max = mustParse("9223372036854775807");
  ASSERT_EQ(max.kind(), JsonValue::Kind::Int);
  EXPECT_EQ(*max.rawInt(), std::numeric_limits<std::int64_t>::max());
  const JsonValue min = mustParse("-9223372036854775808");
  ASSERT_EQ(min.kind(), JsonValue::Kind::Int);
  EXPECT_EQ(*min.rawInt(), std::numeric_limits<std::int64_t>::min());
  const JsonValue umax = mustParse("18446744073709551615");
  ASSERT_EQ(umax.kind(), JsonValue::Kind::UInt);
  EXPECT_EQ(*umax.rawUInt(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(umax.getInt64().has_value());
  const JsonValue huge = mustParse("18446744073709551616");  // 2^64: becomes a double, like JavaScript
  ASSERT_EQ(huge.kind(), JsonValue::Kind::Double);
  EXPECT_DOUBLE_EQ(*huge.rawDouble(), 18446744073709551616.0);
  const JsonValue neg = mustParse("-9223372036854775809");
  ASSERT_EQ(neg.kind(), JsonValue::Kind::Double);
}

TEST(JsonParser, DoublesAndIntegralDoubles) {
  const JsonValue one = mustParse("1.0");
  ASSERT_EQ(one.kind(), JsonValue::Kind::Double);
  EXPECT_EQ(one.getInt64(), std::optional<std::int64_t>(1));  // integral double converts
  EXPECT_FALSE(mustParse("1.5").getInt64().has_value());
  EXPECT_DOUBLE_EQ(*mustParse("0.1").getDouble(), 0.1);
  EXPECT_DOUBLE_EQ(*mustParse("-2.5E-3").getDouble(), -0.0025);
  EXPECT_DOUBLE_EQ(*mustParse("1e-400").getDouble(), 0.0);  // underflow -> 0, as in JavaScript
  EXPECT_EQ(parseError("1e400"), "number out of range");
  EXPECT_EQ(parseError("-1e400"), "number out of range");
}

TEST(JsonParser, RejectsMalformedNumbers) {
  for (const char* bad : {"01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.2.3", "NaN", "Infinity", "-01"}) {
    EXPECT_FALSE(parseJson(bad).ok()) << bad;
  }
}

TEST(JsonParser, StringEscapes) {
  const JsonValue v = mustParse(R"("a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\u20ac")");
  EXPECT_EQ(*v.stringView(), "a\"b\\c/d\be\ff\ng\rh\tiA\xC3\xA9\xE2\x82\xAC");
}

TEST(JsonParser, SurrogatePairsAndLoneSurrogates) {
  EXPECT_EQ(*mustParse(R"("\ud83d\ude00")").stringView(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(*mustParse(R"("\uD83D\uDE00x")").stringView(), "\xF0\x9F\x98\x80x");
  // A lone surrogate has no UTF-8 form: replaced by U+FFFD instead of emitting CESU-8.
  EXPECT_EQ(*mustParse(R"("\ud83dx")").stringView(), "\xEF\xBF\xBDx");
  EXPECT_EQ(*mustParse(R"("\ude00")").stringView(), "\xEF\xBF\xBD");
  EXPECT_EQ(*mustParse(R"("\ud83d\u0041")").stringView(),
            "\xEF\xBF\xBD"
            "A");
}

TEST(JsonParser, NulEscapeIsKept) {
  const JsonValue v = mustParse(R"({"a":"x\u0000y"})");
  const auto s = v.find("a")->stringView();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[1], '\0');
}

TEST(JsonParser, RawUtf8PassesAndInvalidUtf8IsRejected) {
  EXPECT_EQ(*mustParse("\"caf\xC3\xA9 \xF0\x9F\x9A\x80 \xE4\xB8\xAD\"").stringView(),
            "caf\xC3\xA9 \xF0\x9F\x9A\x80 \xE4\xB8\xAD");
  EXPECT_EQ(parseError("\"\xFF\""), "invalid UTF-8 in string");
  EXPECT_EQ(parseError("\"\xC0\xAF\""), "invalid UTF-8 in string");          // overlong '/'
  EXPECT_EQ(parseError("\"\xE0\x80\xAF\""), "invalid UTF-8 in string");      // overlong
  EXPECT_EQ(parseError("\"\xED\xA0\x80\""), "invalid UTF-8 in string");      // encoded surrogate
  EXPECT_EQ(parseError("\"\xF4\x90\x80\x80\""), "invalid UTF-8 in string");  // above U+10FFFF
  EXPECT_EQ(parseError("\"\xE2\x82\""), "invalid UTF-8 in string");          // truncated
  EXPECT_EQ(parseError("\"abcdefgh\x80xyz\""), "invalid UTF-8 in string");   // stray continuation
}

TEST(JsonParser, RejectsBadStrings) {
  EXPECT_EQ(parseError("\"abc"), "unterminated string");
  EXPECT_EQ(parseError("\"a\nb\""), "control character in string");
  EXPECT_EQ(parseError("\"a\tb\""), "control character in string");
  EXPECT_EQ(parseError(R"("\x41")"), "invalid escape sequence");
  EXPECT_EQ(parseError(R"("\u12G4")"), "invalid \\u escape");
  EXPECT_EQ(parseError(R"("\u12")"), "truncated \\u escape");
  EXPECT_EQ(parseError("'single'"), "invalid value");
}

TEST(JsonParser, LongStringsAcrossWordBoundaries) {
  // Escapes and multi-byte characters at every offset of the 8-byte fast path.
  for (std::size_t pos = 0; pos < 24; ++pos) {
    std::string expected(24, 'x');
    std::string json = "\"" + expected.substr(0, pos) + "\\n" + expected.substr(pos) + "\"";
    expected.insert(pos, "\n");
    EXPECT_EQ(*mustParse(json).stringView(), expected) << pos;
    std::string utf = std::string(pos, 'y') + "\xC3\xA9" + std::string(10, 'z');
    EXPECT_EQ(*mustParse("\"" + utf + "\"").stringView(), utf) << pos;
  }
}

TEST(JsonParser, ObjectsKeepOrderAndLastDuplicateWins) {
  const JsonValue v = mustParse(R"({"b":1,"a":{"z":1,"y":[1,2,{}]},"b":3,"c":null})");
  const JsonObject& obj = *v.getObject();
  ASSERT_EQ(obj.size(), 4u);
  EXPECT_EQ(obj[0].key, "b");
  EXPECT_EQ(obj[1].key, "a");
  EXPECT_EQ(obj[2].key, "b");
  EXPECT_EQ(obj[3].key, "c");
  EXPECT_EQ(*v.find("b")->getInt64(), 3);
  EXPECT_TRUE(v.find("c")->isNull());
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(toJson(v), R"({"b":1,"a":{"z":1,"y":[1,2,{}]},"b":3,"c":null})");
}

TEST(JsonParser, StructuralErrorsWithOffsets) {
  auto r = parseJson(R"({"a":1,})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "expected a string key");
  EXPECT_EQ(r.error().offset, 7u);
  EXPECT_EQ(parseError("[1,2,]"), "invalid value");
  EXPECT_EQ(parseError(R"({"a" 1})"), "expected ':' after key");
  EXPECT_EQ(parseError(R"({"a":1 "b":2})"), "expected ',' or '}' in object");
  EXPECT_EQ(parseError("[1 2]"), "expected ',' or ']' in array");
  EXPECT_EQ(parseError("{"), "unexpected end of input in object");
  EXPECT_EQ(parseError("["), "unexpected end of input");
  EXPECT_EQ(parseError(""), "unexpected end of input");
  EXPECT_EQ(parseError("   "), "unexpected end of input");
  EXPECT_EQ(parseError("{} {}"), "unexpected characters after the JSON value");
  EXPECT_EQ(parseError("tru"), "invalid literal");
  EXPECT_EQ(parseError("nul"), "invalid literal");
  EXPECT_EQ(parseError("{'a':1}"), "expected a string key");
}

TEST(JsonParser, DepthCap) {
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parseJson(nested(256)).ok());
  EXPECT_EQ(parseError(nested(257)), "maximum nesting depth exceeded");
  EXPECT_TRUE(parseJson(nested(10), JsonParseOptions{10}).ok());
  EXPECT_FALSE(parseJson(nested(11), JsonParseOptions{10}).ok());
  // Hostile input far beyond the cap fails fast and without recursion trouble.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  EXPECT_EQ(parseError(deep), "maximum nesting depth exceeded");
}

TEST(JsonParser, ManyKeysIsLinear) {
  // POCO 1.11's ordered Object::set is O(n^2) here (40k keys took ~3 s).
  std::string s = "{";
  for (int i = 0; i < 200000; ++i) {
    if (i != 0) s += ",";
    s += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  s += "}";
  const JsonValue v = mustParse(s);
  EXPECT_EQ(v.getObject()->size(), 200000u);
  EXPECT_EQ(*v.find("k199999")->getInt64(), 199999);
}

TEST(JsonParser, BorrowedStringsViewTheInput) {
  const std::string text =
      R"({"short":"abc","long":"0123456789abcdefXYZ","esc":"0123456789abcdef\nXYZ","k0123456789abcdefXYZ":1})";
  JsonParseOptions options;
  options.borrow_strings = true;
  auto r = parseJson(text, options);
  ASSERT_TRUE(r.ok());
  JsonValue& v = r.value();
  EXPECT_FALSE(v.find("short")->isBorrowed());  // fits std::string's inline buffer
  const JsonValue* lng = v.find("long");
  ASSERT_TRUE(lng->isBorrowed());
  EXPECT_EQ(lng->kind(), JsonValue::Kind::String);
  EXPECT_TRUE(lng->isString());
  EXPECT_EQ(*lng->stringView(), "0123456789abcdefXYZ");
  EXPECT_GE(lng->stringView()->data(), text.data());  // really points into the input
  EXPECT_LT(lng->stringView()->data(), text.data() + text.size());
  EXPECT_FALSE(v.find("esc")->isBorrowed());  // escapes need a decoded copy
  EXPECT_EQ(*v.find("esc")->stringView(), "0123456789abcdef\nXYZ");
  EXPECT_EQ(v.find("k0123456789abcdefXYZ")->getInt64(), std::optional<std::int64_t>(1));  // keys are owned
  // Borrowed and owned strings compare and serialise alike.
  EXPECT_EQ(*lng, JsonValue("0123456789abcdefXYZ"));
  EXPECT_EQ(toJson(v), toJson(parseJson(text).value()));
  // mutableString() copies on demand; makeOwned() detaches a whole tree.
  JsonValue copy = v;
  copy.find("long")->mutableString()->append("!");
  EXPECT_FALSE(copy.find("long")->isBorrowed());
  EXPECT_EQ(*copy.find("long")->stringView(), "0123456789abcdefXYZ!");
  EXPECT_TRUE(v.find("long")->isBorrowed());
  v.makeOwned();
  EXPECT_FALSE(v.find("long")->isBorrowed());
  EXPECT_EQ(v.find("short")->mutableString()->size(), 3u);
  EXPECT_EQ(JsonValue(1).mutableString(), nullptr);
}

TEST(JsonParser, ParseJsonObjectWantsAnObject) {
  EXPECT_EQ(parseJsonObject(R"({"a":1})"), std::optional<JsonValue>(mustParse(R"({"a":1})")));
  EXPECT_FALSE(parseJsonObject("[1]").has_value());
  EXPECT_FALSE(parseJsonObject("\"s\"").has_value());
  EXPECT_FALSE(parseJsonObject("{\"a\":").has_value());
  JsonParseOptions shallow;
  shallow.max_depth = 2;
  EXPECT_TRUE(parseJsonObject(R"({"a":{"b":1}})", shallow).has_value());
  EXPECT_FALSE(parseJsonObject(R"({"a":{"b":[1]}})", shallow).has_value());
}

TEST(JsonParser, BomIsSkipped) { EXPECT_EQ(*mustParse("\xEF\xBB\xBF{\"a\":1}").find("a")->getInt64(), 1); }

// Same document, numbers compared by value: POCO writes an integral double (1.0e10) without a
// fraction, so its text parses back as an integer.
bool sameDocument(const JsonValue& a, const JsonValue& b) {
  if (a.isNumber() && b.isNumber() && a.kind() != b.kind()) return a.getDouble() == b.getDouble();
  if (a.kind() != b.kind()) return false;
  if (const JsonArray* items = a.getArray()) {
    const JsonArray& other = *b.getArray();
    if (items->size() != other.size()) return false;
    for (std::size_t i = 0; i < items->size(); ++i) {
      if (!sameDocument((*items)[i], other[i])) return false;
    }
    return true;
  }
  if (const JsonObject* members = a.getObject()) {
    const JsonObject& other = *b.getObject();
    if (members->size() != other.size()) return false;
    for (std::size_t i = 0; i < members->size(); ++i) {
      if ((*members)[i].key != other[i].key || !sameDocument((*members)[i].value, other[i].value)) return false;
    }
    return true;
  }
  return a == b;
}

TEST(JsonParser, AgreesWithPocoOnValidDocuments) {
  const char* docs[] = {
      R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],"temperature":1,"top_p":0.5})",
      R"([1,-2,3.25,true,false,null,"x",{"a":[]},[]])",
      R"({"nested":{"deep":{"deeper":[1,[2,[3,[4]]]]}},"s":"tab\tquote\"slash\\"})",
      R"({"unicode":"\u00e9\u4e2d\ud83d\ude00","raw":"é中😀"})",
      R"({"big":9223372036854775807,"neg":-9223372036854775808,"u":18446744073709551615,"d":1.0e10})",
  };
  for (const char* doc : docs) {
    // POCO's tree, written back by POCO itself, is the same document as ours.
    Poco::JSON::Parser poco(new Poco::JSON::ParseHandler(true));
    std::ostringstream pocos_text;
    Poco::JSON::Stringifier::stringify(poco.parse(doc), pocos_text);
    EXPECT_TRUE(sameDocument(mustParse(pocos_text.str()), mustParse(doc))) << doc << " / " << pocos_text.str();
  }
}

// ---------------------------------------------------------------- writer

TEST(JsonWriter, EscapesExactlyWhatJsonRequires) {
  std::string out;
  appendJsonString(out, "q\" b\\ n\n r\r t\t b\b f\f c\x01 d\x1f del\x7f slash/ \xC3\xA9");
  EXPECT_EQ(out, "\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f c\\u0001 d\\u001f del\x7f slash/ \xC3\xA9\"");
  out.clear();
  appendJsonString(out, std::string_view("a\0b", 3));
  EXPECT_EQ(out, "\"a\\u0000b\"");
}

TEST(JsonWriter, Utf8PassesThroughUnchanged) {
  const std::string s = "emoji \xF0\x9F\x9A\x80, cjk \xE4\xB8\xAD\xE6\x96\x87, accents \xC3\xA7\xC3\xA0";
  std::string out;
  appendJsonString(out, s);
  EXPECT_EQ(out, "\"" + s + "\"");
}

TEST(JsonWriter, EscapesAtEveryWordOffsetRoundTrip) {
  const std::string specials = std::string("\"\\\n\x01", 4);
  for (char special : specials) {
    for (std::size_t pos = 0; pos < 40; ++pos) {
      std::string s(40, 'a');
      s[pos] = special;
      s += "tail\xC3\xA9";
      std::string out;
      appendJsonString(out, s);
      auto back = parseJson(out);
      ASSERT_TRUE(back.ok()) << out;
      EXPECT_EQ(*back.value().stringView(), s) << pos;
    }
  }
}

TEST(JsonWriter, Numbers) {
  JsonWriter w;
  w.beginArray();
  w.value(0).value(-7).value(std::numeric_limits<std::int64_t>::min());
  w.value(std::numeric_limits<std::uint64_t>::max()).value(static_cast<unsigned short>(65535));
  w.value(0.1).value(1.0).value(-0.0).value(1e21).value(5e-324).value(123456.789);
  w.value(std::nan("")).value(std::numeric_limits<double>::infinity());
  w.endArray();
  EXPECT_EQ(w.str(),
            "[0,-7,-9223372036854775808,18446744073709551615,65535,0.1,1.0,-0.0,1e+21,5e-324,123456.789,null,null]");
}

TEST(JsonWriter, DoublesRoundTripBitExact) {
  const double values[] = {0.1,  1.0 / 3.0, 2.2250738585072014e-308, 1.7976931348623157e308, 123.456e-7, 4.9e-324,
                           1e15, 1e16};
  for (double d : values) {
    std::string out;
    appendJsonDouble(out, d);
    auto back = parseJson(out);
    ASSERT_TRUE(back.ok()) << out;
    EXPECT_EQ(*back.value().getDouble(), d) << out;
    EXPECT_EQ(back.value().kind(), JsonValue::Kind::Double) << out;
  }
}

TEST(JsonWriter, AppendApiInsertsCommas) {
  JsonWriter w;
  w.beginObject();
  w.key("a").value(1);
  w.member("b", "two");
  w.key("c").beginArray().value(true).null().beginObject().endObject().beginArray().endArray().endArray();
  w.key("d").raw(R"({"pre":"made"})");
  w.key("e").beginObject().member("x", false).endObject();
  w.endObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":"two","c":[true,null,{},[]],"d":{"pre":"made"},"e":{"x":false}})");
  const std::string taken = w.take();
  EXPECT_EQ(w.size(), 0u);
  w.beginArray().value(1).endArray();
  EXPECT_EQ(w.take(), "[1]");
  EXPECT_FALSE(taken.empty());
}

TEST(JsonWriter, JsonValueRoundTrip) {
  const std::string doc =
      R"({"z":1,"a":[1,2.5,-3,"s\n",true,false,null,{}],"m":{"k":"\u00e9"},"u":18446744073709551615,"e":[]})";
  const std::string expected =
      "{\"z\":1,\"a\":[1,2.5,-3,\"s\\n\",true,false,null,{}],\"m\":{\"k\":\"\xC3\xA9\"},\"u\":18446744073709551615,"
      "\"e\":[]}";
  EXPECT_EQ(toJson(mustParse(doc)), expected);
  EXPECT_EQ(toJson(mustParse(expected)), expected);
}

TEST(JsonWriter, PrettyFormIndentsTwoSpacesPerLevel) {
  const JsonValue v = mustParse(R"({"version":1,"s":"a\"b","n":null,"o":{"k":[1,{}]},"e":[]})");
  EXPECT_EQ(toPrettyJson(v),
            "{\n"
            "  \"version\": 1,\n"
            "  \"s\": \"a\\\"b\",\n"
            "  \"n\": null,\n"
            "  \"o\": {\n"
            "    \"k\": [\n"
            "      1,\n"
            "      {}\n"
            "    ]\n"
            "  },\n"
            "  \"e\": []\n"
            "}");
  EXPECT_EQ(mustParse(toPrettyJson(v)), v);
  EXPECT_EQ(toPrettyJson(JsonValue::object()), "{}");
  EXPECT_EQ(toPrettyJson(JsonValue(7)), "7");
}

// ---------------------------------------------------------------- value / util

TEST(JsonValue, SetEraseFindPush) {
  JsonValue v;
  v.set("a", 1);
  v.set("b", "x");
  v.set("a", 2);  // replaces in place
  EXPECT_EQ(toJson(v), R"({"a":2,"b":"x"})");
  v.getObject()->push_back(JsonMember{"b", JsonValue(true)});
  EXPECT_EQ(v.erase("b"), 2u);
  EXPECT_EQ(toJson(v), R"({"a":2})");
  JsonValue arr;
  arr.push(1);
  arr.push(JsonValue::object());
  EXPECT_EQ(toJson(arr), "[1,{}]");
  EXPECT_EQ(arr.find("x"), nullptr);  // not an object: no throw
  EXPECT_FALSE(jsonString(arr, "x").has_value());
  EXPECT_EQ(jsonArray(v, "a"), nullptr);
  EXPECT_EQ(jsonInt(v, "a"), std::optional<std::int64_t>(2));
  EXPECT_FALSE(jsonBool(v, "a").has_value());
}

TEST(JsonValue, UnsignedAccess) {
  EXPECT_EQ(JsonValue(5).getUInt64(), std::optional<std::uint64_t>(5));
  EXPECT_EQ(JsonValue(18446744073709551615ULL).getUInt64(), std::optional<std::uint64_t>(18446744073709551615ULL));
  EXPECT_EQ(JsonValue(3.0).getUInt64(), std::optional<std::uint64_t>(3));
  EXPECT_FALSE(JsonValue(-1).getUInt64().has_value());
  EXPECT_FALSE(JsonValue(2.5).getUInt64().has_value());
  EXPECT_FALSE(JsonValue(18446744073709551616.0).getUInt64().has_value());
  EXPECT_FALSE(JsonValue("1").getUInt64().has_value());
  const JsonValue obj = mustParse(R"({"g":18446744073709551615,"n":-2})");
  EXPECT_EQ(jsonUInt(obj, "g"), std::optional<std::uint64_t>(18446744073709551615ULL));
  EXPECT_FALSE(jsonUInt(obj, "n").has_value());
  EXPECT_FALSE(jsonUInt(obj, "missing").has_value());
}

TEST(JsonValue, StringMemberWithFallback) {
  const JsonValue obj = mustParse(R"({"name":"x","num":1,"empty":""})");
  EXPECT_EQ(jsonStringOr(obj, "name"), "x");
  EXPECT_EQ(jsonStringOr(obj, "empty", "fallback"), "");
  EXPECT_EQ(jsonStringOr(obj, "num", "fallback"), "fallback");  // no number-to-string conversion
  EXPECT_EQ(jsonStringOr(obj, "missing"), "");
  EXPECT_EQ(jsonStringOr(JsonValue(1), "name", "d"), "d");  // not an object: no throw
}

TEST(JsonValue, SortMembersByKeyIsRecursiveAndStable) {
  JsonValue v = mustParse(R"({"b":1,"a":{"z":1,"y":[{"d":1,"c":2}]},"b":2})");
  sortMembersByKey(v);
  EXPECT_EQ(toJson(v), R"({"a":{"y":[{"c":2,"d":1}],"z":1},"b":1,"b":2})");
}

}  // namespace
}  // namespace cosp::common
