// The Detector interface shared by every algorithm, in the spirit of scikit-learn / PyOD:
// fit(X), score_samples(X) (higher = more anomalous), predict(X) (1 = anomaly), a decision threshold
// set from `contamination`, and a complete JSON state for native persistence.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"
#include "nomaly/params.hpp"

namespace nomaly {

/// Base class of all detectors. Subclasses implement fit_impl/score_impl/model_state/load_model_state.
///
/// Contract (checked here, once, for every algorithm):
///  - fit: X is n x d with n >= 1 (subclasses may require more), d >= 1, all values finite; otherwise DataError.
///  - score_samples: X must have exactly n_features() columns and finite values (DataError naming expected
///    and actual width, or the first bad row/column); NotFittedError before fit. Returns one float per row.
///    Scores are inductive: each row's score depends only on the fitted state and that row.
///  - threshold: contamination "auto" -> auto_threshold() (0.5 for Isolation Forest as in sklearn, the
///    90th percentile of training scores elsewhere, PyOD's default contamination 0.1); a number c in (0, 0.5]
///    -> the (1-c) percentile of the training scores with linear interpolation (numpy.percentile, as PyOD).
///    The threshold is rounded to float32 so that native and ONNX labels agree exactly.
///  - predict: 1 where score > threshold, else 0.
class Detector {
 public:
  virtual ~Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  const std::string& algorithm() const { return algorithm_; }
  /// Full parameters: defaults merged with user values (always includes "contamination").
  const json& params() const { return params_; }

  void fit(MatrixView X);
  std::vector<float> score_samples(MatrixView X) const;
  std::vector<int> predict(MatrixView X) const;
  /// Labels for precomputed scores: 1 where score > threshold().
  std::vector<int> labels_for(const std::vector<float>& scores) const;

  bool is_fitted() const { return fitted_; }
  std::size_t n_features() const { return n_features_; }
  /// The decision threshold on scores (float32-exact). NotFittedError before fit.
  float threshold() const;
  /// Contamination as given ("auto" or a number in (0, 0.5]).
  const json& contamination() const { return params_.at("contamination"); }
  /// Training scores as computed during fit (PyOD's decision_scores_). Empty after restore(), and empty when the
  /// threshold did not need them (Isolation Forest with contamination "auto" skips scoring the training set).
  const std::vector<float>& training_scores() const { return training_scores_; }
  /// Up to 32 training rows kept for export golden vectors, row-major: the 8 most anomalous (among the first
  /// 8192 rows when training scores were skipped) and the earliest others.
  const std::vector<float>& reference_rows() const { return reference_rows_; }

  /// Complete fitted state as JSON (binary blobs for float arrays); restore() reverses it bit-exactly.
  json state() const;
  /// Restores a state written by state(). Throws CorruptModel on a malformed state.
  void restore(const json& state);

  /// Threads used by fit/score (0 = all cores). Results never depend on it.
  int n_jobs() const;

 protected:
  Detector(std::string algorithm, json params);
  /// Fits on validated X; returns the training scores (e.g. LOF/KNN exclude each point from its own neighbours),
  /// or an empty vector to let the base class score X with score_impl only when it needs the scores.
  virtual std::vector<float> fit_impl(MatrixView X) = 0;
  /// Scores validated X into out[0..rows).
  virtual void score_impl(MatrixView X, float* out) const = 0;
  virtual json model_state() const = 0;
  virtual void load_model_state(const json& state) = 0;
  /// Threshold when contamination is "auto"; default: 90th percentile of training scores.
  virtual double auto_threshold(const std::vector<float>& training_scores) const;
  /// True when auto_threshold() ignores the training scores (e.g. Isolation Forest's fixed 0.5), so fit can skip them.
  virtual bool auto_threshold_is_fixed() const { return false; }
  /// Minimum number of training rows (DataError below it).
  virtual std::size_t min_rows() const { return 1; }
  /// A parameter the data forced down (sklearn's rule: max_samples above n, n_neighbors above n - 1): warns on
  /// stderr (spdlog) and records `used` in params(), so the stored parameters say what the fit really used.
  void clip_param(const std::string& name, const json& used, const std::string& why);

 private:
  std::string algorithm_;
  json params_;
  bool fitted_ = false;
  std::size_t n_features_ = 0;
  float threshold_ = 0.0f;
  std::vector<float> training_scores_;
  std::vector<float> reference_rows_;
};

/// numpy.percentile(values, q) with linear interpolation, q in [0, 100]. Throws DataError on empty input.
double percentile(std::vector<float> values, double q);

/// Helpers for subclasses' model_state(): float/int arrays as JSON binary blobs (bit-exact, compact in msgpack).
json to_blob(const std::vector<float>& v);
json to_blob(const std::vector<double>& v);
json to_blob(const std::vector<std::int32_t>& v);
std::vector<float> floats_from_blob(const json& j, const std::string& field);
std::vector<double> doubles_from_blob(const json& j, const std::string& field);
std::vector<std::int32_t> ints_from_blob(const json& j, const std::string& field);

}  // namespace nomaly
