// LOF -> the exact kNN subgraph (knn_graph.hpp); the training k-distances and lrd are initializers gathered by
// neighbour index: score = mean(lrd[o]) * (mean(max(d(x, o), k_distance[o])) + 1e-10), which is sklearn's
// mean(lrd[o] / lrd(x)) with lrd(x) = 1 / (mean reach + 1e-10).
#include "nomaly/detectors/lof.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/knn_graph.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::Attr;

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* lof = dynamic_cast<const LocalOutlierFactor*>(&det);
  if (!lof) throw OnnxExportError("lof: detector is not a LocalOutlierFactor");
  const std::size_t n = lof->n_train(), k = lof->n_neighbors_fitted();
  const KnnGraph nn = knn_subgraph(g, x, lof->train_rows(), n, lof->n_features(), k);
  const auto ni = static_cast<std::int64_t>(n);
  const std::string kdist = g.initializer("train_k_distance", to_float(lof->k_distances()), {ni});
  const std::string lrd = g.initializer("train_lrd", to_float(lof->lrd()), {ni});
  const std::vector<Attr> gather0{Attr{"axis", std::int64_t{0}}};
  const std::vector<Attr> over_k{Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}};
  const std::string& dist = nn.dist;
  const std::string reach = g.node("Max", {dist, g.node("Gather", {kdist, nn.index}, gather0)});
  const std::string inv_lrd = g.node("Add", {g.node("ReduceMean", {reach}, over_k), g.scalar("lrd_eps", 1e-10f)});
  const std::string mean_lrd = g.node("ReduceMean", {g.node("Gather", {lrd, nn.index}, gather0)}, over_k);
  doc = "Local Outlier Factor (Breunig et al. 2000) of x against the training set, sklearn's -score_samples "
        "(novelty=True); about 1 for inliers, higher = more anomalous.";
  return g.node("Mul", {mean_lrd, inv_lrd});
}

}  // namespace

void register_lof_converter() { register_onnx_converter("lof", convert); }

}  // namespace nomaly::detail
