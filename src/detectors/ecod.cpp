// ECOD and COPOD (one implementation; PyOD computes both the same way). See include/nomaly/detectors/ecod.hpp.
#include "nomaly/detectors/ecod.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/registry.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly {

namespace {

double sign(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// sign(numpy.nan_to_num(scipy.stats.skew(col))) with scipy's biased moments and its "numerically constant" test.
std::int32_t skew_sign(const std::vector<double>& col) {
  const double n = static_cast<double>(col.size());
  double mean = 0.0;
  for (double v : col) mean += v;
  mean /= n;
  double m2 = 0.0, m3 = 0.0;
  for (double v : col) {
    const double a = v - mean;
    m2 += a * a;
    m3 += a * a * a;
  }
  m2 /= n;
  m3 /= n;
  const double resolution = 1e-15;  // numpy.finfo(float64).resolution
  if (m2 <= (resolution * mean) * (resolution * mean)) return 0;
  return static_cast<std::int32_t>(sign(m3 / std::pow(m2, 1.5)));
}

}  // namespace

std::vector<ParamSpec> ecdf_tail_params() {
  return {
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
      {"aggregation", "pyod", "\"pyod\" | \"max\" | \"mean\" | \"paper\"",
       "pyod: this algorithm's PyOD rule (ecod: max, copod: mean); max: sum_j max(U_l, U_r, U_skew); "
       "mean: sum_j max(U_skew, (U_l+U_r)/2); paper: max of the left, right and skew-corrected sums"},
  };
}

EcdfTailDetector::EcdfTailDetector(std::string algorithm, const json& params) : Detector(std::move(algorithm), params) {
  std::string agg = param_string(this->params(), "aggregation");
  if (agg != "pyod" && agg != "paper" && agg != "max" && agg != "mean")
    throw ParameterError("parameter 'aggregation' expects \"pyod\", \"max\", \"mean\" or \"paper\", got \"" + agg + "\"");
  // PyOD's ECOD takes the largest of the three per-feature terms, its COPOD the larger of U_skew and the tails' mean.
  if (agg == "pyod") agg = this->algorithm() == "ecod" ? "max" : "mean";
  paper_ = agg == "paper";
  max_rule_ = agg == "max";
}

std::vector<float> EcdfTailDetector::fit_impl(MatrixView X) {
  const std::size_t n = X.rows, d = X.cols, T = n_targets();
  const double nd = static_cast<double>(n);
  skew_sign_.assign(d, 0);
  thresholds_.assign(d, {});
  values_.assign(d, {});
  std::vector<float> sorted(n);
  std::vector<double> col(n);
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      sorted[i] = X(i, j);
      col[i] = static_cast<double>(X(i, j));
    }
    std::sort(sorted.begin(), sorted.end());
    const std::int32_t s = skew_sign(col);
    skew_sign_[j] = s;
    // F_l changes where x reaches a training value v, F_r just after it: cut at nextafter(v, -inf) and v.
    std::vector<float>& t = thresholds_[j];
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0 && sorted[i] == sorted[i - 1]) continue;
      t.push_back(std::nextafter(sorted[i], -std::numeric_limits<float>::infinity()));
      t.push_back(sorted[i]);
    }
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    std::vector<float>& v = values_[j];
    const double sd = static_cast<double>(s);
    auto add_piece = [&](float rep) {
      const auto le = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), rep) - sorted.begin());
      const auto ge = nd - static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), rep) - sorted.begin());
      const double ul = -1.0 * std::log(std::max(le, 1.0) / nd);
      const double ur = -1.0 * std::log(std::max(ge, 1.0) / nd);
      const double uskew = ul * -1.0 * sign(sd - 1.0) + ur * sign(sd + 1.0);
      if (paper_) {
        v.push_back(static_cast<float>(ul));
        v.push_back(static_cast<float>(ur));
        v.push_back(static_cast<float>(uskew));
      } else if (max_rule_) {
        v.push_back(static_cast<float>(std::max(std::max(ul, ur), uskew)));
      } else {
        v.push_back(static_cast<float>(std::max(uskew, (ul + ur) / 2.0)));
      }
    };
    for (float cut : t) add_piece(cut);
    add_piece(std::nextafter(t.back(), std::numeric_limits<float>::infinity()));
    detail::merge_equal_pieces(t, v, T);
  }
  std::vector<float> train(n);
  score_impl(X, train.data());
  return train;
}

void EcdfTailDetector::score_impl(MatrixView X, float* out) const {
  float sums[3];
  const std::size_t T = n_targets();
  for (std::size_t i = 0; i < X.rows; ++i) {
    detail::step_sums(thresholds_, values_, T, X.row(i), sums);
    out[i] = T == 1 ? sums[0] : std::max(std::max(sums[0], sums[1]), sums[2]);
  }
}

json EcdfTailDetector::model_state() const {
  return json{{"skew_sign", to_blob(skew_sign_)}, {"steps", detail::step_tables_state(thresholds_, values_)}};
}

void EcdfTailDetector::load_model_state(const json& s) {
  skew_sign_ = ints_from_blob(s, "skew_sign");
  if (skew_sign_.size() != n_features()) throw CorruptModel(algorithm() + ": skew_sign has the wrong size");
  detail::load_step_tables(s.at("steps"), n_features(), n_targets(), thresholds_, values_);
}

Ecod::Ecod(const json& params) : EcdfTailDetector("ecod", params) {}

namespace detail {
void register_ecod() {
  register_algorithm(AlgorithmInfo{
      "ecod", "ECOD: sum over features of the largest of -log left tail, -log right tail and the skew-corrected tail",
      "Li et al. (2022), ECOD, IEEE TKDE; PyOD pyod/models/ecod.py decision_function as released through PyOD 2.x "
      "(commit 8e6218e0: O = max(U_l, U_r, U_skew) per feature, summed), ECDFs from training data only", ecdf_tail_params(), false,
      true, "", [](const json& p) { return std::make_unique<Ecod>(p); }});
}
}  // namespace detail

}  // namespace nomaly
