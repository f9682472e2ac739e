// The exact k-nearest-neighbour subgraph shared by the LOF and KNN converters (knn_graph.cpp).
//
// Parity with the native search (neighbors.hpp ranks by the double sum of (x_j - y_j)^2, ties to the lower
// training index) at any distance that float32 inputs can reach:
//  1. candidates: the m = min(n, 2k + 16) smallest of |y|^2 - 2 x.y over the training rows, in double and on
//     rows centred on the training mean (one Gemm; the per-row |x|^2 does not change the order);
//  2. exact stage: the candidates, re-sorted by training index, are gathered and their squared distances
//     recomputed in double as ReduceSumSquare(y - x) (differences of float32 values, exact in double), then
//     TopK(k) (ties to the lower index);
//  3. certificate: the expanded value of every row is within E = (4d + 16) u (|x - mu|^2 + max |y - mu|^2)
//     (u = 2^-53) of the native squared distance less |x - mu|^2, so when the m-th candidate value exceeds the
//     k-th by more than 2E no row left out can rank in the native top k. Rows without the certificate (more
//     than m - k rows within 2E of the k-th: exact duplicates or clusters at the float32 resolution) are
//     redone by a Loop that ranks all n training rows exactly (ScatterND into the result).
// Rows are scored in chunks (an ONNX Loop, chunk_rows below) so that no [rows, n] buffer outgrows ~128 MiB.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "nomaly/onnx/graph_builder.hpp"

namespace nomaly::detail {

struct KnnGraph {
  std::string sq_dist;  ///< [B, k] double, squared Euclidean distances in the input's units, ascending
  std::string index;    ///< [B, k] int64, training row of each neighbour
};

/// Training-set constants (initializers) of the kNN subgraph, added once per graph.
struct KnnConstants {
  std::string rows;        ///< [n, d] float training rows
  std::string mean;        ///< [d] double centre
  std::string minus2_t;    ///< [d, n] double, -2 (y - mean)^T
  std::string sq_norms;    ///< [n] double |y - mean|^2
  std::string cert_bias;   ///< [] double max |y - mean|^2
  std::size_t n = 0, d = 0, k = 0, m = 0;
};

/// train: row-major [n, d] float32 training rows; 1 <= k <= n.
KnnConstants knn_constants(onnx_build::GraphBuilder& g, const std::vector<float>& train, std::size_t n, std::size_t d,
                           std::size_t k);

/// The k nearest training rows of each row of x ([B, d] float), exact as described above.
KnnGraph knn_subgraph(onnx_build::GraphBuilder& g, const std::string& x, const KnnConstants& c);

/// Rows per chunk for a training set of n rows: the [chunk, n] double candidate matrix and the [chunk, m, d]
/// exact stage stay within ~128 MiB. Recorded as metadata nomaly.chunk_rows.
std::size_t knn_chunk_rows(std::size_t n, std::size_t d, std::size_t m);

/// Runs body on row chunks of x ([N, d] float) of at most chunk_rows rows (an ONNX Loop; the last chunk is
/// zero-padded and the padding dropped) and returns the concatenated float [N] result. body returns a float
/// [rows] value for its [rows, d] input.
std::string score_in_row_chunks(onnx_build::GraphBuilder& g, const std::string& x, std::size_t chunk_rows,
                                const std::function<std::string(const std::string&)>& body);

}  // namespace nomaly::detail
