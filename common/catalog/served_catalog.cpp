#include "common/catalog/served_catalog.h"

namespace cosp::common {

namespace {

CatalogModel builtInModel(const char* slug) {
  CatalogModel m;
  m.slug = slug;
  m.display_name = slug;
  m.efforts = {"low", "medium", "high", "xhigh"};
  m.default_effort = "medium";
  m.listed = true;
  return m;
}

}  // namespace

ModelCatalog builtInCatalog() {
  ModelCatalog c;
  c.source = ModelCatalog::Source::BuiltIn;
  // No gpt-5.5-pro: the backend's catalog has not listed it since 2026-08, and a call names it
  // only to be refused with 400 "not supported when using Codex with a ChatGPT account".
  c.models = {builtInModel("gpt-5.5"), builtInModel("gpt-5.4"), builtInModel("gpt-5.4-mini")};
  return c;
}

std::string_view catalogSourceName(ModelCatalog::Source source) {
  switch (source) {
    case ModelCatalog::Source::Backend:
      return "backend";
    case ModelCatalog::Source::Configured:
      return "configured";
    case ModelCatalog::Source::BuiltIn:
      return "built-in";
  }
  return "built-in";  // not reached: every enumerator is handled above
}

bool parseCatalogSource(std::string_view name, ModelCatalog::Source& out) {
  for (auto source : {ModelCatalog::Source::BuiltIn, ModelCatalog::Source::Backend, ModelCatalog::Source::Configured}) {
    if (catalogSourceName(source) == name) {
      out = source;
      return true;
    }
  }
  return false;
}

ModelCatalog servedCatalog(const std::vector<std::string>& configured, const ModelCatalog& discovered) {
  if (configured.empty()) return discovered;
  ModelCatalog out;
  out.source = ModelCatalog::Source::Configured;
  out.etag = discovered.etag;
  out.fetched_at_ms = discovered.fetched_at_ms;
  for (const std::string& slug : configured) {
    if (out.find(slug) != nullptr) continue;  // named twice in CODEX_MODELS
    CatalogModel model;
    if (const CatalogModel* known = discovered.find(slug)) {
      model = *known;
    } else {
      model.slug = slug;
      model.display_name = slug;
      model.efforts.assign(kFallbackEfforts.begin(), kFallbackEfforts.end());
    }
    model.listed = true;  // the operator named it: it is listed even when the backend hides it
    out.models.push_back(std::move(model));
  }
  return out;
}

}  // namespace cosp::common
