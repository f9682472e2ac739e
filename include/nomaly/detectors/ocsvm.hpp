// One-Class SVM (Schölkopf, Platt, Shawe-Taylor, Smola & Williamson, "Estimating the Support of a
// High-Dimensional Distribution", Neural Computation 13(7), 2001), trained with libsvm (Chang & Lin; Debian
// libsvm 3.x), with the defaults and semantics of sklearn.svm.OneClassSVM (which PyOD's OCSVM wraps).
//
// Parameters (registry name "ocsvm"):
//   kernel        "rbf" (the only kernel offered), default "rbf"     K(x, y) = exp(-gamma ||x - y||^2)
//   nu            float in (0, 1], default 0.5     upper bound on the training-error share, lower bound on SV share
//   gamma         "scale" | "auto" | float > 0, default "scale"
//                 "scale" = 1 / (d * Var(X)) with Var over all n*d training values (1.0 when Var is 0),
//                 "auto" = 1 / d  (sklearn's definitions)
//   tol           float > 0, default 1e-3          libsvm stopping tolerance (eps)
//   shrinking     bool, default true               libsvm shrinking heuristic
//   cache_size    float > 0, default 200           kernel cache in MB
//   contamination float in (0, 0.5] | "auto", default 0.1   (PyOD's default)
//   n_jobs        int, default 0 (all cores)       threads for scoring; results never depend on it
//
// Score (score_samples, shape [n]) = -decision_function = rho - sum_i alpha_i K(sv_i, x), higher = more
// anomalous; decision_function is libsvm's / sklearn's (alpha sums to nu * n, positive inside the support).
// Training scores are the same function on the training rows (fit-all / score-all as in PyOD).
//
// The fitted state is the support vectors (float32 training rows), their dual coefficients alpha_i (double),
// rho (double) and gamma (double); it is persisted as such (not as a libsvm model file) so save/load is
// bit-exact, and scoring evaluates the expression above natively in double, term by term in support-vector
// order exactly as libsvm's svm_predict_values, then rounds to float32. libsvm's console output is silenced.
// The ONNX export computes the same expression in double: ||x||^2 - 2 x.SV^T + ||sv||^2 (MatMul,
// ReduceSumSquare), clamped at 0, Exp, MatMul with the coefficients, rho minus the sum, Cast to float.
//
// Errors: ParameterError for a bad parameter (or one libsvm rejects); DataError from Detector for bad data;
// ModelError when libsvm fails to train.
#pragma once

#include <cstddef>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

class OneClassSvm : public Detector {
 public:
  explicit OneClassSvm(const json& params);

  /// Support vectors, row-major n_support() x n_features().
  const std::vector<float>& support_vectors() const { return sv_; }
  /// Dual coefficients alpha_i (libsvm sv_coef), one per support vector.
  const std::vector<double>& dual_coef() const { return coef_; }
  std::size_t n_support() const { return coef_.size(); }
  double rho() const { return rho_; }
  /// The resolved kernel coefficient (after "scale" / "auto").
  double gamma() const { return gamma_; }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;

 private:
  double nu_, tol_, cache_mb_;
  bool shrinking_;
  double gamma_ = 0.0, rho_ = 0.0;
  std::vector<float> sv_;
  std::vector<double> coef_;
};

}  // namespace nomaly
