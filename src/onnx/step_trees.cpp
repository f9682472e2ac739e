#include "onnx/step_trees.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "nomaly/detector.hpp"
#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace {

constexpr int kUlpWindow = 4;  // double-precision breakpoints are within one float ulp of the float transition

float up(float f) { return std::nextafter(f, std::numeric_limits<float>::infinity()); }
float down(float f) { return std::nextafter(f, -std::numeric_limits<float>::infinity()); }

}  // namespace

std::vector<float> float_cut_points(const std::function<long(float)>& category, const std::vector<double>& breakpoints) {
  constexpr float kMax = std::numeric_limits<float>::max();
  std::vector<float> cuts;
  for (double bp : breakpoints) {
    if (!std::isfinite(bp)) continue;
    float f = static_cast<float>(std::clamp(bp, -static_cast<double>(kMax), static_cast<double>(kMax)));
    for (int s = 0; s < kUlpWindow && f > -kMax; ++s) f = down(f);
    for (int s = 0; s < 2 * kUlpWindow && f < kMax; ++s, f = up(f))
      if (category(f) != category(up(f))) cuts.push_back(f);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

void merge_equal_pieces(std::vector<float>& thresholds, std::vector<float>& values, std::size_t n_targets) {
  std::vector<float> t_out, v_out(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n_targets));
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    const float* prev = v_out.data() + v_out.size() - n_targets;
    const float* next = values.data() + (i + 1) * n_targets;
    if (std::memcmp(prev, next, n_targets * sizeof(float)) == 0) continue;
    t_out.push_back(thresholds[i]);
    v_out.insert(v_out.end(), next, next + n_targets);
  }
  thresholds = std::move(t_out);
  values = std::move(v_out);
}

namespace {

struct Ensemble {
  std::vector<std::int64_t> tree_ids, node_ids, feature_ids, true_ids, false_ids;
  std::vector<std::int64_t> target_tree, target_node, target_id;
  std::vector<float> node_values, weights;
  std::vector<std::string> modes;
};

// Pre-order balanced tree over pieces [lo, hi]; returns the local id of the subtree root.
std::int64_t build(Ensemble& e, std::int64_t tree, std::int64_t& next_id, const std::vector<float>& t,
                   const std::vector<float>& v, std::size_t T, std::size_t lo, std::size_t hi) {
  const std::int64_t id = next_id++;
  const std::size_t slot = e.node_ids.size();
  e.tree_ids.push_back(tree);
  e.node_ids.push_back(id);
  e.feature_ids.push_back(tree);
  e.true_ids.push_back(0);
  e.false_ids.push_back(0);
  if (lo == hi) {
    e.node_values.push_back(0.0f);
    e.modes.emplace_back("LEAF");
    for (std::size_t k = 0; k < T; ++k) {
      e.target_tree.push_back(tree);
      e.target_node.push_back(id);
      e.target_id.push_back(static_cast<std::int64_t>(k));
      e.weights.push_back(v[lo * T + k]);
    }
    return id;
  }
  const std::size_t mid = lo + (hi - lo) / 2;  // pieces lo..mid are those with x <= t[mid]
  e.node_values.push_back(t[mid]);
  e.modes.emplace_back("BRANCH_LEQ");
  const std::int64_t left = build(e, tree, next_id, t, v, T, lo, mid);
  const std::int64_t right = build(e, tree, next_id, t, v, T, mid + 1, hi);
  e.true_ids[slot] = left;
  e.false_ids[slot] = right;
  return id;
}

}  // namespace

std::string add_step_tree_ensemble(onnx_build::GraphBuilder& g, const std::string& x,
                                   const std::vector<std::vector<float>>& thresholds,
                                   const std::vector<std::vector<float>>& values, std::size_t n_targets) {
  if (thresholds.size() != values.size() || thresholds.empty() || n_targets == 0)
    throw OnnxExportError("step trees: inconsistent step-function tables");
  Ensemble e;
  for (std::size_t j = 0; j < thresholds.size(); ++j) {
    const std::size_t pieces = thresholds[j].size() + 1;
    if (values[j].size() != pieces * n_targets)
      throw OnnxExportError("step trees: feature " + std::to_string(j) + " has " + std::to_string(values[j].size()) +
                            " leaf values for " + std::to_string(pieces) + " pieces");
    std::int64_t next_id = 0;
    build(e, static_cast<std::int64_t>(j), next_id, thresholds[j], values[j], n_targets, 0, pieces - 1);
  }
  using onnx_build::Attr;
  return g.node("TreeEnsembleRegressor", {x},
                {Attr{"n_targets", static_cast<std::int64_t>(n_targets)}, Attr{"aggregate_function", std::string("SUM")},
                 Attr{"post_transform", std::string("NONE")}, Attr{"nodes_treeids", e.tree_ids},
                 Attr{"nodes_nodeids", e.node_ids}, Attr{"nodes_featureids", e.feature_ids},
                 Attr{"nodes_values", e.node_values}, Attr{"nodes_modes", e.modes},
                 Attr{"nodes_truenodeids", e.true_ids}, Attr{"nodes_falsenodeids", e.false_ids},
                 Attr{"target_treeids", e.target_tree}, Attr{"target_nodeids", e.target_node},
                 Attr{"target_ids", e.target_id}, Attr{"target_weights", e.weights}},
                onnx_build::kMlDomain);
}

json step_tables_state(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values) {
  std::vector<float> t_flat, v_flat;
  std::vector<std::int32_t> pieces;
  for (std::size_t j = 0; j < thresholds.size(); ++j) {
    pieces.push_back(static_cast<std::int32_t>(thresholds[j].size() + 1));
    t_flat.insert(t_flat.end(), thresholds[j].begin(), thresholds[j].end());
    v_flat.insert(v_flat.end(), values[j].begin(), values[j].end());
  }
  return json{{"pieces", to_blob(pieces)}, {"thresholds", to_blob(t_flat)}, {"values", to_blob(v_flat)}};
}

void load_step_tables(const json& state, std::size_t n_features, std::size_t n_targets,
                      std::vector<std::vector<float>>& thresholds, std::vector<std::vector<float>>& values) {
  const auto pieces = ints_from_blob(state, "pieces");
  const auto t_flat = floats_from_blob(state, "thresholds");
  const auto v_flat = floats_from_blob(state, "values");
  if (pieces.size() != n_features) throw CorruptModel("step tables: expected " + std::to_string(n_features) + " features");
  thresholds.assign(n_features, {});
  values.assign(n_features, {});
  std::size_t t_at = 0, v_at = 0;
  for (std::size_t j = 0; j < n_features; ++j) {
    if (pieces[j] < 1) throw CorruptModel("step tables: feature " + std::to_string(j) + " has no pieces");
    const auto p = static_cast<std::size_t>(pieces[j]);
    if (t_at + p - 1 > t_flat.size() || v_at + p * n_targets > v_flat.size())
      throw CorruptModel("step tables: truncated tables");
    thresholds[j].assign(t_flat.begin() + static_cast<std::ptrdiff_t>(t_at), t_flat.begin() + static_cast<std::ptrdiff_t>(t_at + p - 1));
    values[j].assign(v_flat.begin() + static_cast<std::ptrdiff_t>(v_at), v_flat.begin() + static_cast<std::ptrdiff_t>(v_at + p * n_targets));
    if (!std::is_sorted(thresholds[j].begin(), thresholds[j].end()))
      throw CorruptModel("step tables: unsorted thresholds for feature " + std::to_string(j));
    t_at += p - 1;
    v_at += p * n_targets;
  }
  if (t_at != t_flat.size() || v_at != v_flat.size()) throw CorruptModel("step tables: trailing data");
}

}  // namespace nomaly::detail
