// One-Class SVM -> RBF kernel in double precision: ||x||^2 - 2 x.SV^T + ||sv||^2 (MatMul, ReduceSumSquare),
// clamped at 0, Exp(-gamma d2), MatMul with the dual coefficients, rho minus that, Cast to float, Reshape [N].
// Double keeps parity with libsvm's double arithmetic: a float32 sum of ~nu*n kernel terms can be off by more
// than 1e-4 near the decision boundary, where the score is close to 0.
#include <algorithm>
#include <cmath>

#include "nomaly/detectors/ocsvm.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::Attr;
constexpr std::int64_t kDouble = 11, kFloat = 1;

// A double constant from float initializers: hi = float(v), lo = float(v - hi), Cast both, Add (~48 bits).
std::string double_const(onnx_build::GraphBuilder& g, const std::string& name, const std::vector<double>& v,
                         const std::vector<std::int64_t>& dims) {
  std::vector<float> hi(v.size()), lo(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    hi[i] = static_cast<float>(v[i]);
    lo[i] = static_cast<float>(v[i] - static_cast<double>(hi[i]));
  }
  const bool scalar = dims.empty();
  const std::string h = scalar ? g.scalar(name + "_hi", hi[0]) : g.initializer(name + "_hi", hi, dims);
  const std::string l = scalar ? g.scalar(name + "_lo", lo[0]) : g.initializer(name + "_lo", lo, dims);
  return g.node("Add", {g.node("Cast", {h}, {Attr{"to", kDouble}}), g.node("Cast", {l}, {Attr{"to", kDouble}})});
}

// A double scalar that may lie outside float32's range (gamma = 1/(d Var X) for huge or tiny data):
// mantissa as hi + lo, times 2^e in exactly representable float steps of at most 2^120.
std::string double_scalar(onnx_build::GraphBuilder& g, const std::string& name, double v) {
  const double a = std::fabs(v);
  if (a == 0.0 || (a > 1e-30 && a < 1e30)) return double_const(g, name, {v}, {});
  int e = 0;
  const double mantissa = std::frexp(v, &e);
  std::string out = double_const(g, name, {mantissa}, {});
  while (e != 0) {
    const int step = std::clamp(e, -120, 120);
    const std::string p = g.node("Cast", {g.scalar(name + "_pow2", std::ldexp(1.0f, step))}, {Attr{"to", kDouble}});
    out = g.node("Mul", {out, p});
    e -= step;
  }
  return out;
}

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* svm = dynamic_cast<const OneClassSvm*>(&det);
  if (!svm) throw OnnxExportError("ocsvm: detector is not a OneClassSvm");
  const std::size_t d = svm->n_features(), m = svm->n_support();
  const auto& sv = svm->support_vectors();
  std::vector<float> sv_t(d * m);  // [d, m] so that x [N, d] @ sv_t needs no Transpose
  for (std::size_t s = 0; s < m; ++s)
    for (std::size_t j = 0; j < d; ++j) sv_t[j * m + s] = sv[s * d + j];
  const auto D = static_cast<std::int64_t>(d), M = static_cast<std::int64_t>(m);

  const std::string xd = g.node("Cast", {x}, {Attr{"to", kDouble}});
  const std::string svd = g.node("Cast", {g.initializer("support_vectors_t", sv_t, {D, M})}, {Attr{"to", kDouble}});
  const std::string x2 =
      g.node("ReduceSumSquare", {xd}, {Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{1}}});
  const std::string sv2 =
      g.node("ReduceSumSquare", {svd}, {Attr{"axes", std::vector<std::int64_t>{0}}, Attr{"keepdims", std::int64_t{1}}});
  const std::string cross = g.node("MatMul", {xd, svd});
  const std::string twice = g.node("Mul", {cross, double_const(g, "two", {2.0}, {})});
  const std::string d2 = g.node("Sub", {g.node("Add", {x2, sv2}), twice});
  const std::string d2c = g.node("Max", {d2, double_const(g, "zero", {0.0}, {})});
  const std::string k = g.node("Exp", {g.node("Mul", {d2c, double_scalar(g, "neg_gamma", -svm->gamma())})});
  const std::string sum = g.node("MatMul", {k, double_const(g, "dual_coef", svm->dual_coef(), {M, 1})});
  const std::string score = g.node("Sub", {double_scalar(g, "rho", svm->rho()), sum});
  const std::string scoref = g.node("Cast", {score}, {Attr{"to", kFloat}});
  doc = "One-Class SVM score rho - sum_i alpha_i exp(-gamma ||x - sv_i||^2) = -decision_function; higher = more "
        "anomalous (Schölkopf et al. 2001, libsvm / scikit-learn).";
  return g.node("Reshape", {scoref, g.initializer_int64("flat_shape", {-1}, {1})});
}

}  // namespace

void register_ocsvm_converter() { register_onnx_converter("ocsvm", convert); }

}  // namespace nomaly::detail
