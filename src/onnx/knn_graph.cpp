// The exact kNN subgraph and the row-chunk Loop (knn_graph.hpp explains the method and its error bound).
#include "onnx/knn_graph.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nomaly::detail {

using onnx_build::Attr;
using onnx_build::Elem;

namespace {

constexpr std::int64_t kDouble = 11;
const std::vector<onnx_build::Dim> kScalar{};
constexpr std::size_t kChunkBytes = std::size_t{1} << 27;  // per-chunk working set of the kNN stages

std::vector<Attr> axes(std::int64_t a, bool keep = false) {
  return {Attr{"axes", std::vector<std::int64_t>{a}}, Attr{"keepdims", std::int64_t{keep ? 1 : 0}}};
}

std::vector<Attr> topk_smallest(std::int64_t axis = 1) {
  return {Attr{"axis", axis}, Attr{"largest", std::int64_t{0}}, Attr{"sorted", std::int64_t{1}}};
}

std::string to_double(onnx_build::GraphBuilder& g, const std::string& v) {
  return g.node("Cast", {v}, {Attr{"to", kDouble}});
}

// The k smallest entries of each row of sq ([R, c] double) as (values, positions).
std::vector<std::string> smallest(onnx_build::GraphBuilder& g, const std::string& sq, const std::string& count) {
  return g.node_fresh("TopK", {sq, count}, 2, topk_smallest());
}

// Redoes the rows of `bad` ([nb] int64 positions in xd) against all n training rows, in double, and scatters
// their k squared distances and indices into (sq, index).
KnnGraph exact_fallback(onnx_build::GraphBuilder& g, const std::string& xd, const std::string& bad, const KnnConstants& c,
                        const KnnGraph& fast) {
  const std::string trips = g.node("Reshape", {g.node("Shape", {bad}), g.initializer_int64("scalar_shape", {}, {0})});
  const std::string it = g.fresh("fallback_iter"), cond = g.fresh("fallback_cond");
  const std::string sq_in = g.fresh("fallback_sq_in"), idx_in = g.fresh("fallback_idx_in");
  const std::size_t mark = g.begin_subgraph();
  const std::string r = g.node("Unsqueeze", {g.node("Gather", {bad, it}), g.initializer_int64("axis0", {0}, {1})});
  const std::string xr = g.node("Gather", {xd, r}, {Attr{"axis", std::int64_t{0}}});  // [1, d]
  const std::string all = g.node("ReduceSumSquare", {g.node("Sub", {to_double(g, c.rows), xr})}, axes(1));  // [n]
  const std::string kk = g.initializer_int64("n_neighbors_fallback", {static_cast<std::int64_t>(c.k)}, {1});
  const auto top = smallest(g, g.node("Unsqueeze", {all, g.initializer_int64("axis0_b", {0}, {1})}), kk);  // [1, k]
  const std::string at = g.node("Unsqueeze", {r, g.initializer_int64("axis1_b", {1}, {1})});               // [1, 1]
  const std::string sq_out = g.node("ScatterND", {sq_in, at, top[0]});
  const std::string idx_out = g.node("ScatterND", {idx_in, at, top[1]});
  const std::string cond_out = g.node("Identity", {cond});
  const onnx_build::Subgraph body = g.end_subgraph(
      mark, "knn_exact_fallback",
      {{it, Elem::Int64, kScalar}, {cond, Elem::Bool, kScalar}, {sq_in, Elem::Double, std::nullopt}, {idx_in, Elem::Int64, std::nullopt}},
      {{cond_out, Elem::Bool, std::nullopt}, {sq_out, Elem::Double, std::nullopt}, {idx_out, Elem::Int64, std::nullopt}});
  const auto out = g.node_fresh("Loop", {trips, "", fast.sq_dist, fast.index}, 2, {Attr{"body", body}});
  return {out[0], out[1]};
}

}  // namespace

KnnConstants knn_constants(onnx_build::GraphBuilder& g, const std::vector<float>& train, std::size_t n, std::size_t d,
                           std::size_t k) {
  KnnConstants c;
  c.n = n, c.d = d, c.k = k, c.m = std::min(n, 2 * k + 16);
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[j] += train[i * d + j];
  for (double& v : mean) v /= static_cast<double>(std::max<std::size_t>(n, 1));
  std::vector<double> minus2_t(d * n), yy(n);
  double ymax = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double sq = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double v = static_cast<double>(train[i * d + j]) - mean[j];
      minus2_t[j * n + i] = -2.0 * v;
      sq += v * v;
    }
    yy[i] = sq;
    ymax = std::max(ymax, sq);
  }
  const auto ni = static_cast<std::int64_t>(n), di = static_cast<std::int64_t>(d);
  c.rows = g.initializer("train_rows", train, {ni, di});
  c.mean = g.initializer_double("train_mean", mean, {di});
  c.minus2_t = g.initializer_double("train_centred_t_x_minus2", minus2_t, {di, ni});
  c.sq_norms = g.initializer_double("train_centred_sq_norms", yy, {ni});
  if (c.m < n) c.cert_bias = g.initializer_double("train_centred_sq_norm_max", {ymax}, {});  // read by the certificate only
  return c;
}

KnnGraph knn_subgraph(onnx_build::GraphBuilder& g, const std::string& x, const KnnConstants& c) {
  const std::string xd = to_double(g, x);
  const std::string xc = g.node("Sub", {xd, c.mean});
  // Step 1: candidates by the expanded form (bias broadcast over rows: one Gemm).
  const std::string approx = g.node("Gemm", {xc, c.minus2_t, c.sq_norms});
  const std::string m_k = g.initializer_int64("n_candidates", {static_cast<std::int64_t>(c.m)}, {1});
  const auto cand = smallest(g, approx, m_k);
  // Step 2: candidates back in training-index order, so that the exact TopK breaks ties by lower index.
  const auto by_index = g.node_fresh("TopK", {cand[1], m_k}, 2, topk_smallest());
  const std::string& cidx = by_index[0];
  const std::string rows = to_double(g, g.node("Gather", {c.rows, cidx}, {Attr{"axis", std::int64_t{0}}}));  // [B, m, d]
  const std::string xu = g.node("Unsqueeze", {xd, g.initializer_int64("axis1", {1}, {1})});
  const std::string exact = g.node("ReduceSumSquare", {g.node("Sub", {rows, xu})}, axes(2));
  const std::string kk = g.initializer_int64("n_neighbors", {static_cast<std::int64_t>(c.k)}, {1});
  const auto top = smallest(g, exact, kk);
  const KnnGraph fast{top[0], g.node("GatherElements", {cidx, top[1]}, {Attr{"axis", std::int64_t{1}}})};
  if (c.m >= c.n) return fast;  // every row was a candidate
  // Step 3: the certificate, and the exact redo of the rows that lack it.
  const double u = std::ldexp(1.0, -53);
  const std::string coef = g.initializer_double("certificate_coef", {2.2 * (4.0 * static_cast<double>(c.d) + 16.0) * u}, {});
  const std::string bound = g.node("Mul", {g.node("Add", {g.node("ReduceSumSquare", {xc}, axes(1)), c.cert_bias}), coef});
  const auto at = [&](std::size_t pos) {
    return g.node("Gather", {cand[0], g.initializer_int64("pos", {static_cast<std::int64_t>(pos)}, {})}, {Attr{"axis", std::int64_t{1}}});
  };
  const std::string gap = g.node("Sub", {at(c.m - 1), at(c.k - 1)});
  const std::string bad = g.node("Reshape", {g.node("NonZero", {g.node("Not", {g.node("Greater", {gap, bound})})}),
                                             g.initializer_int64("flat", {-1}, {1})});
  return exact_fallback(g, xd, bad, c, fast);
}

std::size_t knn_chunk_rows(std::size_t n, std::size_t d, std::size_t m) {
  const std::size_t per_row = 8 * n + 20 * m * d + 64;
  return std::max<std::size_t>(1, kChunkBytes / per_row);
}

std::string score_in_row_chunks(onnx_build::GraphBuilder& g, const std::string& x, std::size_t chunk_rows,
                                const std::function<std::string(const std::string&)>& body) {
  const auto i64 = [&](const std::string& name, std::int64_t v) { return g.initializer_int64(name, {v}, {1}); };
  const std::string one = i64("one", 1);
  const std::string n = g.node("Slice", {g.node("Shape", {x}), i64("zero", 0), one});  // [1]
  const std::string b = i64("chunk_rows_max", static_cast<std::int64_t>(chunk_rows));
  const auto ceil_div = [&](const std::string& a, const std::string& q) {
    return g.node("Max", {g.node("Div", {g.node("Add", {a, g.node("Sub", {q, one})}), q}), one});
  };
  const std::string trips = ceil_div(n, b);
  const std::string chunk = ceil_div(n, trips);  // even chunks: padding < trips rows
  const std::string pad = g.node("Sub", {g.node("Mul", {trips, chunk}), n});
  const std::string pads = g.node("Concat", {g.initializer_int64("pads_head", {0, 0}, {2}), pad, i64("pads_tail", 0)},
                                  {Attr{"axis", std::int64_t{0}}});
  const std::string xp = g.node("Pad", {x, pads});
  const std::string it = g.fresh("chunk_iter"), cond = g.fresh("chunk_cond");
  const std::size_t mark = g.begin_subgraph();
  const std::string start = g.node("Mul", {g.node("Unsqueeze", {it, i64("axis0_c", 0)}), chunk});
  const std::string part = g.node("Slice", {xp, start, g.node("Add", {start, chunk}), i64("axis0_s", 0)});
  const std::string scores = body(part);
  const std::string cond_out = g.node("Identity", {cond});
  const onnx_build::Subgraph sub =
      g.end_subgraph(mark, "row_chunk", {{it, Elem::Int64, kScalar}, {cond, Elem::Bool, kScalar}},
                     {{cond_out, Elem::Bool, std::nullopt}, {scores, Elem::Float, std::nullopt}});
  const std::string stacked =
      g.node("Loop", {g.node("Reshape", {trips, g.initializer_int64("scalar", {}, {0})}), ""}, {Attr{"body", sub}});
  return g.node("Slice", {g.node("Reshape", {stacked, i64("flat_all", -1)}), i64("zero_b", 0), n});
}

}  // namespace nomaly::detail
