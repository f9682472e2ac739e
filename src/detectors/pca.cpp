#include "nomaly/detectors/pca.hpp"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.hpp"
#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

constexpr double kMinRatio = 1e-12;

std::vector<ParamSpec> pca_params() {
  return {
      {"n_components", nullptr, "null | int >= 1 | float in (0, 1)", "components kept (null = min(n, d))"},
      {"n_selected_components", nullptr, "null | int >= 1", "smallest-variance kept components used in the score"},
      {"whiten", false, "bool", "PyOD compatibility; does not change scores"},
      {"weighted", true, "bool", "divide by the explained variance ratio"},
      {"standardization", true, "bool", "standardize features first (StandardScaler)"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
  };
}

}  // namespace

PcaDetector::PcaDetector(const json& params) : Detector("pca", params) {
  const json& nc = params.at("n_components");
  if (nc.is_number_integer()) {
    if (nc.get<std::int64_t>() < 1) throw ParameterError("parameter 'n_components' must be >= 1, got " + nc.dump());
  } else if (nc.is_number_float()) {
    const double f = nc.get<double>();
    if (!(f > 0.0 && f < 1.0)) throw ParameterError("parameter 'n_components' as a fraction must be in (0, 1), got " + nc.dump());
  } else if (!nc.is_null()) {
    throw ParameterError("parameter 'n_components' expects null, an int >= 1 or a float in (0, 1), got " + nc.dump());
  }
  const json& ns = params.at("n_selected_components");
  if (!ns.is_null() && (!ns.is_number_integer() || ns.get<std::int64_t>() < 1))
    throw ParameterError("parameter 'n_selected_components' expects null or an int >= 1, got " + ns.dump());
  param_bool(params, "whiten");
  param_bool(params, "weighted");
  param_bool(params, "standardization");
}

std::vector<float> PcaDetector::fit_impl(MatrixView X) {
  const json& p = params();
  const auto n = static_cast<Eigen::Index>(X.rows), d = static_cast<Eigen::Index>(X.cols);
  Eigen::MatrixXd Z(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) Z(i, j) = X(static_cast<std::size_t>(i), static_cast<std::size_t>(j));

  mean_.assign(X.cols, 0.0);
  scale_.assign(X.cols, 1.0);
  if (param_bool(p, "standardization")) {
    // sklearn StandardScaler: population variance; near-constant features (sklearn's _is_constant_feature) keep 1.
    const double eps = std::numeric_limits<double>::epsilon(), nn = static_cast<double>(n);
    for (Eigen::Index j = 0; j < d; ++j) {
      const double m = Z.col(j).mean();
      const double var = (Z.col(j).array() - m).square().mean();
      mean_[static_cast<std::size_t>(j)] = m;
      const double bound = nn * eps * var + (nn * m * eps) * (nn * m * eps);
      scale_[static_cast<std::size_t>(j)] = var <= bound ? 1.0 : std::sqrt(var);
      Z.col(j) = (Z.col(j).array() - m) / scale_[static_cast<std::size_t>(j)];
    }
  }

  // sklearn PCA (full SVD) on Z.
  const Eigen::RowVectorXd zmean = Z.colwise().mean();
  const Eigen::MatrixXd C = Z.rowwise() - zmean;
  Eigen::BDCSVD<Eigen::MatrixXd> svd(C, Eigen::ComputeThinV);
  const Eigen::VectorXd S = svd.singularValues();
  Eigen::MatrixXd V = svd.matrixV();  // columns = components
  const Eigen::Index r = S.size();   // min(n, d)
  // svd_flip(u_based_decision=True): the largest |U[:, j]| entry (first on ties) becomes positive.
  const Eigen::MatrixXd proj = C * V;
  for (Eigen::Index j = 0; j < r; ++j) {
    Eigen::Index arg = 0;
    proj.col(j).cwiseAbs().maxCoeff(&arg);
    if (proj(arg, j) < 0) V.col(j) = -V.col(j);
  }
  const Eigen::VectorXd ev = S.array().square() / static_cast<double>(n - 1);
  const double total = ev.sum();
  Eigen::VectorXd ratio = total > 0 ? Eigen::VectorXd(ev / total) : Eigen::VectorXd::Zero(r);

  Eigen::Index kept = r;
  const json& nc = p.at("n_components");
  if (nc.is_number_integer()) {
    kept = static_cast<Eigen::Index>(nc.get<std::int64_t>());
    if (kept > r)
      throw ParameterError("parameter 'n_components' = " + nc.dump() + " exceeds min(n_samples, n_features) = " + std::to_string(r));
  } else if (nc.is_number_float()) {
    const double f = nc.get<double>();
    double cum = 0.0;
    kept = 0;
    while (kept < r && cum <= f) cum += ratio[kept++];  // numpy.searchsorted(cumsum, f, side="right") + 1
  }
  Eigen::Index sel = kept;
  const json& ns = p.at("n_selected_components");
  if (ns.is_number_integer()) {
    sel = static_cast<Eigen::Index>(ns.get<std::int64_t>());
    if (sel > kept)
      throw ParameterError("parameter 'n_selected_components' = " + ns.dump() + " exceeds the " + std::to_string(kept) +
                           " kept components");
  }
  const bool weighted = param_bool(p, "weighted");
  comps_.clear();
  inv_w_.clear();
  for (Eigen::Index j = kept - sel; j < kept; ++j) {
    for (Eigen::Index c = 0; c < d; ++c) comps_.push_back(V(c, j));
    inv_w_.push_back(weighted ? 1.0 / std::max(ratio[j], kMinRatio) : 1.0);
  }
  std::vector<float> scores(X.rows);
  score_impl(X, scores.data());
  return scores;
}

void PcaDetector::score_impl(MatrixView X, float* out) const {
  const std::size_t d = X.cols, k = inv_w_.size();
  detail::parallel_blocks(X.rows, 256, n_jobs(), [&](std::size_t b, std::size_t e) {
    std::vector<double> z(d);
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t j = 0; j < d; ++j) z[j] = (static_cast<double>(X(i, j)) - mean_[j]) / scale_[j];
      double s = 0.0;
      for (std::size_t c = 0; c < k; ++c) {
        const double* v = &comps_[c * d];
        double q = 0.0;
        for (std::size_t j = 0; j < d; ++j) q += (z[j] - v[j]) * (z[j] - v[j]);
        s += std::sqrt(q) * inv_w_[c];
      }
      out[i] = static_cast<float>(s);
    }
  });
}

json PcaDetector::model_state() const {
  return json{{"mean", to_blob(mean_)}, {"scale", to_blob(scale_)}, {"components", to_blob(comps_)},
              {"inverse_weights", to_blob(inv_w_)}};
}

void PcaDetector::load_model_state(const json& s) {
  mean_ = doubles_from_blob(s, "mean");
  scale_ = doubles_from_blob(s, "scale");
  comps_ = doubles_from_blob(s, "components");
  inv_w_ = doubles_from_blob(s, "inverse_weights");
  const std::size_t d = n_features();
  if (mean_.size() != d || scale_.size() != d || inv_w_.empty() || comps_.size() != inv_w_.size() * d)
    throw CorruptModel("pca: mean, scale, components and weights do not match n_features");
}

namespace detail {
void register_pca() {
  register_algorithm(AlgorithmInfo{
      "pca", "PCA: weighted distances to the principal components of the standardized data",
      "Shyu et al. (2003), principal component classifier; PyOD PCA semantics (sklearn PCA, full SVD)", pca_params(),
      false, true, "", [](const json& p) { return std::make_unique<PcaDetector>(p); }});
}
}  // namespace detail

}  // namespace nomaly
