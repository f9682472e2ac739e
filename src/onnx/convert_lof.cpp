// LOF -> the exact kNN subgraph (knn_graph.hpp), in double; the training k-distances and lrd are double
// initializers gathered by neighbour index, rows run in chunks (score_in_row_chunks):
// score = mean(lrd[o]) * (mean(max(d(x, o), k_distance[o])) + 1e-10), which is sklearn's mean(lrd[o] / lrd(x))
// with lrd(x) = 1 / (mean reach + 1e-10).
#include "nomaly/detectors/lof.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/knn_graph.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::Attr;

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* lof = dynamic_cast<const LocalOutlierFactor*>(&det);
  if (!lof) throw OnnxExportError("lof: detector is not a LocalOutlierFactor");
  const std::size_t n = lof->n_train(), k = lof->n_neighbors_fitted();
  const KnnConstants c = knn_constants(g, lof->train_rows(), n, lof->n_features(), k);
  const std::size_t chunk = knn_chunk_rows(c.n, c.d, c.m);
  g.metadata("nomaly.chunk_rows", std::to_string(chunk));
  const auto ni = static_cast<std::int64_t>(n);
  const std::string kdist = g.initializer_double("train_k_distance", lof->k_distances(), {ni});
  const std::string lrd = g.initializer_double("train_lrd", lof->lrd(), {ni});
  const std::string eps = g.initializer_double("lrd_eps", {1e-10}, {});
  const std::vector<Attr> gather0{Attr{"axis", std::int64_t{0}}};
  const std::vector<Attr> over_k{Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}};
  doc = "Local Outlier Factor (Breunig et al. 2000) of x against the training set, sklearn's -score_samples "
        "(novelty=True); about 1 for inliers, higher = more anomalous.";
  return score_in_row_chunks(g, x, chunk, [&](const std::string& xs) {
    const KnnGraph nn = knn_subgraph(g, xs, c);
    const std::string dist = g.node("Sqrt", {nn.sq_dist});
    const std::string reach = g.node("Max", {dist, g.node("Gather", {kdist, nn.index}, gather0)});
    const std::string inv_lrd = g.node("Add", {g.node("ReduceMean", {reach}, over_k), eps});
    const std::string mean_lrd = g.node("ReduceMean", {g.node("Gather", {lrd, nn.index}, gather0)}, over_k);
    return g.node("Cast", {g.node("Mul", {mean_lrd, inv_lrd})}, {Attr{"to", std::int64_t{1}}});
  });
}

}  // namespace

void register_lof_converter() { register_onnx_converter("lof", convert); }

}  // namespace nomaly::detail
