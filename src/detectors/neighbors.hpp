// Exact Euclidean k-nearest-neighbour search over a fixed training set, shared by LOF and KNN.
//
// Neighbours are ranked by (exact squared distance in double, training index): the distance is the sequential
// double sum of (x_j - y_j)^2 over j, and ties go to the lower training index, the rule ONNX TopK uses. So the
// neighbour set never depends on the search structure or the thread count, and an ONNX graph that ranks exact
// float32 distances picks the same neighbours except on float32-level near-ties.
//
// Three exact strategies, chosen by (n, d) as measured in neighbors.cpp: a nanoflann k-d tree for low
// dimension; a direct float32 scan over a feature-major copy (d = 8-40, n moderate); and, above d = 40, brute
// force where candidates come from a blocked float32 GEMM (|x|^2 - 2 x.y + |y|^2). Both brute-force paths
// keep every row within a rigorous rounding-error margin of the k-th float32 candidate and re-rank those with
// exact double distances, so all three return the same neighbours.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly::detail {

class NeighborIndex {
 public:
  NeighborIndex();
  ~NeighborIndex();
  NeighborIndex(NeighborIndex&&) noexcept;
  NeighborIndex& operator=(NeighborIndex&&) noexcept;

  /// Indexes the n x d training rows (copied, widened to double).
  void build(MatrixView train);
  std::size_t size() const;
  std::size_t dim() const;

  /// For each row i of X (cols == dim()): the k nearest training rows, sorted by (distance, index).
  /// dist[i*k + r] = Euclidean distance (not squared), idx[i*k + r] = training row.
  /// exclude_self: X is the training set itself and row i is never its own neighbour (other rows at distance 0
  /// still count), as sklearn's kneighbors(X=None). Requires k <= size() (size() - 1 with exclude_self).
  void query(MatrixView X, std::size_t k, bool exclude_self, int n_jobs, std::vector<double>& dist,
             std::vector<std::int32_t>& idx) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nomaly::detail
