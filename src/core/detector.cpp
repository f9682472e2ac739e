#include "nomaly/detector.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>

#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

void check_finite(MatrixView X, const std::string& what) {
  for (std::size_t i = 0; i < X.rows; ++i) {
    const float* r = X.row(i);
    for (std::size_t j = 0; j < X.cols; ++j)
      if (!std::isfinite(r[j]))
        throw DataError(what + ": non-finite value at row " + std::to_string(i + 1) + ", column " + std::to_string(j + 1) +
                        " (NaN and +/-inf are rejected)");
  }
}

constexpr std::size_t kReferenceRows = 32;
constexpr std::size_t kReferenceTop = 8;
constexpr std::size_t kReferenceScan = 8192;

}  // namespace

Detector::Detector(std::string algorithm, json params) : algorithm_(std::move(algorithm)), params_(std::move(params)) {
  if (!params_.is_object() || !params_.contains("contamination"))
    throw ParameterError(algorithm_ + ": parameters must include 'contamination'");
  const json& c = params_.at("contamination");
  if (c.is_string()) {
    if (c.get<std::string>() != "auto")
      throw ParameterError("parameter 'contamination' expects \"auto\" or a number in (0, 0.5], got \"" +
                           c.get<std::string>() + "\"");
  } else if (c.is_number() && !c.is_boolean()) {
    const double v = c.get<double>();
    if (!(v > 0.0 && v <= 0.5))
      throw ParameterError("parameter 'contamination' must be in (0, 0.5] (as in scikit-learn), got " + c.dump());
  } else {
    throw ParameterError("parameter 'contamination' expects \"auto\" or a number in (0, 0.5], got " + c.dump());
  }
}

int Detector::n_jobs() const {
  int n = 0;
  if (params_.contains("n_jobs") && params_.at("n_jobs").is_number_integer()) n = params_.at("n_jobs").get<int>();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // More threads than cores only adds scheduling; results never depend on the count.
  if (n <= 0 || n > cores) n = cores;
  return n;
}

void Detector::clip_param(const std::string& name, const json& used, const std::string& why) {
  spdlog::warn("{}: {} = {} {}; {} = {} is used (and stored)", algorithm_, name, params_.at(name).dump(), why, name,
               used.dump());
  params_[name] = used;
}

void Detector::fit(MatrixView X) {
  if (X.cols == 0) throw DataError(algorithm_ + ": cannot fit on data with 0 features");
  if (X.rows < min_rows())
    throw DataError(algorithm_ + ": needs at least " + std::to_string(min_rows()) + " training rows, got " +
                    std::to_string(X.rows));
  check_finite(X, algorithm_ + " fit");
  fitted_ = false;
  n_features_ = X.cols;
  std::vector<float> train = fit_impl(X);
  const json& c = contamination();
  const bool need_scores = !(c.is_string() && auto_threshold_is_fixed());
  if (train.empty() && need_scores) {
    train.resize(X.rows);
    score_impl(X, train.data());
  }
  if (!train.empty() && train.size() != X.rows)
    throw Error(algorithm_ + ": internal error: training scores size", ExitCode::ModelError);
  const double t = c.is_string() ? auto_threshold(train) : percentile(train, 100.0 * (1.0 - c.get<double>()));
  threshold_ = static_cast<float>(t);
  // A degenerate fit (e.g. OCSVM with nu=1) must fail here, not ship a model that scores inf or NaN.
  for (std::size_t i = 0; i < train.size(); ++i)
    if (!std::isfinite(train[i]))
      throw DataError(algorithm_ + ": fit produced a non-finite training score at row " + std::to_string(i + 1) +
                      " (degenerate parameters for this data?)");
  if (!std::isfinite(threshold_))
    throw DataError(algorithm_ + ": fit produced a non-finite decision threshold (degenerate parameters for this data?)");

  // Keep a few training rows for golden vectors: the 8 most anomalous, then the earliest rows.
  std::vector<float> ranked = train;
  if (ranked.empty()) {
    ranked.resize(std::min<std::size_t>(X.rows, kReferenceScan));
    score_impl(X.slice(0, ranked.size()), ranked.data());
    for (std::size_t i = 0; i < ranked.size(); ++i)
      if (!std::isfinite(ranked[i]))
        throw DataError(algorithm_ + ": fit produced a non-finite score at training row " + std::to_string(i + 1));
  }
  std::vector<std::size_t> order(ranked.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t top = std::min(kReferenceTop, ranked.size());
  std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](std::size_t a, std::size_t b) {
    return ranked[a] > ranked[b] || (ranked[a] == ranked[b] && a < b);
  });
  std::vector<std::size_t> keep(order.begin(), order.begin() + top);
  for (std::size_t i = 0; i < X.rows && keep.size() < kReferenceRows; ++i)
    if (std::find(keep.begin(), keep.begin() + top, i) == keep.begin() + top) keep.push_back(i);
  std::sort(keep.begin(), keep.end());
  reference_rows_.clear();
  for (std::size_t i : keep) reference_rows_.insert(reference_rows_.end(), X.row(i), X.row(i) + X.cols);

  training_scores_ = std::move(train);
  fitted_ = true;
}

std::vector<float> Detector::score_samples(MatrixView X) const {
  if (!fitted_) throw NotFittedError(algorithm_ + ": score_samples called before fit");
  if (X.cols != n_features_)
    throw DataError(algorithm_ + ": expected " + std::to_string(n_features_) + " features, got " + std::to_string(X.cols));
  check_finite(X, algorithm_ + " score");
  std::vector<float> out(X.rows);
  if (X.rows) score_impl(X, out.data());
  return out;
}

std::vector<int> Detector::labels_for(const std::vector<float>& scores) const {
  const float t = threshold();
  std::vector<int> labels(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) labels[i] = scores[i] > t ? 1 : 0;
  return labels;
}

std::vector<int> Detector::predict(MatrixView X) const { return labels_for(score_samples(X)); }

float Detector::threshold() const {
  if (!fitted_) throw NotFittedError(algorithm_ + ": threshold requested before fit");
  return threshold_;
}

double Detector::auto_threshold(const std::vector<float>& training_scores) const {
  return percentile(training_scores, 90.0);
}

json Detector::state() const {
  if (!fitted_) throw NotFittedError(algorithm_ + ": state requested before fit");
  float t = threshold_;
  std::uint32_t tbits;
  std::memcpy(&tbits, &t, 4);
  return json{{"algorithm", algorithm_},
              {"params", params_},
              {"n_features", n_features_},
              {"threshold_bits", tbits},
              {"reference_rows", to_blob(reference_rows_)},
              {"model", model_state()}};
}

void Detector::restore(const json& s) {
  try {
    if (s.at("algorithm").get<std::string>() != algorithm_)
      throw CorruptModel("state is for algorithm '" + s.at("algorithm").get<std::string>() + "', not '" + algorithm_ + "'");
    n_features_ = s.at("n_features").get<std::size_t>();
    const auto tbits = s.at("threshold_bits").get<std::uint32_t>();
    std::memcpy(&threshold_, &tbits, 4);
    reference_rows_ = floats_from_blob(s, "reference_rows");
    load_model_state(s.at("model"));
  } catch (const json::exception& e) {
    throw CorruptModel(algorithm_ + ": malformed model state: " + e.what());
  }
  if (n_features_ == 0) throw CorruptModel(algorithm_ + ": malformed model state: n_features is 0");
  training_scores_.clear();
  fitted_ = true;
}

double percentile(std::vector<float> values, double q) {
  if (values.empty()) throw DataError("percentile of an empty set");
  std::sort(values.begin(), values.end());
  const double pos = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return static_cast<double>(values[lo]) + frac * (static_cast<double>(values[hi]) - static_cast<double>(values[lo]));
}

namespace {
template <class T>
json blob_of(const std::vector<T>& v) {
  std::vector<std::uint8_t> bytes(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  return json::binary(std::move(bytes));
}
template <class T>
std::vector<T> vec_of(const json& j, const std::string& field) {
  const json& b = j.at(field);
  if (!b.is_binary()) throw CorruptModel("model state field '" + field + "' is not a binary blob");
  const auto& bytes = b.get_binary();
  if (bytes.size() % sizeof(T)) throw CorruptModel("model state field '" + field + "' has a truncated blob");
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}
}  // namespace

json to_blob(const std::vector<float>& v) { return blob_of(v); }
json to_blob(const std::vector<double>& v) { return blob_of(v); }
json to_blob(const std::vector<std::int32_t>& v) { return blob_of(v); }
std::vector<float> floats_from_blob(const json& j, const std::string& f) { return vec_of<float>(j, f); }
std::vector<double> doubles_from_blob(const json& j, const std::string& f) { return vec_of<double>(j, f); }
std::vector<std::int32_t> ints_from_blob(const json& j, const std::string& f) { return vec_of<std::int32_t>(j, f); }

}  // namespace nomaly
