// Isolation Forest (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008), with scikit-learn 1.2 semantics and
// parameter names (sklearn.ensemble.IsolationForest).
//
// Parameters (registry name "iforest"):
//   n_estimators  int in [1, 100000], default 100 number of isolation trees (sklearn has no upper bound; more
//                 is refused with ParameterError, as ~1 GB of trees is already reached at 100000)
//   max_samples   "auto" | int >= 1 | float in (0, 1], default "auto" = min(256, n)   subsample size psi per tree
//   contamination "auto" | float in (0, 0.5], default "auto"  ("auto" -> decision threshold 0.5, sklearn's offset_)
//   max_features  int >= 1 | float in (0, 1], default 1.0      features drawn (without replacement) per tree
//   bootstrap     bool, default false                          draw the subsample with replacement
//   random_state  int >= 0 | null, default null                seed; null draws one from std::random_device
//   n_jobs        int, default 0 (all cores)                   threads for fit and score; results never depend on it
//
// Score (score_samples, shape [n]): s(x) = 2^(-E[h(x)] / c(psi)), in (0, 1], higher = more anomalous; this is
// the negation of sklearn's score_samples. h(x) = edges from the root to x's leaf + c(n_leaf), where n_leaf is
// the number of subsample rows in that leaf. c(n) = 0 for n <= 1, 1 for n = 2, else 2(ln(n-1) + gamma) - 2(n-1)/n.
// Trees stop at depth ceil(log2 psi) or at a node with one row / all-constant features.
//
// Split thresholds are float32 values t with min <= t < max of the node's feature values, and rows go left when
// x <= t in float32, so an ONNX TreeEnsembleRegressor (BRANCH_LEQ) reproduces the trees exactly. Leaf weights are
// -ln2 (depth + c(n_leaf)) / c(psi), computed in double and stored as float32; the score is exp(mean of weights),
// the mean summed in float64. The ONNX graph sums nodes of <= 32 trees and adds those in float64
// (src/onnx/convert_iforest.cpp), so it keeps parity at any tree count.
//
// Errors: ParameterError for a bad parameter; DataError from Detector for bad data.
#pragma once

#include <cstdint>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

/// c(n): the average path length of an unsuccessful BST search among n points (Liu et al. 2008, eq. 1).
double iforest_average_path_length(double n);

class IsolationForest : public Detector {
 public:
  /// One node of a tree. Internal: feature >= 0, x[feature] <= threshold goes to `left`, else `right`.
  /// Leaf: feature == -1, `value` = -ln2 (depth + c(n_leaf)) / c(psi), `n_samples` = n_leaf.
  struct Node {
    std::int32_t feature;
    float threshold;
    std::int32_t left;
    std::int32_t right;
    float value;
    std::int32_t n_samples;
  };
  /// Nodes of all trees, each tree contiguous with its root first (pre-order); tree t starts at tree_offsets()[t].
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<std::int32_t>& tree_offsets() const { return tree_offsets_; }
  std::size_t n_trees() const { return tree_offsets_.size(); }
  /// The subsample size psi used for every tree.
  std::size_t max_samples() const { return psi_; }

  explicit IsolationForest(const json& params);

 protected:
  std::vector<float> fit_impl(MatrixView X) override;
  void score_impl(MatrixView X, float* out) const override;
  json model_state() const override;
  void load_model_state(const json& state) override;
  double auto_threshold(const std::vector<float>&) const override { return 0.5; }
  bool auto_threshold_is_fixed() const override { return true; }

 private:
  // Scoring layout: every node's two children by global index (a leaf points to itself twice), so that
  // a fixed number of branch-free steps reaches every row's leaf and several rows can walk in lockstep.
  struct Step {
    std::int32_t feature;
    float threshold;
    std::int32_t child[2];  // [0]: x <= threshold, [1]: x > threshold
  };
  void build_steps();
  void build_perfect();

  // Perfect-tree layout, used when depth_limit_ <= kMaxPerfectDepth (psi = 256 gives depth 8): tree t's
  // 2^D - 1 split slots in heap order (children of slot k at 2k + 1 and 2k + 2), so a step needs no child
  // load; a leaf above depth D continues as pass-through slots (threshold +inf: every row goes left).
  struct Split {
    std::int32_t feature;
    float threshold;
  };
  static constexpr int kMaxPerfectDepth = 10;
  std::vector<Split> perfect_splits_;   // n_trees x (2^D - 1)
  std::vector<float> perfect_leaves_;   // n_trees x 2^D

  std::size_t psi_ = 0;
  int depth_limit_ = 0;
  std::vector<Node> nodes_;
  std::vector<std::int32_t> tree_offsets_;
  std::vector<Step> steps_;
  std::vector<float> leaf_values_;
};

}  // namespace nomaly
