// PCA outlier detector (Shyu, Chen, Sarinnapakorn & Chang, "A Novel Anomaly Detection Scheme Based on Principal
// Component Classifier", ICDM Foundation and New Direction of Data Mining workshop 2003; Aggarwal, Outlier
// Analysis 2015), following PyOD's pyod.models.pca.PCA code exactly (svd_solver "full").
//
// Parameters (registry name "pca"):
//   n_components          null | int >= 1 | float in (0, 1), default null   components kept (sklearn PCA):
//                           null = min(n, d); a float keeps the fewest whose cumulative explained variance
//                           ratio exceeds it
//   n_selected_components null | int >= 1, default null   the LAST (smallest-variance) kept components used
//                           in the score; null = all kept
//   whiten                bool, default false   accepted for PyOD compatibility; PyOD's score uses components_,
//                           which whitening does not change, so it has no effect on scores
//   weighted              bool, default true    divide each term by the component's explained variance ratio
//   standardization       bool, default true    StandardScaler (population std; constant features keep scale 1)
//   contamination         float in (0, 0.5] | "auto", default 0.1 (PyOD's default)
//
// Fit on X [n, d] (n >= 2): z = (x - mean) / scale (if standardization); sklearn PCA on z: SVD of z - mean(z),
// components v_j = rows of Vt with sklearn 1.2's svd_flip(u_based_decision=True) signs (the row with the largest
// |projection| on v_j projects positively), explained_variance_ratio r_j = S_j^2 / sum_i S_i^2.
// Score (score_samples, shape [m]) = sum over selected j of ||z - v_j|| / r_j, i.e. PyOD's
// sum(cdist(z, selected_components_) / selected_w_components_, axis=1): the Euclidean distance from the
// standardized point to the unit vector v_j taken as a point, not its squared projection (the PyOD docstring's
// wording; the code is followed). Higher = more anomalous. Training scores equal score_samples on the training rows.
//
// Deviations from PyOD, both only where PyOD misbehaves: ratios below 1e-12 (rank-deficient data, e.g. constant
// features; PyOD divides by ~1e-32 rounding noise or 0) are raised to 1e-12 so scores stay finite in float32;
// sklearn's "auto" randomized solver (n > 500, few components) is replaced by the exact SVD.
//
// Errors: ParameterError for a bad parameter (also n_selected_components > kept components, at fit);
// DataError from Detector for bad data (fewer than 2 rows, wrong width, NaN/inf); CorruptModel for a bad state.
#pragma once

#include <cstddef>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

class PcaDetector : public Detector {
 public:
  explicit PcaDetector(const json& params);

  /// Standardization mean and scale [n_features] (0 and 1 when standardization is false).
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }
  /// Selected components, row-major [n_selected, n_features] (unit vectors).
  const std::vector<double>& components() const { return comps_; }
  /// Weight of each selected component [n_selected]: 1 / max(ratio, 1e-12), or 1 when weighted is false.
  const std::vector<double>& inverse_weights() const { return inv_w_; }
  std::size_t n_selected() const { return inv_w_.size(); }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;
  std::size_t min_rows() const override { return 2; }

 private:
  std::vector<double> mean_, scale_, comps_, inv_w_;
};

}  // namespace nomaly
