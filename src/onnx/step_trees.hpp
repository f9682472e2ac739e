// Per-feature step functions (HBOS histograms, ECOD/COPOD empirical CDFs), shared by the native scorers and
// their ONNX converters so that both evaluate exactly the same float32 cut points and float32 leaf values.
//
// A step function of one feature has thresholds t[0] < t[1] < ... < t[P-2] (float32) and P pieces; piece i
// covers (t[i-1], t[i]] with t[-1] = -inf and t[P-1] = +inf, i.e. a value x falls in piece
// #{k : t[k] < x}. This is exactly where a binary tree of BRANCH_LEQ nodes ("x <= t goes to the true
// branch") sends x, so ONNX Runtime's TreeEnsembleRegressor lands on the same piece for every float32 x.
// Each piece carries T target values (values[i * T + k]).
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

/// Adds ONE ai.onnx.ml TreeEnsembleRegressor with one balanced BRANCH_LEQ tree per feature (feature j -> tree j)
/// and SUM aggregation over trees, n_targets outputs. thresholds[j] / values[j] define feature j's step function.
/// Returns the name of the [N, n_targets] float output. Throws OnnxExportError on inconsistent tables.
std::string add_step_tree_ensemble(onnx_build::GraphBuilder& g, const std::string& x,
                                   const std::vector<std::vector<float>>& thresholds,
                                   const std::vector<std::vector<float>>& values, std::size_t n_targets);

/// Native evaluation of the same sums: out[k] = sum over features j (in order j = 0..d-1, float32 adds) of
/// values[j][piece_j(x_j) * T + k], the order in which ONNX Runtime adds the trees on one thread.
inline void step_sums(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values,
                      std::size_t n_targets, const float* x, float* out) {
  for (std::size_t k = 0; k < n_targets; ++k) out[k] = 0.0f;
  for (std::size_t j = 0; j < thresholds.size(); ++j) {
    const float* v = values[j].data() + step_piece(thresholds[j], x[j]) * n_targets;
    for (std::size_t k = 0; k < n_targets; ++k) out[k] += v[k];
  }
}

/// The ONNX converter shared by "ecod" and "copod" (defined in convert_ecod.cpp): the step-tree ensemble, then
/// Reshape to [N] (aggregation "pyod") or ReduceMax over the 3 targets (aggregation "paper").
std::string convert_ecdf_tail_detector(const Detector& detector, onnx_build::GraphBuilder& g, const std::string& x,
                                       std::string& score_doc);

/// Step tables as model-state JSON (flat float32 blobs plus per-feature piece counts), bit-exact.
json step_tables_state(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values);
/// Reverses step_tables_state; throws CorruptModel unless there are n_features tables with sorted thresholds and
/// n_targets values per piece.
void load_step_tables(const json& state, std::size_t n_features, std::size_t n_targets,
                      std::vector<std::vector<float>>& thresholds, std::vector<std::vector<float>>& values);

}  // namespace nomaly::detail
