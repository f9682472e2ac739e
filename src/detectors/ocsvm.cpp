#include "nomaly/detectors/ocsvm.hpp"

#include <libsvm/svm.h>

#include <cmath>
#include <memory>
#include <mutex>

#include "core/parallel.hpp"
#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/registry.hpp"

namespace nomaly {

namespace {

std::vector<ParamSpec> ocsvm_params() {
  return {
      {"kernel", "rbf", "\"rbf\"", "kernel (RBF only)"},
      {"nu", 0.5, "float in (0, 1]", "bound on the training-error and support-vector shares"},
      {"gamma", "scale", "\"scale\" | \"auto\" | float > 0", "RBF coefficient; scale = 1/(d Var X), auto = 1/d"},
      {"tol", 1e-3, "float > 0", "libsvm stopping tolerance"},
      {"shrinking", true, "bool", "libsvm shrinking heuristic"},
      {"cache_size", 200.0, "float > 0", "kernel cache in MB"},
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share (PyOD default 0.1)"},
      {"n_jobs", 0, "int (0 = all cores)", "threads for scoring"},
  };
}

struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};
using ModelPtr = std::unique_ptr<svm_model, ModelDeleter>;

void silence_libsvm() {
  static std::once_flag once;
  std::call_once(once, [] { svm_set_print_string_function([](const char*) {}); });
}

double positive(const json& p, const std::string& name) {
  const double v = param_float(p, name);
  if (!(v > 0.0) || !std::isfinite(v)) throw ParameterError("parameter '" + name + "' must be > 0, got " + p.at(name).dump());
  return v;
}

}  // namespace

OneClassSvm::OneClassSvm(const json& params) : Detector("ocsvm", params) {
  const json& p = this->params();
  if (param_string(p, "kernel") != "rbf")
    throw ParameterError("parameter 'kernel' supports only \"rbf\", got \"" + param_string(p, "kernel") + "\"");
  nu_ = param_float(p, "nu");
  if (!(nu_ > 0.0 && nu_ <= 1.0)) throw ParameterError("parameter 'nu' must be in (0, 1], got " + p.at("nu").dump());
  const json& g = p.at("gamma");
  if (g.is_string()) {
    if (g != "scale" && g != "auto")
      throw ParameterError("parameter 'gamma' expects \"scale\", \"auto\" or a number > 0, got " + g.dump());
  } else {
    positive(p, "gamma");
  }
  tol_ = positive(p, "tol");
  cache_mb_ = positive(p, "cache_size");
  shrinking_ = param_bool(p, "shrinking");
}

std::vector<float> OneClassSvm::fit_impl(MatrixView X) {
  const std::size_t n = X.rows, d = X.cols;
  const json& g = params().at("gamma");
  if (g.is_string() && g == "scale") {
    // numpy X.var(): mean of squared deviations from the mean, over all n*d values.
    const double count = static_cast<double>(n * d);
    double mean = 0.0;
    for (std::size_t k = 0; k < n * d; ++k) mean += static_cast<double>(X.data[k]);
    mean /= count;
    double var = 0.0;
    for (std::size_t k = 0; k < n * d; ++k) {
      const double a = static_cast<double>(X.data[k]) - mean;
      var += a * a;
    }
    var /= count;
    gamma_ = var != 0.0 ? 1.0 / (static_cast<double>(d) * var) : 1.0;
  } else if (g.is_string()) {
    gamma_ = 1.0 / static_cast<double>(d);
  } else {
    gamma_ = param_float(params(), "gamma");
  }

  // Dense rows in libsvm's sparse format (index 1..d, terminated by -1); they must outlive the model.
  std::vector<svm_node> nodes(n * (d + 1));
  std::vector<svm_node*> rows(n);
  std::vector<double> y(n, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    svm_node* r = &nodes[i * (d + 1)];
    for (std::size_t j = 0; j < d; ++j) r[j] = {static_cast<int>(j + 1), static_cast<double>(X(i, j))};
    r[d] = {-1, 0.0};
    rows[i] = r;
  }
  svm_problem prob{static_cast<int>(n), y.data(), rows.data()};
  svm_parameter par{};
  par.svm_type = ONE_CLASS;
  par.kernel_type = RBF;
  par.degree = 3;
  par.gamma = gamma_;
  par.coef0 = 0.0;
  par.cache_size = cache_mb_;
  par.eps = tol_;
  par.C = 1.0;
  par.nr_weight = 0;
  par.nu = nu_;
  par.p = 0.1;
  par.shrinking = shrinking_ ? 1 : 0;
  par.probability = 0;
  if (const char* err = svm_check_parameter(&prob, &par)) throw ParameterError(std::string("ocsvm: libsvm rejected the parameters: ") + err);
  silence_libsvm();
  ModelPtr model(svm_train(&prob, &par));
  if (!model || model->l <= 0) throw ModelError("ocsvm: libsvm training produced no support vectors");

  const auto l = static_cast<std::size_t>(model->l);
  sv_.assign(l * d, 0.0f);
  coef_.resize(l);
  for (std::size_t i = 0; i < l; ++i) {
    for (const svm_node* nd = model->SV[i]; nd->index != -1; ++nd)
      sv_[i * d + static_cast<std::size_t>(nd->index - 1)] = static_cast<float>(nd->value);  // training values, exact
    coef_[i] = model->sv_coef[0][i];
  }
  rho_ = model->rho[0];

  std::vector<float> train(n);
  score_impl(X, train.data());
  return train;
}

void OneClassSvm::score_impl(MatrixView X, float* out) const {
  const std::size_t d = X.cols, l = coef_.size();
  detail::parallel_blocks(X.rows, 64, n_jobs(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const float* x = X.row(i);
      double sum = 0.0;
      for (std::size_t s = 0; s < l; ++s) {
        const float* v = &sv_[s * d];
        double d2 = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
          const double diff = static_cast<double>(x[j]) - static_cast<double>(v[j]);
          d2 += diff * diff;
        }
        sum += coef_[s] * std::exp(-gamma_ * d2);
      }
      out[i] = static_cast<float>(rho_ - sum);
    }
  });
}

json OneClassSvm::model_state() const {
  return json{{"support_vectors", to_blob(sv_)},
              {"dual_coef", to_blob(coef_)},
              {"rho_gamma", to_blob(std::vector<double>{rho_, gamma_})}};
}

void OneClassSvm::load_model_state(const json& s) {
  sv_ = floats_from_blob(s, "support_vectors");
  coef_ = doubles_from_blob(s, "dual_coef");
  const auto rg = doubles_from_blob(s, "rho_gamma");
  if (rg.size() != 2) throw CorruptModel("ocsvm: rho_gamma must hold 2 values");
  rho_ = rg[0];
  gamma_ = rg[1];
  if (coef_.empty() || sv_.size() != coef_.size() * n_features())
    throw CorruptModel("ocsvm: support vectors and coefficients disagree in size");
}

namespace detail {
void register_ocsvm() {
  register_algorithm(AlgorithmInfo{
      "ocsvm", "One-Class SVM (RBF kernel, libsvm); score = -decision_function",
      "Schölkopf et al. (2001), Neural Computation; libsvm; scikit-learn OneClassSVM semantics", ocsvm_params(), false,
      true, "", [](const json& p) { return std::make_unique<OneClassSvm>(p); }});
}
}  // namespace detail

}  // namespace nomaly
