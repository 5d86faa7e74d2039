// JSON parser + writer: round trip, and a differential check against RapidJSON.
//
// For every input:
//  - an error has a message and an offset inside the input;
//  - an accepted document written back with toJson() re-parses to an equal value, and writing that
//    again gives the same bytes; the written text is also valid JSON for RapidJSON;
//  - parsing with borrow_strings accepts and refuses the same inputs with the same errors, and
//    gives a value equal to the owned parse that writes the same bytes;
//  - when RapidJSON (strict, UTF-8 validating) accepts the input too, both trees are equal: kinds,
//    strings byte for byte, members in order (duplicates kept by both), numbers exact (see
//    checkNumber); and each parser may only refuse what the other accepts for a reason listed below.
//
// Deliberate differences (json_parser.h), which are not findings:
//  - we skip one leading UTF-8 BOM (RapidJSON's in-memory reader does not): the reference parses
//    the text after it;
//  - we refuse nesting deeper than 256 (max_depth);
//  - we refuse numbers that overflow a double ("number out of range": JSON has no infinity), while
//    RapidJSON, told to keep numbers as text, only has a coarse digit-count guard; conversely that
//    guard (kParseErrorNumberTooBig) refuses some finite numbers we accept;
//  - a lone UTF-16 surrogate escape becomes U+FFFD for us; RapidJSON refuses a lone high surrogate
//    and encodes a lone low one as an (invalid) 3-byte sequence, which the comparison maps to U+FFFD;
//  - "-0" is the integer 0 for us (integers keep no sign of zero); "-0.0" stays a double -0.0;
//  - RapidJSON's memory stream reads a NUL byte as the end of the input; we refuse NUL anywhere.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/json_reference.h"

namespace {

using cosp::common::JsonParseOptions;
using cosp::common::JsonValue;
using cosp::fuzz::RefParse;
using cosp::fuzz::RefValue;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// RapidJSON writes a lone low surrogate escape (\uDC00-\uDFFF) as ED B0..BF xx; we write U+FFFD.
std::string normalizeSurrogates(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xED && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
      out += "\xEF\xBF\xBD";
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool isIntegerSyntax(std::string_view text) { return text.find_first_of(".eE") == std::string_view::npos; }

// Our number must be what the source text means exactly: an integer that fits 64 bits is an Int
// (or a UInt above INT64_MAX), anything else the correctly rounded double (glibc strtod, C locale).
bool checkNumber(const JsonValue& ours, const std::string& text) {
  if (isIntegerSyntax(text)) {
    const bool negative = text[0] == '-';
    const std::string_view digits = std::string_view(text).substr(negative ? 1 : 0);
    std::uint64_t mag = 0;
    bool overflow = false;
    for (char c : digits) {
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (mag > (UINT64_MAX - d) / 10) {
        overflow = true;
        break;
      }
      mag = mag * 10 + d;
    }
    if (!overflow) {
      if (negative && mag <= (std::uint64_t{1} << 63)) {
        const std::int64_t want = mag == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(mag);
        return ours.rawInt() != nullptr && *ours.rawInt() == want;
      }
      if (!negative && mag <= static_cast<std::uint64_t>(INT64_MAX)) {
        return ours.rawInt() != nullptr && *ours.rawInt() == static_cast<std::int64_t>(mag);
      }
      if (!negative) return ours.rawUInt() != nullptr && *ours.rawUInt() == mag;
    }
  }
  const double want = std::strtod(text.c_str(), nullptr);
  return ours.rawDouble() != nullptr && std::memcmp(ours.rawDouble(), &want, sizeof want) == 0;
}

bool sameTree(const JsonValue& ours, const RefValue& ref) {
  using Kind = JsonValue::Kind;
  switch (ref.kind) {
    case RefValue::Kind::Null:
      return ours.kind() == Kind::Null;
    case RefValue::Kind::Bool:
      return ours.getBool() == ref.boolean;
    case RefValue::Kind::Number:
      return checkNumber(ours, ref.text);
    case RefValue::Kind::String:
      return ours.isString() && *ours.stringView() == normalizeSurrogates(ref.text);
    case RefValue::Kind::Array: {
      const auto* items = ours.getArray();
      if (items == nullptr || items->size() != ref.items.size()) return false;
      for (std::size_t i = 0; i < items->size(); ++i) {
        if (!sameTree((*items)[i], ref.items[i])) return false;
      }
      return true;
    }
    case RefValue::Kind::Object: {
      const auto* members = ours.getObject();
      if (members == nullptr || members->size() != ref.members.size()) return false;
      for (std::size_t i = 0; i < members->size(); ++i) {
        if ((*members)[i].key != normalizeSurrogates(ref.members[i].key)) return false;
        if (!sameTree((*members)[i].value, ref.members[i].value)) return false;
      }
      return true;
    }
  }
  return false;
}

void checkRoundTrip(const JsonValue& value) {
  const std::string written = cosp::common::toJson(value);
  auto again = cosp::common::parseJson(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == value);
  FUZZ_CHECK(cosp::common::toJson(again.value()) == written);
  // What we write is valid JSON for an independent parser, with the same meaning.
  const RefParse ref = cosp::fuzz::referenceParse(written);
  FUZZ_CHECK(ref.ok);
  FUZZ_CHECK(sameTree(again.value(), ref.root));
}

void checkDifferential(std::string_view text,
                       const cosp::common::Result<JsonValue, cosp::common::JsonParseError>& ours) {
  const std::string_view ref_text = text.starts_with(kBom) ? text.substr(kBom.size()) : text;
  const RefParse ref = cosp::fuzz::referenceParse(ref_text);
  const bool has_nul = text.find('\0') != std::string_view::npos;
  if (ours.ok() && ref.ok) {
    FUZZ_CHECK(sameTree(ours.value(), ref.root));
  } else if (ours.ok()) {
    // We accepted what RapidJSON refused: only its surrogate and coarse number-size rules may differ.
    FUZZ_CHECK(ref.error == rapidjson::kParseErrorStringUnicodeSurrogateInvalid ||
               ref.error == rapidjson::kParseErrorNumberTooBig);
  } else if (ref.ok || ref.too_deep) {
    // We refused what RapidJSON accepted (or parsed past our depth limit without a fault).
    const std::string& why = ours.error().message;
    const bool deliberate = has_nul || why == "number out of range" ||
                            (why == "maximum nesting depth exceeded" && (ref.too_deep || ref.max_depth > 256));
    FUZZ_CHECK(deliberate);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto ours = cosp::common::parseJson(text);
  // The viewing parse (escaped views, issue 17) validates in its own pass: it must accept and
  // refuse exactly the same inputs, with the same error, and write the same bytes.
  JsonParseOptions borrow;
  borrow.borrow_strings = true;
  const auto borrowed = cosp::common::parseJson(text, borrow);
  FUZZ_CHECK(borrowed.ok() == ours.ok());
  if (!ours.ok()) {
    FUZZ_CHECK(!ours.error().message.empty());
    FUZZ_CHECK(ours.error().offset <= size);
    FUZZ_CHECK(borrowed.error().message == ours.error().message);
    FUZZ_CHECK(borrowed.error().offset == ours.error().offset);
  } else {
    checkRoundTrip(ours.value());
    const std::string written = cosp::common::toJson(ours.value());
    FUZZ_CHECK(cosp::common::toJson(borrowed.value()) == written);
    FUZZ_CHECK(borrowed.value() == ours.value());  // decodes every escaped view
  }
  checkDifferential(text, ours);
  return 0;
}
