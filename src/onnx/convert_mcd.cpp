// MCD -> (x - location) (Sub) -> MatMul with W, where precision = W W^T (W = V sqrt(Lambda) from the precision's
// eigendecomposition, zero eigenvalues dropped) -> ReduceSumSquare: the squared robust Mahalanobis distance.
// Computed in double inside the graph (Cast): in float32 the centred product loses ~1e-4 relative on
// ill-conditioned covariances (vertebral). GraphBuilder has float initializers only, so each double constant is
// stored as float hi + float lo (Cast + Add, folded by ONNX Runtime at load), ~48 significant bits.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "nomaly/detectors/mcd.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::Attr;

// A double tensor as Cast(hi) + Cast(lo) with hi = float(v), lo = float(v - hi).
std::string double_constant(onnx_build::GraphBuilder& g, const std::string& name, const std::vector<double>& v,
                            const std::vector<std::int64_t>& dims) {
  std::vector<float> hi(v.size()), lo(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    hi[i] = static_cast<float>(v[i]);
    lo[i] = static_cast<float>(v[i] - static_cast<double>(hi[i]));
  }
  const std::vector<Attr> to_double{Attr{"to", std::int64_t{11}}};
  return g.node("Add", {g.node("Cast", {g.initializer(name + "_hi", hi, dims)}, to_double),
                        g.node("Cast", {g.initializer(name + "_lo", lo, dims)}, to_double)});
}

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* mcd = dynamic_cast<const McdDetector*>(&det);
  if (!mcd) throw OnnxExportError("mcd: detector is not an McdDetector");
  const auto d = static_cast<Eigen::Index>(mcd->n_features());
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> P(mcd->precision().data(), d, d);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es{Eigen::MatrixXd(P)};
  std::vector<Eigen::Index> keep;
  for (Eigen::Index i = 0; i < d; ++i)
    if (es.eigenvalues()[i] > 0.0) keep.push_back(i);
  if (keep.empty()) keep.push_back(d - 1);  // a zero precision: one zero column keeps the graph well-formed
  const auto r = static_cast<Eigen::Index>(keep.size());
  std::vector<double> Wd(static_cast<std::size_t>(d * r));
  for (Eigen::Index c = 0; c < r; ++c) {
    const Eigen::Index e = keep[static_cast<std::size_t>(c)];
    const double s = std::sqrt(std::max(0.0, es.eigenvalues()[e]));
    for (Eigen::Index j = 0; j < d; ++j) Wd[static_cast<std::size_t>(j * r + c)] = es.eigenvectors()(j, e) * s;
  }
  const std::string c = g.node("Sub", {g.node("Cast", {x}, {Attr{"to", std::int64_t{11}}}), double_constant(g, "location", mcd->location(), {d})});
  const std::string t = g.node("MatMul", {c, double_constant(g, "precision_sqrt", Wd, {d, r})});
  doc = "Squared robust Mahalanobis distance to the FastMCD location and covariance (Rousseeuw & Van Driessen 1999; "
        "sklearn MinCovDet.mahalanobis); higher = more anomalous.";
  const std::string sq = g.node("ReduceSumSquare", {t}, {Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}});
  return g.node("Cast", {sq}, {Attr{"to", std::int64_t{1}}});
}

}  // namespace

void register_mcd_converter() { register_onnx_converter("mcd", convert); }

}  // namespace nomaly::detail
