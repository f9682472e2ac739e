#include "nomaly/detectors/lof.hpp"

#include <algorithm>

#include "core/parallel.hpp"
#include "detectors/builtin.hpp"
#include "detectors/neighbors.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

std::vector<ParamSpec> lof_params() {
  return {
      {"n_neighbors", 20, "int >= 1", "neighbours k (capped at n - 1 as sklearn)"},
      {"metric", "euclidean", "\"euclidean\"", "distance metric"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
      {"n_jobs", 0, "int (0 = all cores)", "threads for the neighbour search"},
  };
}

constexpr double kLrdEps = 1e-10;  // sklearn adds it to the mean reachability distance

// lrd of each query row from its neighbours (dist/idx rows of length k) and the training k-distances.
double lrd_of(const double* dist, const std::int32_t* idx, std::size_t k, const std::vector<double>& kdist) {
  double s = 0.0;
  for (std::size_t r = 0; r < k; ++r) s += std::max(dist[r], kdist[static_cast<std::size_t>(idx[r])]);
  return 1.0 / (s / static_cast<double>(k) + kLrdEps);
}

double ratio_mean(const std::int32_t* idx, std::size_t k, const std::vector<double>& lrd, double own) {
  double s = 0.0;
  for (std::size_t r = 0; r < k; ++r) s += lrd[static_cast<std::size_t>(idx[r])] / own;
  return s / static_cast<double>(k);
}

}  // namespace

LocalOutlierFactor::LocalOutlierFactor(const json& params) : Detector("lof", params) {
  if (param_int(params, "n_neighbors") < 1)
    throw ParameterError("parameter 'n_neighbors' must be >= 1, got " + params.at("n_neighbors").dump());
  if (param_string(params, "metric") != "euclidean")
    throw ParameterError("parameter 'metric' supports only \"euclidean\", got " + params.at("metric").dump());
  param_int(params, "n_jobs");
}

LocalOutlierFactor::~LocalOutlierFactor() = default;

void LocalOutlierFactor::rebuild_index() {
  index_ = std::make_unique<detail::NeighborIndex>();
  index_->build(MatrixView{train_.data(), train_.size() / n_features(), n_features()});
}

std::vector<float> LocalOutlierFactor::fit_impl(MatrixView X) {
  const auto requested = static_cast<std::size_t>(param_int(params(), "n_neighbors"));
  k_ = std::max<std::size_t>(1, std::min(requested, X.rows - 1));
  if (k_ != requested) clip_param("n_neighbors", k_, "exceeds n - 1 = " + std::to_string(X.rows - 1) + " (sklearn's rule)");
  train_.assign(X.data, X.data + X.rows * X.cols);
  rebuild_index();
  std::vector<double> dist;
  std::vector<std::int32_t> idx;
  index_->query(X, k_, /*exclude_self=*/true, n_jobs(), dist, idx);
  const std::size_t n = X.rows, k = k_;
  kdist_.resize(n);
  for (std::size_t i = 0; i < n; ++i) kdist_[i] = dist[i * k + k - 1];
  lrd_.resize(n);
  for (std::size_t i = 0; i < n; ++i) lrd_[i] = lrd_of(&dist[i * k], &idx[i * k], k, kdist_);
  std::vector<float> scores(n);
  for (std::size_t i = 0; i < n; ++i) scores[i] = static_cast<float>(ratio_mean(&idx[i * k], k, lrd_, lrd_[i]));
  return scores;
}

void LocalOutlierFactor::score_impl(MatrixView X, float* out) const {
  constexpr std::size_t kChunk = 4096;  // bounds the neighbour buffers
  std::vector<double> dist;
  std::vector<std::int32_t> idx;
  for (std::size_t b = 0; b < X.rows; b += kChunk) {
    const MatrixView part = X.slice(b, std::min(kChunk, X.rows - b));
    index_->query(part, k_, false, n_jobs(), dist, idx);
    for (std::size_t i = 0; i < part.rows; ++i) {
      const double own = lrd_of(&dist[i * k_], &idx[i * k_], k_, kdist_);
      out[b + i] = static_cast<float>(ratio_mean(&idx[i * k_], k_, lrd_, own));
    }
  }
}

json LocalOutlierFactor::model_state() const {
  return json{{"k", k_}, {"train", to_blob(train_)}, {"k_distance", to_blob(kdist_)}, {"lrd", to_blob(lrd_)}};
}

void LocalOutlierFactor::load_model_state(const json& s) {
  k_ = s.at("k").get<std::size_t>();
  train_ = floats_from_blob(s, "train");
  kdist_ = doubles_from_blob(s, "k_distance");
  lrd_ = doubles_from_blob(s, "lrd");
  const std::size_t d = n_features();
  if (d == 0 || train_.empty() || train_.size() % d) throw CorruptModel("lof: training rows do not match n_features");
  const std::size_t n = train_.size() / d;
  if (kdist_.size() != n || lrd_.size() != n || k_ == 0 || k_ > n)
    throw CorruptModel("lof: k, k_distance and lrd do not match the " + std::to_string(n) + " training rows");
  rebuild_index();
}

namespace detail {
void register_lof() {
  register_algorithm(AlgorithmInfo{
      "lof", "Local Outlier Factor: local density relative to the k nearest neighbours' densities",
      "Breunig et al. (2000), LOF, SIGMOD; scikit-learn 1.2 LocalOutlierFactor (novelty=True for new points)",
      lof_params(), false, true, "", [](const json& p) { return std::make_unique<LocalOutlierFactor>(p); }});
}
}  // namespace detail

}  // namespace nomaly
