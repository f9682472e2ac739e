// Per-feature step functions (HBOS histograms, ECOD/COPOD empirical CDFs), shared by the native scorers and
// their ONNX converters so that both evaluate exactly the same float32 cut points and float32 leaf values.
//
// A step function of one feature has thresholds t[0] < t[1] < ... < t[P-2] (float32) and P pieces; piece i
// covers (t[i-1], t[i]] with t[-1] = -inf and t[P-1] = +inf, i.e. a value x falls in piece
// #{k : t[k] < x} (std::lower_bound). Each piece carries T target values (values[i * T + k]).
//
// Parity at any width (issue 14 §4): the score is sum_j values[j][piece_j] summed in float64 and rounded once to
// float32, natively and in ONNX. A float32 sum (ORT's TreeEnsemble accumulator, in its own tree order) drifts
// with the number of features (2.2e-5 at 20,000 columns); a float64 sum of float32 terms differs between any two
// summation orders by < d * 2^-53 * sum|v|, far below half a float32 ulp, so both sides round to the same float32
// (at worst one ulp apart). The ONNX graph finds the piece with a fixed-step binary search over the flat threshold
// table (Gather + Less, the same float32 comparison as lower_bound), so it stores only the native tables.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"
#include "nomaly/onnx/graph_builder.hpp"
#include "nomaly/params.hpp"

namespace nomaly::detail {

/// The piece of a step function that float32 value x falls in: #{k : thresholds[k] < x}.
inline std::size_t step_piece(const std::vector<float>& thresholds, float x) {
  return static_cast<std::size_t>(std::lower_bound(thresholds.begin(), thresholds.end(), x) - thresholds.begin());
}

/// Float32 cut points of a piecewise-constant function of a float32 x.
///  - category: a monotone non-decreasing map float -> int (the piece as defined in double precision by the
///    reference algorithm, e.g. numpy.digitize on double bin edges).
///  - breakpoints: double estimates of where the category changes; the exact float32 transition is searched
///    within a few ulps of each.
/// Returns the sorted, distinct float32 values t such that category(t) != category(nextafter(t, +inf)).
std::vector<float> float_cut_points(const std::function<long(float)>& category, const std::vector<double>& breakpoints);

/// Drops each threshold whose two neighbouring pieces have bit-identical target values (T values per piece).
void merge_equal_pieces(std::vector<float>& thresholds, std::vector<float>& values, std::size_t n_targets);

/// Adds the step-function lookup for x [N, d]: per feature the piece by binary search over one flat float32
/// threshold table, its n_targets leaf values by Gather, and per target the float64 sum over features, cast to
/// float32. thresholds[j] / values[j] define feature j's step function. Returns the name of the [N, n_targets]
/// float output. Throws OnnxExportError on inconsistent tables. Initializers hold exactly the native tables plus
/// three int64 offsets per feature, so the ONNX file is about the size of the native one.
std::string add_step_lookup(onnx_build::GraphBuilder& g, const std::string& x,
                            const std::vector<std::vector<float>>& thresholds,
                            const std::vector<std::vector<float>>& values, std::size_t n_targets);

/// Native evaluation of the same sums: out[k] = float32(sum over features j, in float64, of
/// values[j][piece_j(x_j) * T + k]).
inline void step_sums(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values,
                      std::size_t n_targets, const float* x, float* out) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  for (std::size_t j = 0; j < thresholds.size(); ++j) {
    const float* v = values[j].data() + step_piece(thresholds[j], x[j]) * n_targets;
    for (std::size_t k = 0; k < n_targets; ++k) acc[k] += static_cast<double>(v[k]);
  }
  for (std::size_t k = 0; k < n_targets; ++k) out[k] = static_cast<float>(acc[k]);
}

/// The ONNX converter shared by "ecod" and "copod" (defined in convert_ecod.cpp): the step lookup, then
/// Reshape to [N] (per-feature rules) or ReduceMax over the 3 targets (aggregation "paper").
std::string convert_ecdf_tail_detector(const Detector& detector, onnx_build::GraphBuilder& g, const std::string& x,
                                       std::string& score_doc);

/// Step tables as model-state JSON (flat float32 blobs plus per-feature piece counts), bit-exact.
json step_tables_state(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values);
/// Reverses step_tables_state; throws CorruptModel unless there are n_features tables with sorted thresholds and
/// n_targets values per piece.
void load_step_tables(const json& state, std::size_t n_features, std::size_t n_targets,
                      std::vector<std::vector<float>>& thresholds, std::vector<std::vector<float>>& values);

}  // namespace nomaly::detail
