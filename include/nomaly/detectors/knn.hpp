// kNN outlier detector (Ramaswamy, Rastogi & Shim, "Efficient Algorithms for Mining Outliers from Large Data
// Sets", SIGMOD 2000; Angiulli & Pizzuti, PKDD 2002 for the mean variant), with the semantics of PyOD's
// pyod.models.knn.KNN (Euclidean metric).
//
// Parameters (registry name "knn"):
//   n_neighbors   int >= 1, default 5               k
//   method        "largest" | "mean" | "median", default "largest"
//                   largest: distance to the k-th neighbour; mean: mean of the k distances;
//                   median: numpy.median of the k distances (mean of the two middle ones for even k)
//   contamination float in (0, 0.5] | "auto", default 0.1 (PyOD's default; "auto" = 90th percentile)
//   n_jobs        int, default 0 (all cores)        threads for neighbour search; results never depend on it
//
// Fit on X [n, d] (n >= k + 1): training score of row p uses its k nearest *other* training rows (p excluded,
// duplicates of p count), as PyOD's fit (NearestNeighbors.kneighbors(X=None)).
// Scoring new rows x [m, d] (score_samples, shape [m]): the k nearest training rows, all eligible, as PyOD's
// decision_function (tree_.query(x, k)). Higher = more anomalous; units are those of the features.
// Neighbours are exact Euclidean in double precision, ranked by (distance, training index).
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data (fewer than k + 1 rows,
// wrong width, NaN/inf); CorruptModel for a damaged saved state.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

namespace detail {
class NeighborIndex;
}

class KnnDetector : public Detector {
 public:
  enum class Method { Largest, Mean, Median };

  explicit KnnDetector(const json& params);
  ~KnnDetector() override;

  std::size_t n_neighbors() const { return k_; }
  Method method() const { return method_; }
  /// Training rows, row-major [n_train, n_features] float32.
  const std::vector<float>& train_rows() const { return train_; }
  std::size_t n_train() const { return n_features() ? train_.size() / n_features() : 0; }

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;
  std::size_t min_rows() const override { return 2; }  // n_neighbors above n - 1 is clipped (with a warning)

 private:
  void rebuild_index();
  float reduce(const double* sorted_dist) const;
  std::size_t k_;
  Method method_;
  std::vector<float> train_;
  std::unique_ptr<detail::NeighborIndex> index_;
};

}  // namespace nomaly
