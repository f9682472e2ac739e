// PCA -> z = (x - mean) / scale (Sub, Div) -> ||z - v_j||^2 = |z|^2 - 2 z.v_j + |v_j|^2 (ReduceSumSquare, MatMul,
// Add) -> Max(., 0) -> Sqrt -> MatMul with the inverse explained-variance ratios: PyOD's
// sum(cdist(z, components) / ratios). The -2 is folded into the component matrix (exact in float32).
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
  std::vector<float> vt(d * k), vv(k), invw(k);
  for (std::size_t c = 0; c < k; ++c) {
    double s = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const float v = static_cast<float>(comps[c * d + j]);
      vt[j * k + c] = -2.0f * v;
      s += static_cast<double>(v) * v;
    }
    vv[c] = static_cast<float>(s);
    invw[c] = static_cast<float>(pca->inverse_weights()[c]);
  }
  std::string z = x;
  if (param_bool(pca->params(), "standardization")) {
    const std::vector<float> mean(pca->mean().begin(), pca->mean().end()), scale(pca->scale().begin(), pca->scale().end());
    const auto di = static_cast<std::int64_t>(d);
    z = g.node("Div", {g.node("Sub", {x, g.initializer("scaler_mean", mean, {di})}), g.initializer("scaler_scale", scale, {di})});
  }
  const auto di = static_cast<std::int64_t>(d), ki = static_cast<std::int64_t>(k);
  const std::string zz = g.node("ReduceSumSquare", {z}, {Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{1}}});
  const std::string zv = g.node("MatMul", {z, g.initializer("components_t_x_minus2", vt, {di, ki})});
  const std::string sq = g.node("Add", {g.node("Add", {zv, zz}), g.initializer("components_sq_norms", vv, {ki})});
  const std::string dist = g.node("Sqrt", {g.node("Max", {sq, g.scalar("zero", 0.0f)})});
  doc = "PyOD PCA outlier score: sum over the selected principal components of the distance from the standardized "
        "row to the component, divided by its explained variance ratio (Shyu et al. 2003); higher = more anomalous.";
  // Gemm against a [k, 1] column, not MatMul against a [k] vector: ORT's matrix-vector MatMul took half the run.
  const std::string weighted = g.node("Gemm", {dist, g.initializer("inverse_variance_ratios", invw, {ki, 1})});
  return g.node("Reshape", {weighted, g.initializer_int64("flat_shape", {-1}, {1})});
}

}  // namespace

void register_pca_converter() { register_onnx_converter("pca", convert); }

}  // namespace nomaly::detail
