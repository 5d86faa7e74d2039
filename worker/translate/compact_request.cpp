#include "worker/translate/compact_request.h"

#include <unordered_map>

#include "common/json/json_writer.h"
#include "worker/translate/request_common.h"

namespace cosp::worker {

common::Result<UpstreamRequest> compactRequestBody(std::string_view body, const TranslateOptions& options) {
  auto root = detail::parseRequestObject(body);
  if (!root) return root.error();
  detail::FieldPolicy policy(options);
  UpstreamRequest request;
  const common::JsonObject& members = *root->getObject();
  std::unordered_map<std::string_view, std::size_t> last;  // duplicate keys: the last one wins, as everywhere
  last.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) last[members[i].key] = i;
  common::JsonWriter w;
  w.reserve(body.size() + 16);
  w.beginObject();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const common::JsonMember& m = members[i];
    if (last[m.key] != i) continue;
    const std::string& key = m.key;
    if (key == "model") request.model = std::string(m.value.stringView().value_or(""));
    const bool listed = policy.isListed(key);
    if (listed && !(key == "service_tier" && policy.keepServiceTier(m.value))) {
      if (auto e = policy.drop(key, request)) return *e;
      continue;
    }
    w.key(key).value(m.value);
  }
  w.endObject();
  request.body = w.take();
  request.upstream_model = request.model;
  return request;
}

}  // namespace cosp::worker
