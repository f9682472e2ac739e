// ECOD, Empirical-Cumulative-distribution-based Outlier Detection (Li, Zhao, Hu, Botta, Ionescu & Chen,
// "ECOD: Unsupervised Outlier Detection Using Empirical Cumulative Distribution Functions", IEEE TKDE 2022),
// with the semantics of pyod.models.ecod.ECOD. COPOD (copod.hpp) shares this implementation.
//
// Parameters (registry name "ecod"):
//   contamination float in (0, 0.5] | "auto", default 0.1   (PyOD's default)
//   aggregation   "pyod" | "max" | "mean" | "paper", default "pyod"
//     "max":   score = sum_j max(U_l_j, U_r_j, U_skew_j)          (PyOD ECOD's decision_function)
//     "mean":  score = sum_j max(U_skew_j, (U_l_j + U_r_j) / 2)   (PyOD COPOD's decision_function)
//     "pyod":  "max" for ecod, "mean" for copod
//     "paper": score = max(sum_j U_l_j, sum_j U_r_j, sum_j U_skew_j)   (Algorithm 1 of the ECOD and COPOD papers)
//
// Which PyOD source: pyod/models/ecod.py and copod.py as released through PyOD 2.x (ecod.py at commit 8e6218e0,
// copod.py at 44c0ad79; the same rules with pyod.utils.stat_models.column_ecdf after PyOD PR #467). PyOD's
// master at commit 0865a7be (2026, after PR #725) swaps the two rules between the classes (its ECOD uses "mean",
// its COPOD "max"); to reproduce that version pass aggregation="mean" to ecod or "max" to copod.
//
// Per feature j, from the n training values only:
//   F_l(x) = #{train_j <= x} / n,  F_r(x) = #{train_j >= x} / n   (PyOD's column_ecdf of X and -X),
//   U_l = -ln F_l, U_r = -ln F_r,
//   U_skew = U_l * -sign(s - 1) + U_r * sign(s + 1) with s = sign(scipy.stats.skew(train_j)), 0 for a
//   (numerically) constant feature as in scipy + numpy.nan_to_num; so U_l for s < 0, U_r for s > 0, U_l + U_r for 0.
// Score (score_samples, shape [n]): higher = more anomalous, in nats.
//
// Difference from PyOD, on purpose: PyOD's decision_function(X_test) re-ranks the test batch together with the
// training data (ECDFs over train ∪ test, skewness too), so a row's score depends on the batch. nomaly's scores
// are inductive: ECDFs and skewness signs come from the training data only, and a count of 0 (a value outside
// the training range) is floored at 1, so such a value scores like the most extreme training value. For the
// training rows this is exactly PyOD's fit-time decision_scores_, and score_samples(X_train) equals the training
// scores bit for bit.
//
// Float32 representation: each feature's per-target terms form a step function of float32 x_j with cut points
// at every distinct training value v (x < v, x == v, between values); leaf values are computed in double and
// stored as float32, and the score sums them in float64 and rounds once to float32 (onnx/step_trees.hpp). The
// ONNX export looks the pieces up by binary search over the same tables and sums in float64 too (1 target, or
// 3 targets U_l, U_r, U_skew followed by ReduceMax for "paper"), so it agrees with score_samples at any width.
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data (wrong width, NaN/inf).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

/// The ECDF tail-probability detector behind ECOD and COPOD (same tails, different per-feature rule).
class EcdfTailDetector : public Detector {
 public:
  /// True for aggregation "paper" (three targets, max of sums), false for the per-feature rules (one target).
  bool paper_aggregation() const { return paper_; }
  std::size_t n_targets() const { return paper_ ? 3 : 1; }
  /// True when the per-feature term is max(U_l, U_r, U_skew) (ECOD's rule), false for COPOD's rule or "paper".
  bool max_rule() const { return max_rule_; }
  /// Skewness sign (-1, 0, 1) of each training feature.
  const std::vector<std::int32_t>& skew_signs() const { return skew_sign_; }
  /// Step-function tables: per feature, float32 cut points and n_targets() float32 values per piece.
  const std::vector<std::vector<float>>& step_thresholds() const { return thresholds_; }
  const std::vector<std::vector<float>>& step_values() const { return values_; }

 protected:
  EcdfTailDetector(std::string algorithm, const json& params);
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;

 private:
  bool paper_ = false;
  bool max_rule_ = false;  // per-feature max(U_l, U_r, U_skew) instead of max(U_skew, (U_l + U_r) / 2)
  std::vector<std::int32_t> skew_sign_;
  std::vector<std::vector<float>> thresholds_, values_;
};

class Ecod : public EcdfTailDetector {
 public:
  explicit Ecod(const json& params);
};

/// The parameter list shared by "ecod" and "copod".
std::vector<ParamSpec> ecdf_tail_params();

}  // namespace nomaly
