// x-codex-sub-proxy-dropped: escaping (no header or response injection through JSON keys), the
// 1 KiB cap, and linear bookkeeping of any number of dropped fields.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "worker/translate/chat_request.h"
#include "worker/translate/dropped_fields_header.h"
#include "worker/translate/responses_request.h"

namespace cosp::worker {
namespace {

// True when every byte is visible ASCII or a space (what the header may hold).
bool plainAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// "a, b, ...(+N more)" -> {names shown, N}.
std::pair<std::size_t, std::size_t> shownAndMore(const std::string& header) {
  std::size_t more = 0;
  std::string names = header;
  if (const auto at = header.find("...(+"); at != std::string::npos) {
    more = std::stoul(header.substr(at + 5));
    names = header.substr(0, at);
  }
  std::size_t shown = 0;
  for (std::size_t pos = 0; pos < names.size();) {
    const auto comma = names.find(", ", pos);
    if (comma != pos) ++shown;  // not the empty piece before "..."
    if (comma == std::string::npos) break;
    pos = comma + 2;
  }
  return {shown, more};
}

TEST(DroppedFieldName, VisibleAsciiStaysAndEverythingElseIsPercentEncoded) {
  EXPECT_EQ(escapeDroppedFieldName("temperature"), "temperature");
  EXPECT_EQ(escapeDroppedFieldName("a\r\nSet-Cookie: x=1"), "a%0D%0ASet-Cookie:%20x=1");
  EXPECT_EQ(escapeDroppedFieldName("50%,off"), "50%25%2Coff");
  EXPECT_EQ(escapeDroppedFieldName(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(escapeDroppedFieldName("\x7f\t\xc3\xa9"), "%7F%09%C3%A9");
  EXPECT_EQ(escapeDroppedFieldName("!~\"{}"), "!~\"{}");
  EXPECT_EQ(escapeDroppedFieldName(""), "");
}

TEST(DroppedFieldsHeader, JoinsEscapedNames) {
  EXPECT_EQ(droppedFieldsHeader({}, 0), "");
  EXPECT_EQ(droppedFieldsHeader({"temperature"}, 1), "temperature");
  EXPECT_EQ(droppedFieldsHeader({"temperature", "top_p", "x\r\ny"}, 3), "temperature, top_p, x%0D%0Ay");
}

TEST(DroppedFieldsHeader, CountsFieldsThatWereNotNamed) {
  EXPECT_EQ(droppedFieldsHeader({"a", "b", "c"}, 100000), "a, b, c, ...(+99997 more)");
}

TEST(DroppedFieldsHeader, IsCappedAtOneKibibyteAndSaysHowManyMore) {
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) names.push_back("field_" + std::to_string(1000 + i));  // 10 bytes each
  const std::string header = droppedFieldsHeader(names, names.size());
  EXPECT_LE(header.size(), kDroppedFieldsHeaderMaxBytes);
  EXPECT_TRUE(header.starts_with("field_1000, field_1001, ")) << header;
  // Each name but the last keeps 40 bytes free for the suffix: 82 names (982 bytes) fit.
  EXPECT_TRUE(header.ends_with("field_1081, ...(+118 more)")) << header;
  EXPECT_EQ(header.size(), 982u + 16u);
  const auto [shown, more] = shownAndMore(header);
  EXPECT_EQ(shown, 82u);
  EXPECT_EQ(shown + more, 200u);
  EXPECT_TRUE(plainAscii(header));
}

TEST(DroppedFieldsHeader, ANameThatCannotFitIsCountedNotCut) {
  EXPECT_EQ(droppedFieldsHeader({std::string(5000, 'x')}, 1), "...(+1 more)");
  EXPECT_EQ(droppedFieldsHeader({"a", std::string(5000, 'x'), "b"}, 3), "a, ...(+2 more)");
  // Escaping triples a byte: 400 newlines are 1200 bytes.
  EXPECT_EQ(droppedFieldsHeader({std::string(400, '\n')}, 1), "...(+1 more)");
  // The last name needs no room for a suffix: exactly 1 KiB fits.
  const std::string exact(kDroppedFieldsHeaderMaxBytes, 'y');
  EXPECT_EQ(droppedFieldsHeader({exact}, 1), exact);
  EXPECT_EQ(droppedFieldsHeader({exact + "y"}, 1), "...(+1 more)");
}

TEST(DroppedFields, AKeyWithCrLfIsReportedEscaped) {
  auto r = translateChatRequest(R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],)"
                                R"("x\r\nInjected: yes\r\n\r\nHTTP/1.1 200 OK":1})",
                                {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->dropped.size(), 1u);
  EXPECT_EQ(r->dropped[0], "x\r\nInjected: yes\r\n\r\nHTTP/1.1 200 OK");
  EXPECT_EQ(r->dropped_total, 1u);
  EXPECT_EQ(droppedFieldsHeader(r->dropped, r->dropped_total), "x%0D%0AInjected:%20yes%0D%0A%0D%0AHTTP/1.1%20200%20OK");
}

TEST(DroppedFields, OneHundredThousandUnknownKeysAreCountedAndTheHeaderStaysSmall) {
  // The body that once cost 11.5 s of CPU (bench: BM_ChatRequestManyUnknownKeys).
  std::string body = R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}])";
  for (int i = 0; i < 100000; ++i) body += ",\"k" + std::to_string(i) + "\":0";
  body += R"(,"temperature":1,"k5":2,"temperature":0})";  // repeated keys count once
  auto r = translateChatRequest(body, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->dropped_total, 100001u);
  ASSERT_EQ(r->dropped.size(), UpstreamRequest::kMaxNamedDroppedFields);
  EXPECT_EQ(r->dropped.front(), "k0");
  EXPECT_EQ(r->dropped.back(), "k63");
  const std::string header = droppedFieldsHeader(r->dropped, r->dropped_total);
  EXPECT_LE(header.size(), kDroppedFieldsHeaderMaxBytes);
  const auto [shown, more] = shownAndMore(header);
  EXPECT_EQ(shown, 64u);
  EXPECT_EQ(shown + more, 100001u);
  EXPECT_TRUE(header.starts_with("k0, k1, k2, ")) << header;
  EXPECT_TRUE(header.ends_with(", ...(+99937 more)")) << header;
}

TEST(DroppedFields, ResponsesRouteCountsEachListedFieldOnce) {
  auto r = normalizeResponsesRequest(
      R"({"model":"gpt-5.5","input":"hi","temperature":1,"top_p":1,"temperature":0,"store":true})", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->dropped, (std::vector<std::string>{"top_p", "temperature", "store"}));
  EXPECT_EQ(r->dropped_total, 3u);
}

}  // namespace
}  // namespace cosp::worker
