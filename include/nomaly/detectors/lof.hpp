// LOF, Local Outlier Factor (Breunig, Kriegel, Ng & Sander, "LOF: Identifying Density-Based Local Outliers",
// SIGMOD 2000), with the semantics of scikit-learn 1.2 sklearn.neighbors.LocalOutlierFactor (novelty=True for
// new points), which PyOD's LOF wraps.
//
// Parameters (registry name "lof"):
//   n_neighbors   int >= 1, default 20      k; capped at n - 1 at fit time, as sklearn (n_neighbors_)
//   metric        "euclidean" (the only metric), default "euclidean"
//   contamination float in (0, 0.5] | "auto", default 0.1 (PyOD's default; "auto" = 90th percentile)
//   n_jobs        int, default 0 (all cores)  threads for neighbour search; results never depend on it
//
// Fit on X [n, d] (n >= 2): for each training row p, its k nearest other training rows N(p) (p itself excluded,
// duplicates of p count, as sklearn's kneighbors(X=None)); k-distance(p) = distance to the k-th of them;
// reach(p, o) = max(d(p, o), k-distance(o)); lrd(p) = 1 / (mean_{o in N(p)} reach(p, o) + 1e-10);
// training score(p) = mean_{o in N(p)} lrd(o) / lrd(p) = sklearn's -negative_outlier_factor_.
// Scoring new rows x [m, d] (score_samples, shape [m]): the same with N(x) = the k nearest training rows (all of
// them eligible, so a training row scored again has itself at distance 0): sklearn's -score_samples(x).
// Higher = more anomalous; about 1 for inliers.
//
// Neighbours are exact Euclidean (double precision) and ranked by (distance, training index); sklearn's trees
// break exact distance ties in traversal order instead, which can change a score only where several training
// rows lie at exactly the k-distance (e.g. integer-valued data). All arithmetic is double; scores are
// rounded to float32 at the end.
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data (fewer than 2 rows, wrong
// width, NaN/inf); CorruptModel for a damaged saved state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

namespace detail {
class NeighborIndex;
}

class LocalOutlierFactor : public Detector {
 public:
  explicit LocalOutlierFactor(const json& params);
  ~LocalOutlierFactor() override;

  /// k actually used (sklearn's n_neighbors_ = min(n_neighbors, n - 1)).
  std::size_t n_neighbors_fitted() const { return k_; }
  /// Training rows, row-major [n_train, n_features] float32 (the data the model was fitted on).
  const std::vector<float>& train_rows() const { return train_; }
  std::size_t n_train() const { return n_features() ? train_.size() / n_features() : 0; }
  /// k-distance of every training row [n_train] (sklearn's _distances_fit_X_[:, k-1]).
  const std::vector<double>& k_distances() const { return kdist_; }
  /// Local reachability density of every training row [n_train] (sklearn's _lrd).
  const std::vector<double>& lrd() const { return lrd_; }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;
  std::size_t min_rows() const override { return 2; }
  /// contamination "auto": sklearn's LocalOutlierFactor sets offset_ = -1.5 on its score_samples (= -LOF), so a
  /// row is an outlier when LOF > 1.5; nomaly's score is the LOF itself, hence the threshold 1.5.
  double auto_threshold(const std::vector<float>&) const override { return 1.5; }

 private:
  void rebuild_index();
  std::size_t k_ = 0;
  std::vector<float> train_;
  std::vector<double> kdist_, lrd_;
  std::unique_ptr<detail::NeighborIndex> index_;
};

}  // namespace nomaly
