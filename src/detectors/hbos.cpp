#include "nomaly/detectors/hbos.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/registry.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly {

namespace {

std::vector<ParamSpec> hbos_params() {
  return {
      {"n_bins", 10, "int in [1, 100000]", "equal-width bins per feature"},
      {"alpha", 0.1, "float in (0, 1)", "regulariser added to bin densities before log2"},
      {"tol", 0.5, "float in (0, 1)", "out-of-range tolerance in edge-bin widths"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
  };
}

constexpr std::int64_t kMaxBins = 100000;
constexpr std::size_t kMaxTotalBins = std::size_t{1} << 25;

double open_unit(const json& p, const std::string& name) {
  const double v = param_float(p, name);
  if (!(v > 0.0 && v < 1.0)) throw ParameterError("parameter '" + name + "' must be in (0, 1) (as in PyOD), got " + p.at(name).dump());
  return v;
}

}  // namespace

Hbos::Hbos(const json& params) : Detector("hbos", params) {
  const std::int64_t b = param_int(this->params(), "n_bins");
  // The upper bound keeps a mistyped count from exhausting memory (d x n_bins doubles, several times).
  if (b < 1 || b > kMaxBins)
    throw ParameterError("parameter 'n_bins' must be in [1, " + std::to_string(kMaxBins) + "], got " + std::to_string(b));
  n_bins_ = static_cast<std::size_t>(b);
  alpha_ = open_unit(this->params(), "alpha");
  tol_ = open_unit(this->params(), "tol");
}

std::vector<float> Hbos::fit_impl(MatrixView X) {
  const std::size_t n = X.rows, d = X.cols, B = n_bins_;
  // Each bin costs ~48 bytes (edges, densities, counts, scores): the total is bounded too (~1.6 GB).
  if (static_cast<double>(B) * static_cast<double>(d) > static_cast<double>(kMaxTotalBins))
    throw ParameterError("parameter 'n_bins' = " + std::to_string(B) + " for " + std::to_string(d) + " features is " +
                         std::to_string(B * d) + " bins; at most " + std::to_string(kMaxTotalBins) + " (2^25) in all");
  edges_.assign(d, {});
  hist_.assign(d, {});
  thresholds_.assign(d, {});
  values_.assign(d, {});
  std::vector<double> col(n);
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < n; ++i) col[i] = static_cast<double>(X(i, j));
    auto [lo_it, hi_it] = std::minmax_element(col.begin(), col.end());
    double lo = *lo_it, hi = *hi_it;
    if (lo == hi) {  // numpy.histogram widens a degenerate range by 0.5 on each side
      lo -= 0.5;
      hi += 0.5;
    }
    // numpy.linspace(lo, hi, B + 1): i * step + lo, the last edge exactly hi.
    std::vector<double>& e = edges_[j];
    e.resize(B + 1);
    const double step = (hi - lo) / static_cast<double>(B);
    for (std::size_t b = 0; b < B; ++b) e[b] = static_cast<double>(b) * step + lo;
    e[B] = hi;
    // numpy.histogram bins are [e_b, e_{b+1}), the last one closed.
    std::vector<double> count(B, 0.0);
    for (double v : col) count[static_cast<std::size_t>(std::upper_bound(e.begin() + 1, e.begin() + static_cast<std::ptrdiff_t>(B), v) - (e.begin() + 1))] += 1.0;
    std::vector<double>& h = hist_[j];
    h.resize(B);
    for (std::size_t b = 0; b < B; ++b) h[b] = count[b] / (e[b + 1] - e[b]) / static_cast<double>(n);

    std::vector<double> log_dens(B);
    for (std::size_t b = 0; b < B; ++b) log_dens[b] = std::log2(h[b] + alpha_);
    const double worst = *std::min_element(log_dens.begin(), log_dens.end());
    const double tol = tol_;
    // PyOD's _calculate_outlier_scores as a monotone category: 0 far left, 1 near left, 2..B+1 bins, B+2 near
    // right, B+3 far right. digitize(right=True) = number of edges strictly below x.
    auto category = [&e, B, tol](float xf) -> long {
      const double x = static_cast<double>(xf);
      const auto bi = static_cast<std::size_t>(std::lower_bound(e.begin(), e.end(), x) - e.begin());
      if (bi == 0) return (e[0] - x <= (e[1] - e[0]) * tol) ? 1 : 0;
      if (bi == B + 1) return (x - e[B] <= (e[B] - e[B - 1]) * tol) ? static_cast<long>(B) + 2 : static_cast<long>(B) + 3;
      return static_cast<long>(bi) + 1;
    };
    auto leaf = [&](long c) -> float {
      double s;
      if (c == 0 || c == static_cast<long>(B) + 3) s = worst;
      else if (c == 1) s = log_dens[0];
      else if (c == static_cast<long>(B) + 2) s = log_dens[B - 1];
      else s = log_dens[static_cast<std::size_t>(c - 2)];
      return static_cast<float>(-s);
    };
    std::vector<double> breaks(e.begin(), e.end());
    breaks.push_back(e[0] - (e[1] - e[0]) * tol);
    breaks.push_back(e[B] + (e[B] - e[B - 1]) * tol);
    std::vector<float>& t = thresholds_[j];
    t = detail::float_cut_points(category, breaks);
    std::vector<float>& v = values_[j];
    for (float cut : t) v.push_back(leaf(category(cut)));
    v.push_back(leaf(category(t.empty() ? 0.0f : std::nextafter(t.back(), std::numeric_limits<float>::infinity()))));
    detail::merge_equal_pieces(t, v, 1);
  }
  std::vector<float> train(n);
  score_impl(X, train.data());
  return train;
}

void Hbos::score_impl(MatrixView X, float* out) const {
  for (std::size_t i = 0; i < X.rows; ++i) detail::step_sums(thresholds_, values_, 1, X.row(i), out + i);
}

json Hbos::model_state() const {
  std::vector<double> e, h;
  for (std::size_t j = 0; j < edges_.size(); ++j) {
    e.insert(e.end(), edges_[j].begin(), edges_[j].end());
    h.insert(h.end(), hist_[j].begin(), hist_[j].end());
  }
  return json{{"n_bins", n_bins_}, {"bin_edges", to_blob(e)}, {"hist", to_blob(h)},
              {"steps", detail::step_tables_state(thresholds_, values_)}};
}

void Hbos::load_model_state(const json& s) {
  const std::size_t d = n_features();
  if (s.at("n_bins").get<std::size_t>() != n_bins_) throw CorruptModel("hbos: n_bins in the model state differs from params");
  const auto e = doubles_from_blob(s, "bin_edges");
  const auto h = doubles_from_blob(s, "hist");
  const std::size_t B = n_bins_;
  if (e.size() != d * (B + 1) || h.size() != d * B) throw CorruptModel("hbos: histogram arrays have the wrong size");
  edges_.assign(d, {});
  hist_.assign(d, {});
  for (std::size_t j = 0; j < d; ++j) {
    edges_[j].assign(e.begin() + static_cast<std::ptrdiff_t>(j * (B + 1)), e.begin() + static_cast<std::ptrdiff_t>((j + 1) * (B + 1)));
    hist_[j].assign(h.begin() + static_cast<std::ptrdiff_t>(j * B), h.begin() + static_cast<std::ptrdiff_t>((j + 1) * B));
  }
  detail::load_step_tables(s.at("steps"), d, 1, thresholds_, values_);
}

namespace detail {
void register_hbos() {
  register_algorithm(AlgorithmInfo{
      "hbos", "Histogram-Based Outlier Score: sum of -log2 per-feature histogram densities",
      "Goldstein & Dengel (2012), HBOS, KI-2012; PyOD HBOS semantics (static bins)", hbos_params(), false, true, "",
      [](const json& p) { return std::make_unique<Hbos>(p); }});
}
}  // namespace detail

}  // namespace nomaly
