#include "common/metrics/prometheus.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <set>
#include <vector>

namespace cosp::common {

namespace {

struct Family {
  const char* name;
  const char* type;  // counter | gauge | histogram
  const char* help;
};

// The stable metric names; changing one breaks dashboards, so add rather than rename.
constexpr Family kFamilies[] = {
    {"http_requests_total", "counter", "HTTP requests answered, by route and status code."},
    {"http_request_duration_seconds", "histogram", "Time from request start to the end of the response, by route."},
    {"time_to_first_byte_seconds", "histogram", "Time from request start to the first response byte on model routes."},
    {"upstream_responses_total", "counter", "Responses from the Codex backend, by HTTP status."},
    {"upstream_failures_total", "counter", "Upstream attempts that got no response head, by kind."},
    {"upstream_retries_total", "counter", "Upstream attempts retried before the first client byte."},
    {"client_disconnects_total", "counter", "Model requests abandoned by their client before the end."},
    {"active_requests", "gauge", "Requests being handled now."},
    {"active_streams", "gauge", "Streaming responses being sent now."},
    {"active_connections", "gauge", "Client connections open now."},
    {"connections_accepted_total", "counter", "Client connections accepted."},
    {"connections_dropped_total", "counter", "Client connections dropped because the worker's queue was full."},
    {"handler_exceptions_total", "counter", "Requests whose handler failed unexpectedly."},
    {"response_bytes_total", "counter", "Response body bytes sent to clients."},
    {"workers", "gauge", "Worker processes by state."},
    {"worker_restarts_total", "counter", "Workers restarted after they died."},
    {"credential_refreshes_total", "counter", "OAuth refresh attempts by result."},
    {"credential_expiry_seconds", "gauge", "Seconds until the current access token expires (negative: expired)."},
    {"credential_state", "gauge", "1 for the current credential state."},
    {"credential_generation", "gauge", "Generation of the credentials handed to workers."},
    {"catalog_fetches_total", "counter", "Model catalog fetches from the backend, by result (not_modified: 304)."},
    {"catalog_models", "gauge", "Models the workers serve (backend catalog, CODEX_MODELS or the built-in list)."},
    {"account_requests_total", "counter", "Model calls made on each account, summed over workers."},
    {"account_failovers_total", "counter", "Calls moved away from each account after an account-level failure."},
    {"account_state", "gauge", "1 for each account's current state."},
    {"account_quota_used_percent", "gauge", "Used percent of each account's quota window (primary, secondary)."},
    {"build_info", "gauge", "Version of the running proxy."},
    {"key_requests_total", "counter", "Model calls of each caller key of API_KEYS_FILE, by status class."},
    {"key_model_requests_total", "counter", "Model calls of each caller key, by model."},
    {"key_tokens_total", "counter", "Tokens of each caller key, by kind (input, cached, output, reasoning)."},
};

const Family* familyOf(std::string_view metric_name) {
  for (const auto& f : kFamilies) {
    std::string_view name = f.name;
    if (metric_name == name) return &f;
    if (std::string_view(f.type) == "histogram" && metric_name.substr(0, name.size()) == name) {
      std::string_view rest = metric_name.substr(name.size());
      if (rest == "_bucket" || rest == "_sum_us" || rest == "_count") return &f;
    }
  }
  return nullptr;
}

std::string formatSeconds(int64_t micros) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(micros) / 1e6);
  return buf;
}

std::string formatBound(double le) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", le);
  return buf;
}

}  // namespace

std::string seriesKey(std::string_view name, std::string_view labels) {
  std::string key(name);
  if (!labels.empty()) {
    key += '{';
    key += labels;
    key += '}';
  }
  return key;
}

namespace {

// kLatencyBuckets in microseconds. Every bound is a whole number of microseconds, so `micros <=
// bound` decides exactly as `micros / 1e6 <= le` did.
constexpr std::array<int64_t, std::size(kLatencyBuckets)> kBoundsUs = [] {
  std::array<int64_t, std::size(kLatencyBuckets)> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(kLatencyBuckets[i] * 1e6 + 0.5);
  return out;
}();

}  // namespace

void LatencyHistogram::observe(int64_t micros) {
  for (std::size_t i = 0; i < kBoundsUs.size(); ++i) buckets[i] += micros <= kBoundsUs[i] ? 1 : 0;
  ++count;
  sum_us += micros;
}

void LatencyHistogram::addTo(MetricSeries& series, std::string_view name, std::string_view labels) const {
  const std::string bucket_name = std::string(name) + "_bucket";
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    series[seriesKey(bucket_name, prefix + "le=\"" + formatBound(kLatencyBuckets[i]) + "\"")] += buckets[i];
  }
  series[seriesKey(bucket_name, prefix + "le=\"+Inf\"")] += count;
  series[seriesKey(std::string(name) + "_sum_us", labels)] += sum_us;
  series[seriesKey(std::string(name) + "_count", labels)] += count;
}

bool isGaugeSeries(std::string_view key) {
  std::string_view name = key.substr(0, key.find('{'));
  const Family* f = familyOf(name);
  return f != nullptr && std::string_view(f->type) == "gauge";
}

std::string renderPrometheus(const MetricSeries& series) {
  std::string out;
  std::set<std::string> described;
  // Group by family in table order so each family's HELP/TYPE precedes all its samples.
  auto emit = [&](const Family* family, const std::string& key, int64_t value) {
    std::string_view name = std::string_view(key).substr(0, key.find('{'));
    std::string_view labels =
        key.find('{') == std::string::npos ? std::string_view() : std::string_view(key).substr(key.find('{'));
    std::string family_name = family != nullptr ? family->name : std::string(name);
    if (described.insert(family_name).second) {
      out += "# HELP codex_sub_proxy_" + family_name + " " + (family ? family->help : "Untyped series.") + "\n";
      out += "# TYPE codex_sub_proxy_" + family_name + " " + (family ? family->type : "untyped") + "\n";
    }
    std::string sample_name(name);
    std::string sample_value = std::to_string(value);
    if (sample_name.size() > 7 && sample_name.compare(sample_name.size() - 7, 7, "_sum_us") == 0) {
      sample_name.resize(sample_name.size() - 3);  // _sum_us -> _sum, in seconds
      sample_value = formatSeconds(value);
    }
    out += "codex_sub_proxy_" + sample_name + std::string(labels) + " " + sample_value + "\n";
  };
  // Each series is classified once (the supervisor renders every second, and with a keys file of
  // 1,000 keys the series number in the thousands): one bucket per family, then the unknown ones.
  constexpr std::size_t kFamilyCount = std::size(kFamilies);
  std::vector<std::vector<std::pair<std::string, int64_t>>> by_family(kFamilyCount + 1);
  for (const auto& [key, value] : series) {
    const Family* f = familyOf(std::string_view(key).substr(0, key.find('{')));
    by_family[f != nullptr ? static_cast<std::size_t>(f - kFamilies) : kFamilyCount].emplace_back(key, value);
  }
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const Family& f = kFamilies[i];
    auto& samples = by_family[i];
    if (std::string_view(f.type) == "histogram") {
      // Buckets in numeric order per label set, then _sum and _count: keep map order but put
      // buckets first and order them by their bound.
      std::stable_sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
        auto rank = [](const std::string& k) {
          if (k.find("_bucket") != std::string::npos) return 0;
          if (k.find("_sum_us") != std::string::npos) return 1;
          return 2;
        };
        auto bound = [](const std::string& k) {
          auto p = k.find("le=\"");
          if (p == std::string::npos) return 0.0;
          std::string v = k.substr(p + 4, k.find('"', p + 4) - p - 4);
          return v == "+Inf" ? 1e300 : std::stod(v);
        };
        auto labelsOf = [](const std::string& k) {  // the label set without le="..."
          auto brace = k.find('{');
          if (brace == std::string::npos) return std::string();
          std::string inner = k.substr(brace + 1, k.size() - brace - 2);
          auto le = inner.find("le=\"");
          if (le != std::string::npos) inner.erase(le > 0 ? le - 1 : le);  // drop ",le=..." / "le=..."
          return inner;
        };
        // One label set at a time: its buckets by bound, then _sum, then _count.
        if (labelsOf(a.first) != labelsOf(b.first)) return labelsOf(a.first) < labelsOf(b.first);
        if (rank(a.first) != rank(b.first)) return rank(a.first) < rank(b.first);
        return bound(a.first) < bound(b.first);
      });
    }
    for (const auto& [key, value] : samples) emit(&f, key, value);
  }
  for (const auto& [key, value] : by_family[kFamilyCount]) emit(nullptr, key, value);
  return out;
}

}  // namespace cosp::common
