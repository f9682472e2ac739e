// The parity rule of include/nomaly/onnx/parity.hpp: one place, so every check measures the same thing.
#include "nomaly/onnx/parity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nomaly/detector.hpp"

namespace nomaly {

double parity_floor(const std::vector<float>& scores) {
  constexpr double kMin = std::numeric_limits<float>::min();
  if (scores.empty()) return kMin;
  const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
  const double spread = static_cast<double>(*hi) - static_cast<double>(*lo);
  return std::isfinite(spread) ? std::max(kParityFloorFraction * spread, kMin) : kMin;
}

double parity_floor(const Detector& det) {
  if (!det.is_fitted() || det.reference_rows().empty()) return std::numeric_limits<float>::min();
  const auto& ref = det.reference_rows();
  return parity_floor(det.score_samples(MatrixView{ref.data(), ref.size() / det.n_features(), det.n_features()}));
}

ParityReport parity_report(const std::vector<float>& got, const std::vector<float>& want, double floor) {
  ParityReport r;
  r.floor = floor;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    // Equal values (the same infinity, or NaN on both sides) agree; otherwise a non-finite difference (an
    // infinity or NaN on one side only) is an infinite error. inf/inf used to give a NaN ratio, which no
    // comparison caught: an ONNX score of 5 passed against a native inf.
    const bool same = g == w || (std::isnan(g) && std::isnan(w));
    double d = same ? 0.0 : std::fabs(g - w);
    if (!std::isfinite(d)) d = std::numeric_limits<double>::infinity();
    const double rel = same ? 0.0 : std::isinf(d) ? d : d / std::max(std::fabs(w), floor);
    r.max_abs = std::max(r.max_abs, d);
    if (rel > r.max_rel) {
      r.max_rel = rel;
      r.worst_row = i;
    }
  }
  return r;
}

}  // namespace nomaly
