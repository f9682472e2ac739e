#include "nomaly/detectors/isolation_forest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_set>

#include "core/parallel.hpp"
#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

double iforest_average_path_length(double n) {
  constexpr double kEulerGamma = 0.57721566490153286060;
  if (n <= 1.0) return 0.0;
  if (n <= 2.0) return 1.0;
  return 2.0 * (std::log(n - 1.0) + kEulerGamma) - 2.0 * (n - 1.0) / n;
}

namespace {

std::vector<ParamSpec> iforest_params() {
  return {
      {"n_estimators", 100, "int in [1, 100000]", "number of isolation trees"},
      {"max_samples", "auto", "\"auto\" | int >= 2 | float in (0, 1]", "rows drawn per tree; auto = min(256, n)"},
      {"contamination", "auto", "\"auto\" | float in (0, 0.5]", "expected outlier share; auto = threshold 0.5"},
      {"max_features", 1.0, "int >= 1 | float in (0, 1]", "features drawn per tree"},
      {"bootstrap", false, "bool", "draw rows with replacement"},
      {"random_state", nullptr, "int >= 0 | null", "seed; null = random"},
      {"n_jobs", 0, "int (0 = all cores)", "threads for fit and score"},
  };
}

/// Rows per tree, as sklearn: "auto" = min(256, n); an int above n is n (sklearn warns: clip_param in fit); a
/// fraction f is int(f * n), and fewer than 2 rows is an error (sklearn raises; one row isolates nothing).
std::size_t resolve_psi(const json& p, std::size_t n) {
  const json& v = p.at("max_samples");
  if (v.is_string()) {
    if (v.get<std::string>() != "auto") throw ParameterError("parameter 'max_samples' expects \"auto\", an int or a float, got \"" + v.get<std::string>() + "\"");
    return std::min<std::size_t>(256, n);
  }
  if (v.is_number_integer()) return std::min<std::size_t>(static_cast<std::size_t>(v.get<std::int64_t>()), n);
  const double f = v.get<double>();
  const auto psi = static_cast<std::size_t>(f * static_cast<double>(n));
  if (psi < 2 && n >= 2)
    throw ParameterError("parameter 'max_samples' = " + v.dump() + " of " + std::to_string(n) + " rows is " +
                         std::to_string(psi) + " row(s) per tree; Isolation Forest needs at least 2 (raise max_samples)");
  return std::min(psi, n);
}

std::size_t resolve_max_features(const json& v, std::size_t d) {
  if (v.is_number_integer()) {
    const auto k = v.get<std::int64_t>();
    if (static_cast<std::size_t>(k) > d)
      throw ParameterError("parameter 'max_features' = " + std::to_string(k) + " exceeds the " + std::to_string(d) + " features");
    return static_cast<std::size_t>(k);
  }
  return std::max<std::size_t>(1, static_cast<std::size_t>(v.get<double>() * static_cast<double>(d)));
}

// psi distinct row indices out of n (or with replacement for bootstrap), cheap when psi << n.
std::vector<std::uint32_t> draw_rows(std::size_t n, std::size_t psi, bool bootstrap, std::mt19937_64& rng) {
  std::vector<std::uint32_t> rows(psi);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  if (bootstrap) {
    for (auto& r : rows) r = static_cast<std::uint32_t>(pick(rng));
  } else if (psi * 4 < n) {
    std::unordered_set<std::uint32_t> seen;
    seen.reserve(psi * 2);
    for (std::size_t k = 0; k < psi;) {
      const auto r = static_cast<std::uint32_t>(pick(rng));
      if (seen.insert(r).second) rows[k++] = r;
    }
  } else {
    std::vector<std::uint32_t> all(n);
    std::iota(all.begin(), all.end(), 0u);
    for (std::size_t k = 0; k < psi; ++k) {
      std::uniform_int_distribution<std::size_t> d(k, n - 1);
      std::swap(all[k], all[d(rng)]);
    }
    std::copy_n(all.begin(), psi, rows.begin());
  }
  return rows;
}

// Builds one tree over a local copy of its subsample; nodes are appended in pre-order (root first).
class TreeBuilder {
 public:
  TreeBuilder(MatrixView X, const std::vector<std::uint32_t>& rows, std::vector<std::int32_t> features, double c_psi,
              std::mt19937_64& rng)
      : d_(X.cols), features_(std::move(features)), c_psi_(c_psi), rng_(rng) {
    data_.resize(rows.size() * d_);
    for (std::size_t k = 0; k < rows.size(); ++k) std::copy_n(X.row(rows[k]), d_, data_.begin() + k * d_);
    idx_.resize(rows.size());
    std::iota(idx_.begin(), idx_.end(), 0u);
    max_depth_ = static_cast<int>(std::ceil(std::log2(static_cast<double>(std::max<std::size_t>(rows.size(), 2)))));
  }

  std::vector<IsolationForest::Node> build() {
    grow(0, idx_.size(), 0);
    return std::move(nodes_);
  }

 private:
  float at(std::uint32_t r, std::int32_t f) const { return data_[r * d_ + static_cast<std::size_t>(f)]; }

  std::int32_t leaf(std::size_t n, int depth) {
    const double h = depth + iforest_average_path_length(static_cast<double>(n));
    nodes_.push_back({-1, 0.0f, -1, -1, static_cast<float>(-std::log(2.0) * h / c_psi_), static_cast<std::int32_t>(n)});
    return static_cast<std::int32_t>(nodes_.size() - 1);
  }

  std::int32_t grow(std::size_t begin, std::size_t end, int depth) {
    const std::size_t n = end - begin;
    if (depth >= max_depth_ || n <= 1) return leaf(n, depth);
    // Try the tree's features in random order until one is not constant in this node (as sklearn's splitter).
    std::vector<std::int32_t> order = features_;
    for (std::size_t k = 0; k < order.size(); ++k) {
      std::uniform_int_distribution<std::size_t> pick(k, order.size() - 1);
      std::swap(order[k], order[pick(rng_)]);
      const std::int32_t f = order[k];
      float lo = at(idx_[begin], f), hi = lo;
      for (std::size_t i = begin + 1; i < end; ++i) {
        const float v = at(idx_[i], f);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (!(hi > lo)) continue;
      // A float32 threshold with lo <= t < hi keeps both sides non-empty and is exactly what ONNX compares against.
      std::uniform_real_distribution<double> u(lo, hi);
      float t = static_cast<float>(u(rng_));
      if (t >= hi) t = std::nextafter(hi, lo);
      if (t < lo) t = lo;
      const auto mid = static_cast<std::size_t>(
          std::partition(idx_.begin() + static_cast<std::ptrdiff_t>(begin), idx_.begin() + static_cast<std::ptrdiff_t>(end),
                         [&](std::uint32_t r) { return at(r, f) <= t; }) -
          idx_.begin());
      const auto id = static_cast<std::int32_t>(nodes_.size());
      nodes_.push_back({f, t, -1, -1, 0.0f, static_cast<std::int32_t>(n)});
      const std::int32_t l = grow(begin, mid, depth + 1);
      const std::int32_t r = grow(mid, end, depth + 1);
      nodes_[static_cast<std::size_t>(id)].left = l;
      nodes_[static_cast<std::size_t>(id)].right = r;
      return id;
    }
    return leaf(n, depth);
  }

  std::size_t d_;
  std::vector<std::int32_t> features_;
  double c_psi_;
  std::mt19937_64& rng_;
  std::vector<float> data_;
  std::vector<std::uint32_t> idx_;
  int max_depth_ = 0;
  std::vector<IsolationForest::Node> nodes_;
};

}  // namespace

IsolationForest::IsolationForest(const json& params) : Detector("iforest", params) {
  // 100000 trees of 256 rows already take ~1 GB; a larger count is a typo that would exhaust memory.
  constexpr std::int64_t kMaxEstimators = 100000;
  const std::int64_t n_trees = param_int(params, "n_estimators");
  if (n_trees < 1)
    throw ParameterError("parameter 'n_estimators' must be >= 1, got " + params.at("n_estimators").dump());
  if (n_trees > kMaxEstimators)
    throw ParameterError("parameter 'n_estimators' must be <= " + std::to_string(kMaxEstimators) + ", got " +
                         params.at("n_estimators").dump());
  const json& ms = params.at("max_samples");
  if (ms.is_number_integer()) {
    if (ms.get<std::int64_t>() < 2) throw ParameterError("parameter 'max_samples' must be >= 2, got " + ms.dump());
  } else if (ms.is_number_float()) {
    const double f = ms.get<double>();
    if (!(f > 0.0 && f <= 1.0)) throw ParameterError("parameter 'max_samples' as a fraction must be in (0, 1], got " + ms.dump());
  } else if (!(ms.is_string() && ms.get<std::string>() == "auto")) {
    throw ParameterError("parameter 'max_samples' expects \"auto\", an int >= 2 or a float in (0, 1], got " + ms.dump());
  }
  const json& mf = params.at("max_features");
  if (mf.is_number_integer()) {
    if (mf.get<std::int64_t>() < 1) throw ParameterError("parameter 'max_features' must be >= 1, got " + mf.dump());
  } else if (mf.is_number_float()) {
    const double f = mf.get<double>();
    if (!(f > 0.0 && f <= 1.0)) throw ParameterError("parameter 'max_features' as a fraction must be in (0, 1], got " + mf.dump());
  } else {
    throw ParameterError("parameter 'max_features' expects an int >= 1 or a float in (0, 1], got " + mf.dump());
  }
  param_bool(params, "bootstrap");
  std::uint64_t seed;
  param_seed(params, "random_state", seed);
  param_int(params, "n_jobs");
}

std::vector<float> IsolationForest::fit_impl(MatrixView X) {
  const json& p = params();
  const auto n_trees = static_cast<std::size_t>(param_int(p, "n_estimators"));
  psi_ = resolve_psi(p, X.rows);
  if (psi_ < 2) throw DataError("iforest: needs at least 2 training rows, got " + std::to_string(X.rows));
  if (p.at("max_samples").is_number_integer() && static_cast<std::size_t>(p.at("max_samples").get<std::int64_t>()) > psi_)
    clip_param("max_samples", psi_, "exceeds the " + std::to_string(X.rows) + " training rows");
  const std::size_t k_features = resolve_max_features(p.at("max_features"), X.cols);
  const bool bootstrap = param_bool(p, "bootstrap");
  std::uint64_t seed = 0;
  if (!param_seed(p, "random_state", seed)) seed = std::random_device{}();

  // One seed per tree, drawn up front, so the forest does not depend on the thread count.
  std::mt19937_64 master(seed);
  std::vector<std::uint64_t> seeds(n_trees);
  for (auto& s : seeds) s = master();
  const double c_psi = iforest_average_path_length(static_cast<double>(psi_));

  std::vector<std::vector<Node>> trees(n_trees);
  detail::parallel_blocks(n_trees, 1, n_jobs(), [&](std::size_t b, std::size_t e) {
    for (std::size_t t = b; t < e; ++t) {
      std::mt19937_64 rng(seeds[t]);
      std::vector<std::int32_t> feats(X.cols);
      std::iota(feats.begin(), feats.end(), 0);
      if (k_features < X.cols) {
        for (std::size_t k = 0; k < k_features; ++k) {
          std::uniform_int_distribution<std::size_t> pick(k, X.cols - 1);
          std::swap(feats[k], feats[pick(rng)]);
        }
        feats.resize(k_features);
      }
      const auto rows = draw_rows(X.rows, psi_, bootstrap, rng);
      trees[t] = TreeBuilder(X, rows, std::move(feats), c_psi, rng).build();
    }
  });
  nodes_.clear();
  tree_offsets_.clear();
  for (auto& t : trees) {
    tree_offsets_.push_back(static_cast<std::int32_t>(nodes_.size()));
    nodes_.insert(nodes_.end(), t.begin(), t.end());
  }
  build_steps();
  return {};
}

void IsolationForest::build_steps() {
  steps_.resize(nodes_.size());
  leaf_values_.assign(nodes_.size(), 0.0f);
  depth_limit_ = 0;
  for (std::size_t t = 0; t < tree_offsets_.size(); ++t) {
    const std::int32_t off = tree_offsets_[t];
    const std::size_t end = t + 1 < tree_offsets_.size() ? static_cast<std::size_t>(tree_offsets_[t + 1]) : nodes_.size();
    // Depth of each node from its root; children always come after their parent (pre-order).
    std::vector<int> depth(end - static_cast<std::size_t>(off), 0);
    for (std::size_t k = static_cast<std::size_t>(off); k < end; ++k) {
      const Node& n = nodes_[k];
      const std::size_t local = k - static_cast<std::size_t>(off);
      if (n.feature < 0) {
        steps_[k] = {0, 0.0f, {static_cast<std::int32_t>(k), static_cast<std::int32_t>(k)}};
        leaf_values_[k] = n.value;
        depth_limit_ = std::max(depth_limit_, depth[local]);
      } else {
        steps_[k] = {n.feature, n.threshold, {off + n.left, off + n.right}};
        depth[static_cast<std::size_t>(n.left)] = depth[static_cast<std::size_t>(n.right)] = depth[local] + 1;
      }
    }
  }
  build_perfect();
}

void IsolationForest::build_perfect() {
  perfect_splits_.clear();
  perfect_leaves_.clear();
  if (depth_limit_ > kMaxPerfectDepth) return;
  const std::size_t inner = (std::size_t{1} << depth_limit_) - 1, trees = tree_offsets_.size();
  perfect_splits_.assign(trees * inner, Split{0, std::numeric_limits<float>::infinity()});
  perfect_leaves_.assign(trees * (inner + 1), 0.0f);
  for (std::size_t t = 0; t < trees; ++t) {
    Split* splits = perfect_splits_.data() + t * inner;
    float* leaves = perfect_leaves_.data() + t * (inner + 1);
    // (node, slot) pairs; a leaf met above depth D keeps walking left through pass-through slots.
    std::vector<std::pair<std::int32_t, std::size_t>> todo{{tree_offsets_[t], 0}};
    while (!todo.empty()) {
      const auto [k, slot] = todo.back();
      todo.pop_back();
      if (slot >= inner) {
        leaves[slot - inner] = leaf_values_[static_cast<std::size_t>(k)];
        continue;
      }
      const Step& s = steps_[static_cast<std::size_t>(k)];
      if (s.child[0] == k) {  // leaf: pass-through slot (already +inf), continue left
        todo.emplace_back(k, 2 * slot + 1);
      } else {
        splits[slot] = {s.feature, s.threshold};
        todo.emplace_back(s.child[0], 2 * slot + 1);
        todo.emplace_back(s.child[1], 2 * slot + 2);
      }
    }
  }
}

void IsolationForest::score_impl(MatrixView X, float* out) const {
  constexpr std::size_t kBlock = 256;  // rows per block: their sums stay in L1 while the trees stream through
  constexpr std::size_t kLanes = 16;   // rows walking one tree in lockstep, to overlap their dependent loads
  const std::size_t d = X.cols;
  const double inv_trees = 1.0 / static_cast<double>(tree_offsets_.size());
  const Step* steps = steps_.data();
  const float* values = leaf_values_.data();
  const int depth = depth_limit_;
  if (!perfect_splits_.empty() || (depth == 0 && !perfect_leaves_.empty())) {
    // Same leaves, same summation order as the general walk below, so the scores are bit-identical.
    const std::size_t inner = (std::size_t{1} << depth) - 1;
    detail::parallel_blocks(X.rows, kBlock, n_jobs(), [&](std::size_t b, std::size_t e) {
      double sums[kBlock] = {};
      for (std::size_t t = 0; t < tree_offsets_.size(); ++t) {
        const Split* sp = perfect_splits_.data() + t * inner;
        const float* lv = perfect_leaves_.data() + t * (inner + 1);
        std::size_t i = b;
        for (; i + kLanes <= e; i += kLanes) {
          std::uint32_t k[kLanes] = {};
          const float* x[kLanes];
          for (std::size_t r = 0; r < kLanes; ++r) x[r] = X.data + (i + r) * d;
          for (int level = 0; level < depth; ++level)
            for (std::size_t r = 0; r < kLanes; ++r) {
              const Split s = sp[k[r]];
              k[r] = 2 * k[r] + 1 + (x[r][s.feature] > s.threshold ? 1u : 0u);
            }
          for (std::size_t r = 0; r < kLanes; ++r) sums[i + r - b] += lv[k[r] - inner];
        }
        for (; i < e; ++i) {
          const float* xi = X.data + i * d;
          std::uint32_t k = 0;
          for (int level = 0; level < depth; ++level) k = 2 * k + 1 + (xi[sp[k].feature] > sp[k].threshold ? 1u : 0u);
          sums[i - b] += lv[k - inner];
        }
      }
      for (std::size_t i = b; i < e; ++i) out[i] = static_cast<float>(std::exp(sums[i - b] * inv_trees));
    });
    return;
  }
  detail::parallel_blocks(X.rows, kBlock, n_jobs(), [&](std::size_t b, std::size_t e) {
    double sums[kBlock] = {};
    for (std::int32_t root : tree_offsets_) {
      std::size_t i = b;
      for (; i + kLanes <= e; i += kLanes) {
        std::int32_t k[kLanes];
        const float* x[kLanes];
        for (std::size_t r = 0; r < kLanes; ++r) {
          k[r] = root;
          x[r] = X.data + (i + r) * d;
        }
        for (int level = 0; level < depth; ++level)
          for (std::size_t r = 0; r < kLanes; ++r) {
            const Step& s = steps[k[r]];
            k[r] = s.child[x[r][s.feature] > s.threshold];
          }
        for (std::size_t r = 0; r < kLanes; ++r) sums[i + r - b] += values[k[r]];
      }
      for (; i < e; ++i) {
        const float* xi = X.data + i * d;
        std::int32_t k = root;
        for (int level = 0; level < depth; ++level) k = steps[k].child[xi[steps[k].feature] > steps[k].threshold];
        sums[i - b] += values[k];
      }
    }
    for (std::size_t i = b; i < e; ++i) out[i] = static_cast<float>(std::exp(sums[i - b] * inv_trees));
  });
}

json IsolationForest::model_state() const {
  std::vector<std::int32_t> feature, left, right, count;
  std::vector<float> threshold, value;
  for (const Node& n : nodes_) {
    feature.push_back(n.feature);
    left.push_back(n.left);
    right.push_back(n.right);
    count.push_back(n.n_samples);
    threshold.push_back(n.threshold);
    value.push_back(n.value);
  }
  return json{{"psi", psi_},           {"tree_offsets", to_blob(tree_offsets_)}, {"feature", to_blob(feature)},
              {"left", to_blob(left)}, {"right", to_blob(right)},                 {"n_samples", to_blob(count)},
              {"threshold", to_blob(threshold)}, {"value", to_blob(value)}};
}

void IsolationForest::load_model_state(const json& s) {
  psi_ = s.at("psi").get<std::size_t>();
  tree_offsets_ = ints_from_blob(s, "tree_offsets");
  const auto feature = ints_from_blob(s, "feature"), left = ints_from_blob(s, "left"), right = ints_from_blob(s, "right"),
             count = ints_from_blob(s, "n_samples");
  const auto threshold = floats_from_blob(s, "threshold"), value = floats_from_blob(s, "value");
  const std::size_t m = feature.size();
  if (left.size() != m || right.size() != m || count.size() != m || threshold.size() != m || value.size() != m || m == 0 ||
      tree_offsets_.empty())
    throw CorruptModel("iforest: node arrays have inconsistent sizes");
  // Validate every link so that a damaged state can never walk out of bounds while scoring.
  for (std::size_t t = 0; t < tree_offsets_.size(); ++t) {
    const auto begin = static_cast<std::int64_t>(tree_offsets_[t]);
    const auto end = t + 1 < tree_offsets_.size() ? static_cast<std::int64_t>(tree_offsets_[t + 1]) : static_cast<std::int64_t>(m);
    if (begin < 0 || end > static_cast<std::int64_t>(m) || begin >= end) throw CorruptModel("iforest: bad tree offsets");
    for (std::int64_t k = begin; k < end; ++k) {
      const auto u = static_cast<std::size_t>(k);
      if (feature[u] >= 0) {
        const std::int64_t size = end - begin;
        if (static_cast<std::size_t>(feature[u]) >= n_features() || left[u] <= k - begin || right[u] <= k - begin ||
            left[u] >= size || right[u] >= size)
          throw CorruptModel("iforest: bad node link in tree " + std::to_string(t));
      }
    }
  }
  nodes_.resize(m);
  for (std::size_t k = 0; k < m; ++k) nodes_[k] = {feature[k], threshold[k], left[k], right[k], value[k], count[k]};
  build_steps();
}

namespace detail {
void register_iforest() {
  register_algorithm(AlgorithmInfo{
      "iforest", "Isolation Forest: random axis-parallel splits isolate anomalies in few steps",
      "Liu, Ting & Zhou (2008), Isolation Forest, ICDM; scikit-learn 1.2 IsolationForest semantics", iforest_params(),
      false, true, "", [](const json& p) { return std::make_unique<IsolationForest>(p); }});
}
}  // namespace detail

}  // namespace nomaly
