// KNN -> the exact kNN subgraph (knn_graph.hpp) -> Sqrt -> ReduceMax | ReduceMean | mean of the middle pair.
#include <algorithm>
#include <cmath>

#include "nomaly/detectors/knn.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/knn_graph.hpp"

namespace nomaly::detail {

using onnx_build::Attr;

KnnGraph knn_subgraph(onnx_build::GraphBuilder& g, const std::string& x, const std::vector<float>& train, std::size_t n,
                      std::size_t d, std::size_t k) {
  // Centre on the training mean when a common offset dominates the spread (it would cancel catastrophically in
  // |x|^2 - 2 x.y + |y|^2), and scale by a power of two s that brings the largest value near 1 (float32 squares
  // of 1e20 or 1e-25 overflow or underflow). Without an offset nothing is centred, so integer-valued data keep
  // exact candidate values and exact ties still go to the lower index. s is exact: the exact stage below
  // equals the unscaled computation.
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[j] += train[i * d + j];
  std::vector<float> mu(d);
  for (std::size_t j = 0; j < d; ++j) mu[j] = static_cast<float>(mean[j] / static_cast<double>(std::max<std::size_t>(n, 1)));
  double spread = 0.0, raw = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      spread = std::max(spread, std::abs(static_cast<double>(train[i * d + j]) - mu[j]));
      raw = std::max(raw, std::abs(static_cast<double>(train[i * d + j])));
    }
  if (!(raw > 16.0 * spread)) {
    std::fill(mu.begin(), mu.end(), 0.0f);
    spread = raw;
  }
  const float s = spread > 0.0 && std::isfinite(spread) ? std::ldexp(1.0f, -std::ilogb(spread)) : 1.0f;

  std::vector<float> minus2_t(d * n), yy(n);
  for (std::size_t i = 0; i < n; ++i) {
    double sq = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double c = (static_cast<double>(train[i * d + j]) - mu[j]) * s;
      minus2_t[j * n + i] = static_cast<float>(-2.0 * c);
      sq += c * c;
    }
    yy[i] = static_cast<float>(sq);
  }
  const auto ni = static_cast<std::int64_t>(n), di = static_cast<std::int64_t>(d);
  const std::size_t m = std::min(n, 2 * k + 8);
  const std::string Y = g.initializer("train_rows", train, {ni, di});
  const std::string Ym2t = g.initializer("train_centred_scaled_t_x_minus2", minus2_t, {di, ni});
  const std::string YY = g.initializer("train_centred_scaled_sq_norms", yy, {ni});
  const std::string scale = g.scalar("distance_scale", s);

  // |x|^2 is the same for every candidate of a row, so ranking by |y|^2 - 2 x.y picks the same ones: one Gemm
  // (bias broadcast over rows) instead of MatMul and two full [N, n] Adds, which dominated the run time.
  const std::string xs = g.node("Mul", {g.node("Sub", {x, g.initializer("train_mean", mu, {di})}), scale});
  const std::string approx = g.node("Gemm", {xs, Ym2t, YY});
  const std::string m_k = g.initializer_int64("n_candidates", {static_cast<std::int64_t>(m)}, {1});
  const auto cand = g.node_multi("TopK", {approx, m_k}, {"knn_candidate_sq_dist", "knn_candidate_index"},
                                 {Attr{"axis", std::int64_t{1}}, Attr{"largest", std::int64_t{0}}, Attr{"sorted", std::int64_t{1}}});
  // Candidates back in training-index order, so that the exact TopK below breaks distance ties by lower index
  // (exactly tied distinct rows are common in quantized data; their approximate distances differ).
  const auto by_index = g.node_multi("TopK", {cand[1], m_k}, {"knn_candidate_index_sorted", "knn_candidate_order"},
                                     {Attr{"axis", std::int64_t{1}}, Attr{"largest", std::int64_t{0}}, Attr{"sorted", std::int64_t{1}}});
  const std::string& cidx = by_index[0];
  const std::string rows = g.node("Gather", {Y, cidx}, {Attr{"axis", std::int64_t{0}}});  // [N, m, d]
  const std::string axis1 = g.initializer_int64("unsqueeze_axis1", {1}, {1});
  // Differences of the raw float32 rows (exact for nearby values), then the same power-of-two scale.
  const std::string diff = g.node("Mul", {g.node("Sub", {rows, g.node("Unsqueeze", {x, axis1})}), scale});
  const std::string exact = g.node("ReduceSumSquare", {diff}, {Attr{"axes", std::vector<std::int64_t>{2}}, Attr{"keepdims", std::int64_t{0}}});
  const std::string kk = g.initializer_int64("n_neighbors", {static_cast<std::int64_t>(k)}, {1});
  const auto top = g.node_multi("TopK", {exact, kk}, {"knn_sq_dist", "knn_position"},
                                {Attr{"axis", std::int64_t{1}}, Attr{"largest", std::int64_t{0}}, Attr{"sorted", std::int64_t{1}}});
  const std::string index = g.node("GatherElements", {cidx, top[1]}, {Attr{"axis", std::int64_t{1}}});
  const std::string dist = g.node("Div", {g.node("Sqrt", {top[0]}), scale});
  return {dist, index};
}

namespace {

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* knn = dynamic_cast<const KnnDetector*>(&det);
  if (!knn) throw OnnxExportError("knn: detector is not a KnnDetector");
  const std::size_t k = knn->n_neighbors();
  const KnnGraph nn = knn_subgraph(g, x, knn->train_rows(), knn->n_train(), knn->n_features(), k);
  const std::string& dist = nn.dist;  // [N, k] ascending
  const std::vector<Attr> over_k{Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}};
  switch (knn->method()) {
    case KnnDetector::Method::Largest:
      doc = "Distance to the k-th nearest training row (PyOD KNN, method largest); higher = more anomalous.";
      return g.node("ReduceMax", {dist}, over_k);
    case KnnDetector::Method::Mean:
      doc = "Mean distance to the k nearest training rows (PyOD KNN, method mean); higher = more anomalous.";
      return g.node("ReduceMean", {dist}, over_k);
    case KnnDetector::Method::Median: {
      doc = "Median distance to the k nearest training rows (PyOD KNN, method median); higher = more anomalous.";
      const std::string lo = g.initializer_int64("median_lo", {static_cast<std::int64_t>((k - 1) / 2)}, {});
      const std::string hi = g.initializer_int64("median_hi", {static_cast<std::int64_t>(k / 2)}, {});
      const std::string a = g.node("Gather", {dist, lo}, {Attr{"axis", std::int64_t{1}}});
      const std::string b = g.node("Gather", {dist, hi}, {Attr{"axis", std::int64_t{1}}});
      return g.node("Mul", {g.node("Add", {a, b}), g.scalar("half", 0.5f)});
    }
  }
  throw OnnxExportError("knn: unknown method");
}

}  // namespace

void register_knn_converter() { register_onnx_converter("knn", convert); }

}  // namespace nomaly::detail
