// KNN -> the exact kNN subgraph (knn_graph.hpp) -> Sqrt -> ReduceMax | ReduceMean | mean of the middle pair, in
// double as the native reduce, cast to float at the end; rows run in chunks (score_in_row_chunks).
#include <string>

#include "nomaly/detectors/knn.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/knn_graph.hpp"

namespace nomaly::detail {

using onnx_build::Attr;

namespace {

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* knn = dynamic_cast<const KnnDetector*>(&det);
  if (!knn) throw OnnxExportError("knn: detector is not a KnnDetector");
  const std::size_t k = knn->n_neighbors();
  const KnnConstants c = knn_constants(g, knn->train_rows(), knn->n_train(), knn->n_features(), k);
  const std::size_t chunk = knn_chunk_rows(c.n, c.d, c.m);
  g.metadata("nomaly.chunk_rows", std::to_string(chunk));
  const std::vector<Attr> over_k{Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}};
  const auto method = knn->method();
  switch (method) {
    case KnnDetector::Method::Largest:
      doc = "Distance to the k-th nearest training row (PyOD KNN, method largest); higher = more anomalous.";
      break;
    case KnnDetector::Method::Mean:
      doc = "Mean distance to the k nearest training rows (PyOD KNN, method mean); higher = more anomalous.";
      break;
    case KnnDetector::Method::Median:
      doc = "Median distance to the k nearest training rows (PyOD KNN, method median); higher = more anomalous.";
      break;
  }
  return score_in_row_chunks(g, x, chunk, [&](const std::string& xs) {
    const std::string dist = g.node("Sqrt", {knn_subgraph(g, xs, c).sq_dist});  // [B, k] double, ascending
    std::string score;
    if (method == KnnDetector::Method::Largest) {
      score = g.node("ReduceMax", {dist}, over_k);
    } else if (method == KnnDetector::Method::Mean) {
      score = g.node("ReduceMean", {dist}, over_k);
    } else {
      const std::string lo = g.initializer_int64("median_lo", {static_cast<std::int64_t>((k - 1) / 2)}, {});
      const std::string hi = g.initializer_int64("median_hi", {static_cast<std::int64_t>(k / 2)}, {});
      const std::string a = g.node("Gather", {dist, lo}, {Attr{"axis", std::int64_t{1}}});
      const std::string b = g.node("Gather", {dist, hi}, {Attr{"axis", std::int64_t{1}}});
      score = g.node("Mul", {g.node("Add", {a, b}), g.initializer_double("half", {0.5}, {})});
    }
    return g.node("Cast", {score}, {Attr{"to", std::int64_t{1}}});
  });
}


}  // namespace

void register_knn_converter() { register_onnx_converter("knn", convert); }

}  // namespace nomaly::detail
