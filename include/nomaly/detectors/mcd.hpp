// MCD, Minimum Covariance Determinant outlier detector (Rousseeuw & Van Driessen, "A Fast Algorithm for the
// Minimum Covariance Determinant Estimator", Technometrics 1999, FastMCD), following scikit-learn 1.2's
// sklearn.covariance.MinCovDet step by step; the score is PyOD's MCD decision_function, the robust squared
// Mahalanobis distance (MinCovDet.mahalanobis).
//
// Parameters (registry name "mcd"):
//   support_fraction null | float in (0, 1], default null   raw-MCD support h = floor(fraction * n); null =
//                      ceil((n + d + 1) / 2), as sklearn
//   random_state     int >= 0 | null, default null          seed of the random subsets; null draws from
//                      std::random_device
//   contamination    float in (0, 0.5] | "auto", default 0.1 (PyOD's default)
// (sklearn's assume_centered and store_precision are not offered: centred estimation, precision always stored.)
//
// Fit on X [n, d] (n >= 2), as sklearn fast_mcd: n <= 500: 30 random h-subsets, 2 C-steps each, the 10 lowest
// log-determinants iterated to convergence (<= 30 C-steps) on all rows; n > 500: n // 300 disjoint random
// subsets with max(10, 500 // subsets) trials each, pooled on a random merged set of min(1500, n) rows, then on
// all rows when n >= 1500; d = 1 uses the exact shortest-half rule. Then MinCovDet's consistency correction
// (raw distances / (median / chi2_d.ppf(0.5))) and reweighting (rows with corrected distance < chi2_d.ppf(0.975)
// give the final location and biased covariance). Precision = pinvh(covariance) (eigenvalues <= d * eps * max
// dropped, as scipy). The random subsets come from our own generator, so results match sklearn's in distribution,
// not bit for bit (ROC-AUC agreement is tested).
// Score (score_samples, shape [m]) = (x - location)^T precision (x - location) >= 0, higher = more anomalous;
// training scores equal score_samples on the training rows (sklearn's dist_).
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data (fewer than 2 rows, wrong
// width, NaN/inf) and when the support's covariance is exactly 0 (sklearn's ValueError); CorruptModel for a
// damaged state.
#pragma once

#include <cstddef>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

class McdDetector : public Detector {
 public:
  explicit McdDetector(const json& params);

  /// Robust location [d] and precision matrix [d, d] (row-major, symmetric PSD).
  const std::vector<double>& location() const { return location_; }
  const std::vector<double>& precision() const { return precision_; }
  /// Robust covariance [d, d] (row-major), sklearn's covariance_.
  const std::vector<double>& covariance() const { return covariance_; }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;
  std::size_t min_rows() const override { return 2; }

 private:
  std::vector<double> location_, covariance_, precision_;
};

/// Quantile function (inverse CDF) of the chi-square distribution with `dof` > 0 degrees of freedom, p in (0, 1).
/// Accurate to ~1e-12 relative (bisection on the regularized incomplete gamma function).
double chi2_quantile(double p, double dof);

}  // namespace nomaly
