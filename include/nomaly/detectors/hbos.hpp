// HBOS, Histogram-Based Outlier Score (Goldstein & Dengel, "Histogram-based Outlier Score (HBOS): A fast
// Unsupervised Anomaly Detection Algorithm", KI-2012 Poster and Demo Track), with the semantics of
// pyod.models.hbos.HBOS (PyOD 1.x, static bins).
//
// Parameters (registry name "hbos"):
//   n_bins        int in [1, 100000], default 10   equal-width bins per feature (numpy.histogram(bins=n_bins));
//                 PyOD has no upper bound, nomaly refuses more (ParameterError) so a typo cannot exhaust memory;
//                 fit also refuses n_bins x n_features > 2^25 (ParameterError)
//   alpha         float in (0, 1), default 0.1  regulariser added to each bin's density before log2
//   tol           float in (0, 1), default 0.5  values at most tol * (edge bin width) outside the training range
//                                               take the edge bin's score; farther ones take the worst bin's
//   contamination float in (0, 0.5] | "auto", default 0.1   (PyOD's default)
// PyOD's n_bins="auto" (Birgé-Rozenblac) is not offered.
//
// Fit, per feature j (as PyOD): edges e_0..e_B = numpy.linspace(min, max, B + 1) in double (min -/+ 0.5 for a
// constant feature); density h_b = count_b / (e_{b+1} - e_b) / n with numpy.histogram's [e_b, e_{b+1}) bins
// (the last bin closed). Scoring x (numpy.digitize(right=True)): x in (e_b, e_{b+1}] -> bin b; x <= e_0 ->
// bin 0 if e_0 - x <= tol (e_1 - e_0), else the lowest-density bin; x > e_B likewise on the right.
// Score (score_samples, shape [n]) = -sum_j log2(h_{b_j} + alpha), higher = more anomalous (PyOD's
// decision_function, which negates the sum of log2 densities).
//
// Float32 representation: each feature's score is a step function of the float32 value x_j. Its cut points are
// the float32 values where PyOD's double-precision bin assignment changes (found exactly, not rounded), and its
// leaf values -log2(h + alpha) are computed in double and stored as float32; the score is their float64 sum over
// features, rounded once to float32. The ONNX export looks up the same cut points and leaves (binary search,
// onnx/step_trees.hpp) and sums in float64 too, so it agrees with score_samples at any width.
// Scores are inductive and score_samples(X_train) equals the training scores bit for bit.
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data (wrong width, NaN/inf).
#pragma once

#include <cstddef>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

class Hbos : public Detector {
 public:
  explicit Hbos(const json& params);

  /// Bin edges of feature j (n_bins + 1 doubles, PyOD's bin_edges_[:, j]).
  const std::vector<double>& bin_edges(std::size_t j) const { return edges_.at(j); }
  /// Densities of feature j (n_bins doubles, PyOD's hist_[:, j]).
  const std::vector<double>& histogram(std::size_t j) const { return hist_.at(j); }
  /// Step-function tables (see file comment): per feature, float32 cut points and one float32 value per piece.
  const std::vector<std::vector<float>>& step_thresholds() const { return thresholds_; }
  const std::vector<std::vector<float>>& step_values() const { return values_; }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;

 private:
  std::size_t n_bins_;
  double alpha_, tol_;
  std::vector<std::vector<double>> edges_, hist_;
  std::vector<std::vector<float>> thresholds_, values_;
};

}  // namespace nomaly
