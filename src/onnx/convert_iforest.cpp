// Isolation Forest -> ai.onnx.ml.TreeEnsembleRegressor nodes of <= kTreesPerNode trees each (SUM of per-leaf
// -ln2 h / c(psi)) -> float64 sum of the partial sums, / n_trees -> Exp -> float32.
// Parity at any tree count (issue 14 §5): ORT accumulates a TreeEnsemble in float32, which drifted 1.17e-5 from
// native's float64 sum at 20,000 trees in one node. All leaf values share a sign, so a float32 sum of <= 32 of them
// is within 31 * 2^-24 (< 2e-6) of exact relative to the partial sum; adding the partials in float64 keeps that
// bound for the whole forest, whatever its size. Few nodes, not skl2onnx's ~27 per tree, so sessions load fast.
#include <algorithm>
#include <cmath>

#include "nomaly/detectors/isolation_forest.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

constexpr std::size_t kTreesPerNode = 32;

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* forest = dynamic_cast<const IsolationForest*>(&det);
  if (!forest) throw OnnxExportError("iforest: detector is not an IsolationForest");
  const auto& nodes = forest->nodes();
  const auto& offsets = forest->tree_offsets();
  using onnx_build::Attr;
  std::vector<std::string> partials;
  for (std::size_t first = 0; first < offsets.size(); first += kTreesPerNode) {
    std::vector<std::int64_t> tree_ids, node_ids, feature_ids, true_ids, false_ids;
    std::vector<std::int64_t> target_tree, target_node, target_id;
    std::vector<float> thresholds, weights;
    std::vector<std::string> modes;
    for (std::size_t t = first; t < std::min(offsets.size(), first + kTreesPerNode); ++t) {
      const std::size_t begin = static_cast<std::size_t>(offsets[t]);
      const std::size_t end = t + 1 < offsets.size() ? static_cast<std::size_t>(offsets[t + 1]) : nodes.size();
      const auto tree = static_cast<std::int64_t>(t - first);
      for (std::size_t k = begin; k < end; ++k) {
        const auto& n = nodes[k];
        const auto local = static_cast<std::int64_t>(k - begin);
        tree_ids.push_back(tree);
        node_ids.push_back(local);
        const bool leaf = n.feature < 0;
        feature_ids.push_back(leaf ? 0 : n.feature);
        thresholds.push_back(leaf ? 0.0f : n.threshold);
        modes.push_back(leaf ? "LEAF" : "BRANCH_LEQ");
        true_ids.push_back(leaf ? 0 : n.left);
        false_ids.push_back(leaf ? 0 : n.right);
        if (leaf) {
          target_tree.push_back(tree);
          target_node.push_back(local);
          target_id.push_back(0);
          weights.push_back(n.value);
        }
      }
    }
    const std::string sum = g.node("TreeEnsembleRegressor", {x},
                                   {Attr{"n_targets", std::int64_t{1}}, Attr{"aggregate_function", std::string("SUM")},
                                    Attr{"post_transform", std::string("NONE")}, Attr{"nodes_treeids", tree_ids},
                                    Attr{"nodes_nodeids", node_ids}, Attr{"nodes_featureids", feature_ids},
                                    Attr{"nodes_values", thresholds}, Attr{"nodes_modes", modes},
                                    Attr{"nodes_truenodeids", true_ids}, Attr{"nodes_falsenodeids", false_ids},
                                    Attr{"target_treeids", target_tree}, Attr{"target_nodeids", target_node},
                                    Attr{"target_ids", target_id}, Attr{"target_weights", weights}},
                                   onnx_build::kMlDomain);
    partials.push_back(g.node("Cast", {sum}, {Attr{"to", std::int64_t{11}}}));
  }
  const std::string all = partials.size() == 1 ? partials[0] : g.node("Concat", partials, {Attr{"axis", std::int64_t{1}}});
  const std::string total = g.node("ReduceSum", {all, g.initializer_int64("tree_axes", {1}, {1})}, {Attr{"keepdims", std::int64_t{1}}});
  const std::string inv = g.initializer_double("inv_trees", {1.0 / static_cast<double>(offsets.size())}, {});
  const std::string score2d = g.node("Cast", {g.node("Exp", {g.node("Mul", {total, inv})})}, {Attr{"to", std::int64_t{1}}});
  const std::string shape = g.initializer_int64("flat_shape", {-1}, {1});
  doc = "Isolation Forest anomaly score 2^(-E[h(x)]/c(psi)) in (0, 1]; higher = more anomalous, 0.5 is the sklearn "
        "'auto' decision threshold (Liu et al. 2008).";
  return g.node("Reshape", {score2d, shape});
}

}  // namespace

void register_iforest_converter() { register_onnx_converter("iforest", convert); }

}  // namespace nomaly::detail
