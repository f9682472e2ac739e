// PCA -> z = (x - mean) / scale (Cast to double, Sub, Div) -> ||z - v_j||^2 = |z|^2 - 2 z.v_j + |v_j|^2
// (ReduceSumSquare, MatMul, Add) -> Max(., 0) -> Sqrt -> Gemm with the inverse explained-variance ratios: PyOD's
// sum(cdist(z, components) / ratios), all in double as the native score_impl, cast to float at the end.
// Float32 overflowed for rows near float32's max (x - mean beyond FLT_MAX: ONNX inf, native 30.2), and rounded
// the standardisation of 1e30-scale columns. The -2 is folded into the component matrix (exact).
#include "nomaly/detectors/pca.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::Attr;

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* pca = dynamic_cast<const PcaDetector*>(&det);
  if (!pca) throw OnnxExportError("pca: detector is not a PcaDetector");
  const std::size_t d = pca->n_features(), k = pca->n_selected();
  const auto& comps = pca->components();
  std::vector<double> vt(d * k), vv(k), invw(pca->inverse_weights().begin(), pca->inverse_weights().begin() + static_cast<std::ptrdiff_t>(k));
  for (std::size_t c = 0; c < k; ++c) {
    double sq = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double v = comps[c * d + j];
      vt[j * k + c] = -2.0 * v;
      sq += v * v;
    }
    vv[c] = sq;
  }
  const auto di = static_cast<std::int64_t>(d), ki = static_cast<std::int64_t>(k);
  std::string z = g.node("Cast", {x}, {Attr{"to", std::int64_t{11}}});
  if (param_bool(pca->params(), "standardization"))
    z = g.node("Div", {g.node("Sub", {z, g.initializer_double("scaler_mean", pca->mean(), {di})}),
                       g.initializer_double("scaler_scale", pca->scale(), {di})});
  const std::string zz = g.node("ReduceSumSquare", {z}, {Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{1}}});
  const std::string zv = g.node("MatMul", {z, g.initializer_double("components_t_x_minus2", vt, {di, ki})});
  const std::string sq = g.node("Add", {g.node("Add", {zv, zz}), g.initializer_double("components_sq_norms", vv, {ki})});
  const std::string dist = g.node("Sqrt", {g.node("Max", {sq, g.initializer_double("zero", {0.0}, {})})});
  doc = "PyOD PCA outlier score: sum over the selected principal components of the distance from the standardized "
        "row to the component, divided by its explained variance ratio (Shyu et al. 2003); higher = more anomalous.";
  // Gemm against a [k, 1] column, not MatMul against a [k] vector: ORT's matrix-vector MatMul took half the run.
  const std::string weighted = g.node("Gemm", {dist, g.initializer_double("inverse_variance_ratios", invw, {ki, 1})});
  return g.node("Cast", {g.node("Reshape", {weighted, g.initializer_int64("flat_shape", {-1}, {1})})}, {Attr{"to", std::int64_t{1}}});
}

}  // namespace

void register_pca_converter() { register_onnx_converter("pca", convert); }

}  // namespace nomaly::detail
