#include "nomaly/detectors/knn.hpp"

#include <algorithm>

#include "detectors/builtin.hpp"
#include "detectors/neighbors.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

std::vector<ParamSpec> knn_params() {
  return {
      {"n_neighbors", 5, "int >= 1", "neighbours k"},
      {"method", "largest", "\"largest\" | \"mean\" | \"median\"", "how the k distances become a score"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
      {"n_jobs", 0, "int (0 = all cores)", "threads for the neighbour search"},
  };
}

KnnDetector::Method parse_method(const json& params) {
  const std::string m = param_string(params, "method");
  if (m == "largest") return KnnDetector::Method::Largest;
  if (m == "mean") return KnnDetector::Method::Mean;
  if (m == "median") return KnnDetector::Method::Median;
  throw ParameterError("parameter 'method' expects \"largest\", \"mean\" or \"median\", got \"" + m + "\"");
}

std::size_t parse_k(const json& params) {
  const auto k = param_int(params, "n_neighbors");
  if (k < 1) throw ParameterError("parameter 'n_neighbors' must be >= 1, got " + params.at("n_neighbors").dump());
  return static_cast<std::size_t>(k);
}

}  // namespace

KnnDetector::KnnDetector(const json& params) : Detector("knn", params), k_(parse_k(params)), method_(parse_method(params)) {
  param_int(params, "n_jobs");
}

KnnDetector::~KnnDetector() = default;

void KnnDetector::rebuild_index() {
  index_ = std::make_unique<detail::NeighborIndex>();
  index_->build(MatrixView{train_.data(), train_.size() / n_features(), n_features()});
}

// dist holds the k distances in ascending order.
float KnnDetector::reduce(const double* dist) const {
  switch (method_) {
    case Method::Largest:
      return static_cast<float>(dist[k_ - 1]);
    case Method::Mean: {
      double s = 0.0;
      for (std::size_t r = 0; r < k_; ++r) s += dist[r];
      return static_cast<float>(s / static_cast<double>(k_));
    }
    case Method::Median:
      return static_cast<float>(0.5 * (dist[(k_ - 1) / 2] + dist[k_ / 2]));
  }
  return 0.0f;
}

std::vector<float> KnnDetector::fit_impl(MatrixView X) {
  k_ = parse_k(params());  // a refit starts from the parameters, not from an earlier clip
  if (k_ > X.rows - 1) {
    k_ = X.rows - 1;
    clip_param("n_neighbors", k_, "exceeds n - 1 = " + std::to_string(k_) + " (each row is left out of its own neighbours)");
  }
  train_.assign(X.data, X.data + X.rows * X.cols);
  rebuild_index();
  std::vector<double> dist;
  std::vector<std::int32_t> idx;
  index_->query(X, k_, /*exclude_self=*/true, n_jobs(), dist, idx);
  std::vector<float> scores(X.rows);
  for (std::size_t i = 0; i < X.rows; ++i) scores[i] = reduce(&dist[i * k_]);
  return scores;
}

void KnnDetector::score_impl(MatrixView X, float* out) const {
  constexpr std::size_t kChunk = 4096;
  std::vector<double> dist;
  std::vector<std::int32_t> idx;
  for (std::size_t b = 0; b < X.rows; b += kChunk) {
    const MatrixView part = X.slice(b, std::min(kChunk, X.rows - b));
    index_->query(part, k_, false, n_jobs(), dist, idx);
    for (std::size_t i = 0; i < part.rows; ++i) out[b + i] = reduce(&dist[i * k_]);
  }
}

json KnnDetector::model_state() const { return json{{"train", to_blob(train_)}}; }

void KnnDetector::load_model_state(const json& s) {
  train_ = floats_from_blob(s, "train");
  const std::size_t d = n_features();
  if (d == 0 || train_.size() % d || train_.size() / d < k_)
    throw CorruptModel("knn: training rows do not match n_features or hold fewer than n_neighbors rows");
  rebuild_index();
}

namespace detail {
void register_knn() {
  register_algorithm(AlgorithmInfo{
      "knn", "k-nearest-neighbour distance (largest, mean or median of the k distances)",
      "Ramaswamy et al. (2000), SIGMOD; Angiulli & Pizzuti (2002); PyOD KNN semantics", knn_params(), false, true, "",
      [](const json& p) { return std::make_unique<KnnDetector>(p); }});
}
}  // namespace detail

}  // namespace nomaly
