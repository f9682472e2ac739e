// FastMCD as sklearn 1.2 sklearn/covariance/_robust_covariance.py (c_step, select_candidates, fast_mcd,
// MinCovDet.fit/correct_covariance/reweight_covariance), transcribed step by step; comments name sklearn's lines.
#include "nomaly/detectors/mcd.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>

#include "core/parallel.hpp"
#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using Idx = Eigen::Index;
using Rows = std::vector<Idx>;

std::vector<ParamSpec> mcd_params() {
  return {
      {"support_fraction", nullptr, "null | float in (0, 1]", "share of rows in the raw MCD support; null = (n+d+1)/2"},
      {"random_state", nullptr, "int >= 0 | null", "seed; null = random"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
  };
}

// random_state.permutation(n): Fisher-Yates on a 64-bit Mersenne Twister (portable: no std distributions).
Rows permutation(Idx n, std::mt19937_64& rng) {
  Rows p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), Idx{0});
  for (Idx i = n - 1; i > 0; --i) std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(i + 1))]);
  return p;
}

Mat take(const Mat& X, const Rows& rows) {
  Mat out(static_cast<Idx>(rows.size()), X.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) out.row(static_cast<Idx>(r)) = X.row(rows[r]);
  return out;
}

// empirical_covariance: biased (divides by the number of rows).
Mat empirical_cov(const Mat& Xs, const Vec& loc) {
  const Mat C = Xs.rowwise() - loc.transpose();
  return (C.transpose() * C) / static_cast<double>(Xs.rows());
}

// fast_logdet: log|det| from LU, -inf unless the determinant is positive (numpy.linalg.slogdet).
double fast_logdet(const Mat& A) {
  Eigen::PartialPivLU<Mat> lu(A);
  const auto& LU = lu.matrixLU();
  double sign = lu.permutationP().determinant();
  double ld = 0.0;
  for (Idx i = 0; i < LU.rows(); ++i) {
    const double u = LU(i, i);
    if (u == 0.0 || !std::isfinite(u)) return -std::numeric_limits<double>::infinity();
    if (u < 0) sign = -sign;
    ld += std::log(std::abs(u));
  }
  return sign > 0 ? ld : -std::numeric_limits<double>::infinity();
}

// scipy.linalg.pinvh: eigenvalues with |s| <= max(shape) * eps * max|s| are dropped.
Mat pinvh(const Mat& A) {
  Eigen::SelfAdjointEigenSolver<Mat> es(A);
  const Vec& s = es.eigenvalues();
  const double max_abs = s.cwiseAbs().maxCoeff();
  const double cut = static_cast<double>(A.rows()) * std::numeric_limits<double>::epsilon() * max_abs;
  Mat P = Mat::Zero(A.rows(), A.cols());
  for (Idx i = 0; i < s.size(); ++i)
    if (std::abs(s[i]) > cut) P.noalias() += (es.eigenvectors().col(i) / s[i]) * es.eigenvectors().col(i).transpose();
  return P;
}

Vec mahalanobis(const Mat& X, const Vec& loc, const Mat& P) {
  const Mat C = X.rowwise() - loc.transpose();
  return (C * P).cwiseProduct(C).rowwise().sum();
}

// argsort(dist)[:h] as a row mask, returned as ascending row indices (X[support] keeps the data order).
Rows smallest(const Vec& dist, Idx h) {
  Rows order(static_cast<std::size_t>(dist.size()));
  std::iota(order.begin(), order.end(), Idx{0});
  std::stable_sort(order.begin(), order.end(), [&](Idx a, Idx b) { return dist[a] < dist[b]; });
  order.resize(static_cast<std::size_t>(h));
  std::sort(order.begin(), order.end());
  return order;
}

struct Estimate {
  Vec loc;
  Mat cov;
  double det = 0.0;
  Rows support;
  Vec dist;
};

bool allclose(double a, double b) {
  if (a == b) return true;  // also equal infinities
  return std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b);
}

Estimate c_step(const Mat& X, Idx h, std::mt19937_64& rng, int remaining, const Estimate* init) {
  const Idx n = X.rows();
  Rows support;
  Mat precision;
  Vec dist = Vec::Constant(n, std::numeric_limits<double>::infinity());
  if (!init) {
    Rows p = permutation(n, rng);
    p.resize(static_cast<std::size_t>(h));
    std::sort(p.begin(), p.end());
    support = std::move(p);
  } else {
    precision = pinvh(init->cov);
    dist = mahalanobis(X, init->loc, precision);
    support = smallest(dist, h);
  }
  Mat Xs = take(X, support);
  Vec loc = Xs.colwise().mean().transpose();
  Mat cov = empirical_cov(Xs, loc);
  double det = fast_logdet(cov);
  if (std::isinf(det)) precision = pinvh(cov);
  double prev_det = std::numeric_limits<double>::infinity();
  Vec prev_loc, prev_dist;
  Mat prev_cov;
  Rows prev_support;
  while (det < prev_det && remaining > 0 && !std::isinf(det)) {
    prev_loc = loc;
    prev_cov = cov;
    prev_det = det;
    prev_support = support;
    precision = pinvh(cov);
    dist = mahalanobis(X, loc, precision);
    support = smallest(dist, h);
    Xs = take(X, support);
    loc = Xs.colwise().mean().transpose();
    cov = empirical_cov(Xs, loc);
    det = fast_logdet(cov);
    --remaining;
  }
  prev_dist = dist;
  dist = mahalanobis(X, loc, precision);  // sklearn: new location with the previous precision
  Estimate res{loc, cov, det, support, dist};
  // Same precedence as sklearn: the later checks overwrite the earlier ones.
  if (!std::isinf(det) && !allclose(det, prev_det) && det > prev_det)
    res = Estimate{prev_loc, prev_cov, prev_det, prev_support, prev_dist};
  if (remaining == 0) res = Estimate{loc, cov, det, support, dist};
  return res;
}

// select_candidates: runs trials (random starts, or one per initial estimate) and keeps the `select` lowest dets.
std::vector<Estimate> select_candidates(const Mat& X, Idx h, int n_trials, const std::vector<Estimate>* inits,
                                        std::size_t select, int n_iter, std::mt19937_64& rng) {
  std::vector<Estimate> all;
  const std::size_t trials = inits ? inits->size() : static_cast<std::size_t>(n_trials);
  all.reserve(trials);
  for (std::size_t t = 0; t < trials; ++t) all.push_back(c_step(X, h, rng, n_iter, inits ? &(*inits)[t] : nullptr));
  std::vector<std::size_t> order(all.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return all[a].det < all[b].det; });
  std::vector<Estimate> best;
  for (std::size_t i = 0; i < std::min(select, order.size()); ++i) best.push_back(std::move(all[order[i]]));
  return best;
}

Estimate fast_mcd(const Mat& X, const json& support_fraction, std::mt19937_64& rng) {
  const Idx n = X.rows(), d = X.cols();
  const Idx h = support_fraction.is_null()
                    ? static_cast<Idx>(std::ceil(0.5 * static_cast<double>(n + d + 1)))
                    : static_cast<Idx>(support_fraction.get<double>() * static_cast<double>(n));
  if (d == 1) {
    Estimate e;
    const Vec x = X.col(0);
    double location;
    if (h < n) {
      std::vector<double> s(x.data(), x.data() + n);
      std::sort(s.begin(), s.end());
      std::vector<double> diff(static_cast<std::size_t>(n - h));
      for (std::size_t i = 0; i < diff.size(); ++i) diff[i] = s[i + static_cast<std::size_t>(h)] - s[i];
      const double mn = *std::min_element(diff.begin(), diff.end());
      double acc = 0.0;
      int cnt = 0;
      for (std::size_t i = 0; i < diff.size(); ++i)
        if (diff[i] == mn) {
          acc += s[static_cast<std::size_t>(h) + i] + s[i];
          ++cnt;
        }
      location = 0.5 * (acc / cnt);
      e.support = smallest((x.array() - location).abs().matrix(), h);
    } else {
      location = x.mean();
      e.support.resize(static_cast<std::size_t>(n));
      std::iota(e.support.begin(), e.support.end(), Idx{0});
    }
    const Mat Xs = take(X, e.support);
    const double m = Xs.col(0).mean();
    e.cov = Mat::Constant(1, 1, (Xs.col(0).array() - m).square().mean());
    e.loc = Vec::Constant(1, location);
    e.dist = mahalanobis(X, e.loc, pinvh(e.cov));
    return e;
  }
  if (n > 500) {
    const Idx n_subsets = n / 300;
    const Idx n_sub = n / n_subsets;
    const Rows shuffle = permutation(n, rng);
    const auto h_sub = static_cast<Idx>(std::ceil(static_cast<double>(n_sub) * (static_cast<double>(h) / static_cast<double>(n))));
    const int n_trials = std::max<int>(10, static_cast<int>(500 / n_subsets));
    std::vector<Estimate> pooled;
    for (Idx i = 0; i < n_subsets; ++i) {
      const Rows rows(shuffle.begin() + i * n_sub, shuffle.begin() + (i + 1) * n_sub);
      auto best = select_candidates(take(X, rows), h_sub, n_trials, nullptr, 10, 2, rng);
      for (auto& b : best) pooled.push_back(std::move(b));
    }
    const Idx n_merged = std::min<Idx>(1500, n);
    const auto h_merged = static_cast<Idx>(std::ceil(static_cast<double>(n_merged) * (static_cast<double>(h) / static_cast<double>(n))));
    const std::size_t n_best_merged = n > 1500 ? 10 : 1;
    Rows selection = permutation(n, rng);
    selection.resize(static_cast<std::size_t>(n_merged));
    auto merged = select_candidates(take(X, selection), h_merged, 0, &pooled, n_best_merged, 30, rng);
    if (n < 1500) {
      Estimate e = std::move(merged[0]);
      Rows support;
      Vec dist = Vec::Zero(n);
      for (std::size_t r = 0; r < selection.size(); ++r) dist[selection[r]] = e.dist[static_cast<Idx>(r)];
      for (Idx r : e.support) support.push_back(selection[static_cast<std::size_t>(r)]);
      std::sort(support.begin(), support.end());
      e.support = std::move(support);
      e.dist = std::move(dist);
      return e;
    }
    return std::move(select_candidates(X, h, 0, &merged, 1, 30, rng)[0]);
  }
  auto best = select_candidates(X, h, 30, nullptr, 10, 2, rng);
  return std::move(select_candidates(X, h, 0, &best, 1, 30, rng)[0]);
}

// Regularized lower incomplete gamma P(a, x) (series below a + 1, Lentz continued fraction above).
double gamma_p(double a, double x) {
  if (x <= 0.0) return 0.0;
  const double lg = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1.0) {
    double ap = a, sum = 1.0 / a, del = sum;
    for (int i = 0; i < 100000; ++i) {
      ap += 1.0;
      del *= x / ap;
      sum += del;
      if (std::abs(del) < std::abs(sum) * 1e-17) break;
    }
    return sum * std::exp(lg);
  }
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, dd = 1.0 / b, hh = dd;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    dd = an * dd + b;
    if (std::abs(dd) < tiny) dd = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    dd = 1.0 / dd;
    const double del = dd * c;
    hh *= del;
    if (std::abs(del - 1.0) < 1e-17) break;
  }
  return 1.0 - std::exp(lg) * hh;
}

}  // namespace

double chi2_quantile(double p, double dof) {
  if (!(p > 0.0 && p < 1.0) || !(dof > 0.0)) throw ParameterError("chi2_quantile: need p in (0, 1) and dof > 0");
  double lo = 0.0, hi = std::max(1.0, dof);
  while (gamma_p(0.5 * dof, 0.5 * hi) < p) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (gamma_p(0.5 * dof, 0.5 * mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

McdDetector::McdDetector(const json& params) : Detector("mcd", params) {
  const json& sf = params.at("support_fraction");
  if (!sf.is_null()) {
    if (!sf.is_number() || sf.is_boolean() || !(sf.get<double>() > 0.0 && sf.get<double>() <= 1.0))
      throw ParameterError("parameter 'support_fraction' expects null or a float in (0, 1], got " + sf.dump());
  }
  std::uint64_t seed;
  param_seed(params, "random_state", seed);
}

std::vector<float> McdDetector::fit_impl(MatrixView X) {
  const auto n = static_cast<Idx>(X.rows), d = static_cast<Idx>(X.cols);
  Mat M(n, d);
  for (Idx i = 0; i < n; ++i)
    for (Idx j = 0; j < d; ++j) M(i, j) = X(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
  const json& sf = params().at("support_fraction");
  if (!sf.is_null() && static_cast<Idx>(sf.get<double>() * static_cast<double>(n)) < 1)
    throw DataError("mcd: support_fraction * n_samples is below 1 row");
  std::uint64_t seed = 0;
  if (!param_seed(params(), "random_state", seed)) seed = std::random_device{}();
  std::mt19937_64 rng(seed);

  Estimate raw = fast_mcd(M, sf, rng);
  // MinCovDet.correct_covariance.
  if (static_cast<Idx>(raw.support.size()) < n && raw.cov.isZero(1e-8))
    throw DataError("mcd: the covariance matrix of the support data is equal to 0, try to increase support_fraction");
  std::vector<double> sorted(raw.dist.data(), raw.dist.data() + n);
  std::sort(sorted.begin(), sorted.end());
  const std::size_t mid = static_cast<std::size_t>(n) / 2;
  const double median = n % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  const double correction = median / chi2_quantile(0.5, static_cast<double>(d));
  const Vec dist = raw.dist / correction;
  // MinCovDet.reweight_covariance.
  const double cut = chi2_quantile(0.975, static_cast<double>(d));
  Rows mask;
  for (Idx i = 0; i < n; ++i)
    if (dist[i] < cut) mask.push_back(i);
  if (mask.empty()) throw DataError("mcd: no row survives the reweighting step (degenerate data)");
  const Mat Xm = take(M, mask);
  const Vec loc = Xm.colwise().mean().transpose();
  const Mat cov = empirical_cov(Xm, loc);
  const Mat P = pinvh(cov);
  location_.assign(loc.data(), loc.data() + d);
  covariance_.resize(static_cast<std::size_t>(d * d));
  precision_.resize(static_cast<std::size_t>(d * d));
  for (Idx i = 0; i < d; ++i)
    for (Idx j = 0; j < d; ++j) {
      covariance_[static_cast<std::size_t>(i * d + j)] = cov(i, j);
      precision_[static_cast<std::size_t>(i * d + j)] = P(i, j);
    }
  std::vector<float> scores(X.rows);
  score_impl(X, scores.data());
  return scores;
}

void McdDetector::score_impl(MatrixView X, float* out) const {
  const std::size_t d = X.cols;
  detail::parallel_blocks(X.rows, 256, n_jobs(), [&](std::size_t b, std::size_t e) {
    std::vector<double> c(d), pc(d);
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t j = 0; j < d; ++j) c[j] = static_cast<double>(X(i, j)) - location_[j];
      double s = 0.0;
      for (std::size_t r = 0; r < d; ++r) {
        double t = 0.0;
        for (std::size_t j = 0; j < d; ++j) t += c[j] * precision_[j * d + r];
        s += t * c[r];
      }
      out[i] = static_cast<float>(s);
    }
  });
}

json McdDetector::model_state() const {
  return json{{"location", to_blob(location_)}, {"covariance", to_blob(covariance_)}, {"precision", to_blob(precision_)}};
}

void McdDetector::load_model_state(const json& s) {
  location_ = doubles_from_blob(s, "location");
  covariance_ = doubles_from_blob(s, "covariance");
  precision_ = doubles_from_blob(s, "precision");
  const std::size_t d = n_features();
  if (location_.size() != d || covariance_.size() != d * d || precision_.size() != d * d)
    throw CorruptModel("mcd: location, covariance and precision do not match n_features");
}

namespace detail {
void register_mcd() {
  register_algorithm(AlgorithmInfo{
      "mcd", "Minimum Covariance Determinant: robust squared Mahalanobis distance (FastMCD)",
      "Rousseeuw & Van Driessen (1999), FastMCD, Technometrics; scikit-learn 1.2 MinCovDet, PyOD MCD scores",
      mcd_params(), false, true, "", [](const json& p) { return std::make_unique<McdDetector>(p); }});
}
}  // namespace detail

}  // namespace nomaly
