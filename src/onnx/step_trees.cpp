#include "onnx/step_trees.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "nomaly/detector.hpp"
#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace {

constexpr int kUlpWindow = 4;  // double-precision breakpoints are within one float ulp of the float transition

float up(float f) { return std::nextafter(f, std::numeric_limits<float>::infinity()); }
float down(float f) { return std::nextafter(f, -std::numeric_limits<float>::infinity()); }

}  // namespace

std::vector<float> float_cut_points(const std::function<long(float)>& category, const std::vector<double>& breakpoints) {
  constexpr float kMax = std::numeric_limits<float>::max();
  std::vector<float> cuts;
  for (double bp : breakpoints) {
    if (!std::isfinite(bp)) continue;
    float f = static_cast<float>(std::clamp(bp, -static_cast<double>(kMax), static_cast<double>(kMax)));
    for (int s = 0; s < kUlpWindow && f > -kMax; ++s) f = down(f);
    for (int s = 0; s < 2 * kUlpWindow && f < kMax; ++s, f = up(f))
      if (category(f) != category(up(f))) cuts.push_back(f);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

void merge_equal_pieces(std::vector<float>& thresholds, std::vector<float>& values, std::size_t n_targets) {
  std::vector<float> t_out, v_out(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n_targets));
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    const float* prev = v_out.data() + v_out.size() - n_targets;
    const float* next = values.data() + (i + 1) * n_targets;
    if (std::memcmp(prev, next, n_targets * sizeof(float)) == 0) continue;
    t_out.push_back(thresholds[i]);
    v_out.insert(v_out.end(), next, next + n_targets);
  }
  thresholds = std::move(t_out);
  values = std::move(v_out);
}

std::string add_step_lookup(onnx_build::GraphBuilder& g, const std::string& x,
                            const std::vector<std::vector<float>>& thresholds,
                            const std::vector<std::vector<float>>& values, std::size_t n_targets) {
  if (thresholds.size() != values.size() || thresholds.empty() || n_targets == 0 || n_targets > 4)
    throw OnnxExportError("step lookup: inconsistent step-function tables");
  const std::size_t d = thresholds.size();
  std::vector<float> t_flat, v_flat;
  std::vector<std::int64_t> t_off(d), t_count(d), v_off(d);
  std::size_t max_count = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const std::size_t pieces = thresholds[j].size() + 1;
    if (values[j].size() != pieces * n_targets)
      throw OnnxExportError("step lookup: feature " + std::to_string(j) + " has " + std::to_string(values[j].size()) +
                            " leaf values for " + std::to_string(pieces) + " pieces");
    t_off[j] = static_cast<std::int64_t>(t_flat.size());
    t_count[j] = static_cast<std::int64_t>(thresholds[j].size());
    v_off[j] = static_cast<std::int64_t>(v_flat.size());
    max_count = std::max(max_count, thresholds[j].size());
    t_flat.insert(t_flat.end(), thresholds[j].begin(), thresholds[j].end());
    v_flat.insert(v_flat.end(), values[j].begin(), values[j].end());
  }
  // A finished search probes index t_off[j] + t_count[j]: one padding entry keeps that Gather in bounds.
  t_flat.push_back(std::numeric_limits<float>::infinity());
  const auto di = static_cast<std::int64_t>(d);
  using onnx_build::Attr;
  const std::string thr = g.initializer("step_thresholds", t_flat, {static_cast<std::int64_t>(t_flat.size())});
  const std::string vals = g.initializer("step_values", v_flat, {static_cast<std::int64_t>(v_flat.size())});
  const std::string toff = g.initializer_int64("step_threshold_offsets", t_off, {di});
  const std::string voff = g.initializer_int64("step_value_offsets", v_off, {di});
  const std::string one = g.initializer_int64("step_one", {1}, {});
  const std::string two = g.initializer_int64("step_two", {2}, {});
  // lower_bound with a fixed number of halvings: lo/hi per (row, feature), a step only while lo < hi.
  std::string lo = g.initializer_int64("step_lo0", std::vector<std::int64_t>(d, 0), {di});
  std::string hi = g.initializer_int64("step_hi0", t_count, {di});
  std::size_t steps = 0;
  while ((std::size_t{1} << steps) <= max_count) ++steps;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::string mid = g.node("Div", {g.node("Add", {lo, hi}), two});
    const std::string probe = g.node("Gather", {thr, g.node("Add", {mid, toff})});
    const std::string less = g.node("Less", {probe, x});  // t[mid] < x: the answer lies right of mid
    const std::string active = g.node("Less", {lo, hi});
    const std::string right = g.node("And", {active, less});
    const std::string left = g.node("And", {active, g.node("Not", {less})});
    const std::string new_lo = g.node("Where", {right, g.node("Add", {mid, one}), lo});
    hi = g.node("Where", {left, mid, hi});
    lo = new_lo;
  }
  if (steps == 0) lo = g.node("Mul", {g.node("Cast", {x}, {Attr{"to", std::int64_t{7}}}), g.initializer_int64("step_zero", {0}, {})});
  const std::string base = g.node("Add", {g.node("Mul", {lo, g.initializer_int64("step_T", {static_cast<std::int64_t>(n_targets)}, {})}), voff});
  std::vector<std::string> sums;
  for (std::size_t k = 0; k < n_targets; ++k) {
    const std::string idx = k == 0 ? base : g.node("Add", {base, g.initializer_int64("step_k", {static_cast<std::int64_t>(k)}, {})});
    const std::string leaf = g.node("Cast", {g.node("Gather", {vals, idx})}, {Attr{"to", std::int64_t{11}}});
    const std::string sum = g.node("ReduceSum", {leaf, g.initializer_int64("step_axes", {1}, {1})}, {Attr{"keepdims", std::int64_t{1}}});
    sums.push_back(g.node("Cast", {sum}, {Attr{"to", std::int64_t{1}}}));
  }
  return n_targets == 1 ? sums[0] : g.node("Concat", sums, {Attr{"axis", std::int64_t{1}}});
}

json step_tables_state(const std::vector<std::vector<float>>& thresholds, const std::vector<std::vector<float>>& values) {
  std::vector<float> t_flat, v_flat;
  std::vector<std::int32_t> pieces;
  for (std::size_t j = 0; j < thresholds.size(); ++j) {
    pieces.push_back(static_cast<std::int32_t>(thresholds[j].size() + 1));
    t_flat.insert(t_flat.end(), thresholds[j].begin(), thresholds[j].end());
    v_flat.insert(v_flat.end(), values[j].begin(), values[j].end());
  }
  return json{{"pieces", to_blob(pieces)}, {"thresholds", to_blob(t_flat)}, {"values", to_blob(v_flat)}};
}

void load_step_tables(const json& state, std::size_t n_features, std::size_t n_targets,
                      std::vector<std::vector<float>>& thresholds, std::vector<std::vector<float>>& values) {
  const auto pieces = ints_from_blob(state, "pieces");
  const auto t_flat = floats_from_blob(state, "thresholds");
  const auto v_flat = floats_from_blob(state, "values");
  if (pieces.size() != n_features) throw CorruptModel("step tables: expected " + std::to_string(n_features) + " features");
  thresholds.assign(n_features, {});
  values.assign(n_features, {});
  std::size_t t_at = 0, v_at = 0;
  for (std::size_t j = 0; j < n_features; ++j) {
    if (pieces[j] < 1) throw CorruptModel("step tables: feature " + std::to_string(j) + " has no pieces");
    const auto p = static_cast<std::size_t>(pieces[j]);
    if (t_at + p - 1 > t_flat.size() || v_at + p * n_targets > v_flat.size())
      throw CorruptModel("step tables: truncated tables");
    thresholds[j].assign(t_flat.begin() + static_cast<std::ptrdiff_t>(t_at), t_flat.begin() + static_cast<std::ptrdiff_t>(t_at + p - 1));
    values[j].assign(v_flat.begin() + static_cast<std::ptrdiff_t>(v_at), v_flat.begin() + static_cast<std::ptrdiff_t>(v_at + p * n_targets));
    if (!std::is_sorted(thresholds[j].begin(), thresholds[j].end()))
      throw CorruptModel("step tables: unsorted thresholds for feature " + std::to_string(j));
    t_at += p - 1;
    v_at += p * n_targets;
  }
  if (t_at != t_flat.size() || v_at != v_flat.size()) throw CorruptModel("step tables: trailing data");
}

}  // namespace nomaly::detail
