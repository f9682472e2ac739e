// Isolation Forest -> one ai.onnx.ml.TreeEnsembleRegressor (AVERAGE of per-leaf -ln2 h / c(psi)) -> Exp.
// The forest is a single node, not skl2onnx's ~27 nodes per tree, so sessions load fast.
#include <cmath>

#include "nomaly/detectors/isolation_forest.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* forest = dynamic_cast<const IsolationForest*>(&det);
  if (!forest) throw OnnxExportError("iforest: detector is not an IsolationForest");
  std::vector<std::int64_t> tree_ids, node_ids, feature_ids, true_ids, false_ids;
  std::vector<std::int64_t> target_tree, target_node, target_id;
  std::vector<float> thresholds, weights;
  std::vector<std::string> modes;
  const auto& nodes = forest->nodes();
  const auto& offsets = forest->tree_offsets();
  for (std::size_t t = 0; t < offsets.size(); ++t) {
    const std::size_t begin = static_cast<std::size_t>(offsets[t]);
    const std::size_t end = t + 1 < offsets.size() ? static_cast<std::size_t>(offsets[t + 1]) : nodes.size();
    for (std::size_t k = begin; k < end; ++k) {
      const auto& n = nodes[k];
      const auto local = static_cast<std::int64_t>(k - begin);
      tree_ids.push_back(static_cast<std::int64_t>(t));
      node_ids.push_back(local);
      const bool leaf = n.feature < 0;
      feature_ids.push_back(leaf ? 0 : n.feature);
      thresholds.push_back(leaf ? 0.0f : n.threshold);
      modes.push_back(leaf ? "LEAF" : "BRANCH_LEQ");
      true_ids.push_back(leaf ? 0 : n.left);
      false_ids.push_back(leaf ? 0 : n.right);
      if (leaf) {
        target_tree.push_back(static_cast<std::int64_t>(t));
        target_node.push_back(local);
        target_id.push_back(0);
        weights.push_back(n.value);
      }
    }
  }
  using onnx_build::Attr;
  const std::string mean_log = g.node("TreeEnsembleRegressor", {x},
                                      {Attr{"n_targets", std::int64_t{1}}, Attr{"aggregate_function", std::string("AVERAGE")},
                                       Attr{"post_transform", std::string("NONE")}, Attr{"nodes_treeids", tree_ids},
                                       Attr{"nodes_nodeids", node_ids}, Attr{"nodes_featureids", feature_ids},
                                       Attr{"nodes_values", thresholds}, Attr{"nodes_modes", modes},
                                       Attr{"nodes_truenodeids", true_ids}, Attr{"nodes_falsenodeids", false_ids},
                                       Attr{"target_treeids", target_tree}, Attr{"target_nodeids", target_node},
                                       Attr{"target_ids", target_id}, Attr{"target_weights", weights}},
                                      onnx_build::kMlDomain);
  const std::string score2d = g.node("Exp", {mean_log});
  const std::string shape = g.initializer_int64("flat_shape", {-1}, {1});
  doc = "Isolation Forest anomaly score 2^(-E[h(x)]/c(psi)) in (0, 1]; higher = more anomalous, 0.5 is the sklearn "
        "'auto' decision threshold (Liu et al. 2008).";
  return g.node("Reshape", {score2d, shape});
}

}  // namespace

void register_iforest_converter() { register_onnx_converter("iforest", convert); }

}  // namespace nomaly::detail
