// The exact k-nearest-neighbour subgraph shared by the LOF and KNN converters (convert_knn.cpp).
//
// Rows are centred on the training mean and scaled by a power of two (no cancellation of a common offset, no
// float32 overflow or underflow of squares). Candidates: |y|^2 - 2 x.Y^T, the squared distance less the
// per-row constant |x|^2 (one Gemm), and TopK(largest=0) of
// m = min(n, 2k + 8) of them. Exact: the candidates' rows are gathered and their squared distances recomputed as
// ReduceSumSquare(y - x), which is never negative and exact for coincident points, then TopK(k, largest=0) again
// over the candidates re-sorted by training index (an int64 TopK), so exact ties go to the lower index.
// The GEMM form is only used to choose candidates, so its float32 cancellation cannot reach the scores unless a
// true neighbour falls outside the m candidates. TopK breaks ties by lower index, as the native search does. Use once per graph (fixed TopK output names).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nomaly/onnx/graph_builder.hpp"

namespace nomaly::detail {

struct KnnGraph {
  std::string dist;     ///< [N, k] float, Euclidean distances in the input's units, ascending
  std::string index;    ///< [N, k] int64, training row of each neighbour
};

/// train: row-major [n, d] float32 training rows (an initializer of the graph); k <= n.
KnnGraph knn_subgraph(onnx_build::GraphBuilder& g, const std::string& x, const std::vector<float>& train, std::size_t n,
                      std::size_t d, std::size_t k);

}  // namespace nomaly::detail
