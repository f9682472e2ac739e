#include "nomaly/serve/metrics.hpp"

#include <cstdio>

namespace nomaly::serve {

const char* route_name(Route r) {
  switch (r) {
    case Route::Live: return "/v2/health/live";
    case Route::Ready: return "/v2/health/ready";
    case Route::Server: return "/v2";
    case Route::Model: return "/v2/models/{id}";
    case Route::ModelReady: return "/v2/models/{id}/ready";
    case Route::Infer: return "/v2/models/{id}/infer";
    case Route::ListModels: return "/v1/models";
    case Route::Score: return "/v1/models/{id}/score";
    case Route::Metrics: return "/metrics";
    default: return "other";
  }
}

void Metrics::observe(Route route, int status, double seconds) {
  const int r = static_cast<int>(route);
  const int s = (status >= 100 && status <= 599) ? status - 100 : kStatuses - 1;
  by_status_[r * kStatuses + s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  buckets_[r * (kBuckets.size() + 1) + b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_[r].fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::uint64_t Metrics::requests(Route route, int status) const {
  if (status < 100 || status > 599) return 0;
  return by_status_[static_cast<int>(route) * kStatuses + status - 100].load(std::memory_order_relaxed);
}

std::string Metrics::render(std::size_t models_loaded, std::uint64_t reloads, std::uint64_t load_failures) const {
  std::string out;
  char line[256];
  out += "# HELP nomaly_requests_total HTTP requests answered, by route template and status code.\n"
         "# TYPE nomaly_requests_total counter\n";
  for (int r = 0; r < kRoutes; ++r)
    for (int s = 0; s < kStatuses; ++s)
      if (const auto n = by_status_[r * kStatuses + s].load(std::memory_order_relaxed)) {
        std::snprintf(line, sizeof line, "nomaly_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                      route_name(static_cast<Route>(r)), s + 100, static_cast<unsigned long long>(n));
        out += line;
      }
  out += "# HELP nomaly_request_duration_seconds Time from routing a request to its response body, by route.\n"
         "# TYPE nomaly_request_duration_seconds histogram\n";
  for (int r = 0; r < kRoutes; ++r) {
    std::uint64_t cum = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) cum += buckets_[r * (kBuckets.size() + 1) + b].load(std::memory_order_relaxed);
    if (cum == 0) continue;
    const char* name = route_name(static_cast<Route>(r));
    cum = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cum += buckets_[r * (kBuckets.size() + 1) + b].load(std::memory_order_relaxed);
      if (b < kBuckets.size())
        std::snprintf(line, sizeof line, "nomaly_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", name,
                      kBuckets[b], static_cast<unsigned long long>(cum));
      else
        std::snprintf(line, sizeof line, "nomaly_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name,
                      static_cast<unsigned long long>(cum));
      out += line;
    }
    std::snprintf(line, sizeof line, "nomaly_request_duration_seconds_sum{route=\"%s\"} %.9f\n", name,
                  static_cast<double>(sum_ns_[r].load(std::memory_order_relaxed)) * 1e-9);
    out += line;
    std::snprintf(line, sizeof line, "nomaly_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                  static_cast<unsigned long long>(cum));
    out += line;
  }
  std::snprintf(line, sizeof line,
                "# HELP nomaly_rows_scored_total Rows scored by /infer and /score.\n# TYPE nomaly_rows_scored_total counter\n"
                "nomaly_rows_scored_total %llu\n",
                static_cast<unsigned long long>(rows_scored()));
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP nomaly_models_loaded Models held in the cache.\n# TYPE nomaly_models_loaded gauge\n"
                "nomaly_models_loaded %zu\n",
                models_loaded);
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP nomaly_model_reloads_total Models (re)loaded after a new save.\n# TYPE nomaly_model_reloads_total counter\n"
                "nomaly_model_reloads_total %llu\n",
                static_cast<unsigned long long>(reloads));
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP nomaly_model_load_failures_total Loads that failed (the last good model kept serving).\n"
                "# TYPE nomaly_model_load_failures_total counter\nnomaly_model_load_failures_total %llu\n",
                static_cast<unsigned long long>(load_failures));
  out += line;
  return out;
}

}  // namespace nomaly::serve
