// Prometheus counters of `nomaly serve` (text exposition format 0.0.4): requests by route and status, rows
// scored, a request latency histogram per route, models loaded, reloads and failed reloads.
// Lock-free: every counter is an atomic, so recording costs a few relaxed increments per request.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nomaly::serve {

/// The route templates the server knows; Other is any path that matched none (answered 404).
enum class Route : int { Live, Ready, Server, Model, ModelReady, Infer, ListModels, Score, Metrics, Other, Count };

/// The template as shown in the `route` label, e.g. "/v2/models/{id}/infer".
const char* route_name(Route r);

class Metrics {
 public:
  /// Upper bounds (seconds) of the latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 14> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01,
                                                      0.025,  0.05,    0.1,    0.25,  0.5,   1.0,   5.0};

  /// One answered request: its route, HTTP status (100..599; others are counted as 599) and handler time.
  void observe(Route route, int status, double seconds);
  void add_rows_scored(std::size_t n) { rows_scored_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t rows_scored() const { return rows_scored_.load(std::memory_order_relaxed); }
  /// Requests recorded for (route, status).
  std::uint64_t requests(Route route, int status) const;

  /// The exposition text. Gauges/counters owned by the model cache are passed in.
  std::string render(std::size_t models_loaded, std::uint64_t reloads, std::uint64_t load_failures) const;

 private:
  static constexpr int kRoutes = static_cast<int>(Route::Count);
  static constexpr int kStatuses = 500;  // 100..599
  std::array<std::atomic<std::uint64_t>, kRoutes * kStatuses> by_status_{};
  std::array<std::atomic<std::uint64_t>, kRoutes*(kBuckets.size() + 1)> buckets_{};
  std::array<std::atomic<std::uint64_t>, kRoutes> sum_ns_{};
  std::atomic<std::uint64_t> rows_scored_{0};
};

}  // namespace nomaly::serve
