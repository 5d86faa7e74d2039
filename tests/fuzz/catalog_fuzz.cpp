// The backend's model catalog (common/catalog/catalog_parse.h) and the worker channel's catalog
// message (common/ipc/catalog_message.h) on arbitrary bytes.
//
// Invariants: an accepted catalog holds 1..kMaxCatalogModels models with servable, distinct slugs,
// effort names without repeats, and each entry's raw_json is a JSON object; it crosses the channel
// intact (encode, decode, same models) unless its raw entries do not fit one message, and then
// everything but them crosses; CODEX_MODELS over it keeps exactly the configured ids; whatever
// decodeCatalog accepts re-encodes to the same catalog; nothing throws.

#include <algorithm>
#include <cstdint>
#include <string>

#include "common/catalog/catalog_parse.h"
#include "common/catalog/served_catalog.h"
#include "common/ipc/catalog_message.h"
#include "common/ipc/channel.h"
#include "common/json/json_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cosp::common;

bool sameModel(const CatalogModel& a, const CatalogModel& b, bool with_raw) {
  return a.slug == b.slug && a.display_name == b.display_name && a.efforts == b.efforts &&
         a.default_effort == b.default_effort && a.listed == b.listed && (!with_raw || a.raw_json == b.raw_json);
}

bool sameCatalog(const ModelCatalog& a, const ModelCatalog& b, bool with_raw) {
  if (a.source != b.source || a.etag != b.etag || a.fetched_at_ms != b.fetched_at_ms) return false;
  if (a.models.size() != b.models.size()) return false;
  for (size_t i = 0; i < a.models.size(); ++i) {
    if (!sameModel(a.models[i], b.models[i], with_raw)) return false;
  }
  return true;
}

void checkParsed(const ParsedCatalog& parsed) {
  FUZZ_CHECK(!parsed.models.empty() && parsed.models.size() <= kMaxCatalogModels);
  for (size_t i = 0; i < parsed.models.size(); ++i) {
    const CatalogModel& m = parsed.models[i];
    FUZZ_CHECK(isServableModelId(m.slug));
    FUZZ_CHECK(m.display_name.size() <= kMaxDisplayNameBytes && m.efforts.size() <= kMaxEfforts);
    for (size_t j = 0; j < i; ++j) FUZZ_CHECK(parsed.models[j].slug != m.slug);
    for (size_t e = 0; e < m.efforts.size(); ++e) {
      FUZZ_CHECK(isEffortName(m.efforts[e]));
      FUZZ_CHECK(std::count(m.efforts.begin(), m.efforts.end(), m.efforts[e]) == 1);
    }
    if (m.default_effort) FUZZ_CHECK(isEffortName(*m.default_effort));
    FUZZ_CHECK(parseJsonObject(m.raw_json).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  if (auto parsed = parseBackendCatalog(text); parsed.ok()) {
    checkParsed(parsed.value());
    ModelCatalog catalog;
    catalog.source = ModelCatalog::Source::Backend;
    catalog.models = parsed.value().models;
    catalog.etag = "W/\"fuzz\"";
    catalog.fetched_at_ms = 1;
    bool raw_dropped = false;
    const std::string message = encodeCatalog(catalog, &raw_dropped);
    FUZZ_CHECK(message.size() <= Channel::kMaxMessageBytes);
    auto back = decodeCatalog(message);
    FUZZ_CHECK(back && sameCatalog(*back, catalog, !raw_dropped));

    std::vector<std::string> configured = {catalog.models.front().slug, "fuzz-model"};
    const ModelCatalog served = servedCatalog(configured, catalog);
    FUZZ_CHECK(served.models.size() == 2 && served.models[0].slug == configured[0]);
    FUZZ_CHECK(served.models[0].efforts == catalog.models.front().efforts);
    FUZZ_CHECK(served.models[1].efforts.size() == kFallbackEfforts.size());
  } else {
    FUZZ_CHECK(!parsed.error().empty());
  }

  if (auto decoded = decodeCatalog(text)) {
    auto again = decodeCatalog(encodeCatalog(*decoded));
    FUZZ_CHECK(again.has_value());
    // raw entries come back re-serialised: compare them after one more trip.
    auto third = decodeCatalog(encodeCatalog(*again));
    FUZZ_CHECK(third && sameCatalog(*third, *again, true) && sameCatalog(*again, *decoded, false));
  }
  return 0;
}
