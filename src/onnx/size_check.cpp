// Size checks before ONNX Runtime sees a model. ORT allocates whatever a graph's constants tell it to: a mutated
// chunk constant of the kNN/LOF row-chunk Loop made it ask for terabytes (found by fuzz_onnx, ASan
// allocation-size-too-big inside ORT). Two checks, both on the constants alone (no input is needed):
//  1. any graph: integer constants read directly as a size (ConstantOfShape, Expand, Tile, Range, Pad, TopK k,
//     OneHot depth, Resize sizes, a Loop trip count) must describe at most kMaxElements elements;
//  2. nomaly's row-chunk graph (knn_graph.cpp): every integer constant must hold the value the writer gives it,
//     with the chunk size bounded by the training-set size (nomaly.chunk_rows, knn_chunk_rows) and the
//     candidate / neighbour counts by the training rows. The chunk arithmetic multiplies these, so a bound on
//     each alone would not do: `one` = 1e6 gives a 1e12-row padding.
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "onnx/knn_graph.hpp"
#include "onnx/proto_util.hpp"

namespace nomaly::onnx_detail {

namespace {

constexpr std::int64_t kMaxElements = std::int64_t{1} << 28;  // 1 GiB of float32: no nomaly graph needs a constant this big

struct IntConst {
  std::vector<std::int64_t> values;
  std::vector<std::int64_t> dims;
  std::string origin;  // "initializer 'x'" or "Constant node 'y'"
};

using Consts = std::map<std::string, IntConst>;

// Integer values of a tensor, or nullopt when it is not an int32/int64 tensor held in the file.
std::optional<std::vector<std::int64_t>> int_values(const ::onnx::TensorProto& t) {
  std::vector<std::int64_t> v;
  const bool i64 = t.data_type() == ::onnx::TensorProto::INT64, i32 = t.data_type() == ::onnx::TensorProto::INT32;
  if (!i64 && !i32) return std::nullopt;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) return std::nullopt;
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    const std::size_t width = i64 ? 8 : 4;
    for (std::size_t at = 0; at + width <= raw.size(); at += width) {
      if (i64) {
        std::int64_t x;
        std::memcpy(&x, raw.data() + at, 8);
        v.push_back(x);
      } else {
        std::int32_t x;
        std::memcpy(&x, raw.data() + at, 4);
        v.push_back(x);
      }
    }
  } else if (i64) {
    v.assign(t.int64_data().begin(), t.int64_data().end());
  } else {
    v.assign(t.int32_data().begin(), t.int32_data().end());
  }
  return v;
}

std::string node_text(const ::onnx::NodeProto& n) {
  return n.op_type() + " node '" + (n.name().empty() ? (n.output_size() ? n.output(0) : std::string("?")) : n.name()) + "'";
}

void collect(const ::onnx::GraphProto& g, Consts& out) {
  for (const auto& t : g.initializer())
    if (auto v = int_values(t)) out[t.name()] = {*v, {t.dims().begin(), t.dims().end()}, "initializer '" + t.name() + "'"};
  for (const auto& n : g.node()) {
    if (n.op_type() == "Constant" && n.output_size() == 1) {
      for (const auto& a : n.attribute()) {
        std::optional<std::vector<std::int64_t>> v;
        std::vector<std::int64_t> dims;
        if (a.name() == "value" && a.has_t()) {
          v = int_values(a.t());
          dims.assign(a.t().dims().begin(), a.t().dims().end());
        } else if (a.name() == "value_int") {
          v = std::vector<std::int64_t>{a.i()};
        } else if (a.name() == "value_ints") {
          v = std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
          dims = {static_cast<std::int64_t>(v->size())};
        }
        if (v) out[n.output(0)] = {*v, dims, "Constant node '" + n.output(0) + "'"};
      }
    }
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect(a.g(), out);
      for (const auto& sub : a.graphs()) collect(sub, out);
    }
  }
}

// Elements a shape tensor describes; -1 (unknown) dims count as 1. Saturates at kMaxElements + 1.
std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (const std::int64_t d : shape) {
    if (d < -1 || d > kMaxElements) return kMaxElements + 1;
    if (d > 0) count *= d;
    if (count > kMaxElements) return kMaxElements + 1;
  }
  return count;
}

std::string values_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() > 8 ? ", ...]" : "]");
}

// Check 1 for one node: returns why a size input is out of bounds, or empty.
std::string check_size_inputs(const ::onnx::NodeProto& n, const Consts& consts) {
  const auto input = [&](int i) -> const IntConst* {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    const auto it = consts.find(n.input(i));
    return it == consts.end() ? nullptr : &it->second;
  };
  const auto too_big = [&](const IntConst& c, const std::string& what) {
    return node_text(n) + ": " + what + " from " + c.origin + " = " + values_text(c.values) + " exceeds " +
           std::to_string(kMaxElements) + " elements";
  };
  const std::string& op = n.op_type();
  if (op == "ConstantOfShape" || op == "Expand" || op == "Tile") {
    if (const IntConst* c = input(op == "ConstantOfShape" ? 0 : 1); c && element_count(c->values) > kMaxElements)
      return too_big(*c, op == "Tile" ? "repeats" : "shape");
  } else if (op == "Resize") {
    if (const IntConst* c = input(3); c && element_count(c->values) > kMaxElements) return too_big(*c, "sizes");
  } else if (op == "Pad" || op == "TopK" || op == "OneHot" || op == "Loop") {
    const IntConst* c = input(op == "Loop" ? 0 : 1);
    if (!c) return {};
    for (const std::int64_t v : c->values)
      if (v > kMaxElements || v < -kMaxElements)
        return too_big(*c, op == "Loop" ? "trip count" : op == "Pad" ? "pads" : op == "TopK" ? "k" : "depth");
  } else if (op == "Range") {
    const IntConst *start = input(0), *limit = input(1), *delta = input(2);
    if (!start || !limit || !delta || start->values.size() != 1 || limit->values.size() != 1 || delta->values.size() != 1)
      return {};
    const long double span = static_cast<long double>(limit->values[0]) - static_cast<long double>(start->values[0]);
    const std::int64_t step = delta->values[0];
    if (step == 0) return node_text(n) + ": delta from " + delta->origin + " is 0";
    if (span / static_cast<long double>(step) > static_cast<long double>(kMaxElements))
      return too_big(*limit, "limit (with start " + std::to_string(start->values[0]) + ", delta " + std::to_string(step) + ")");
  }
  return {};
}

std::string check_graph(const ::onnx::GraphProto& g, const Consts& consts) {
  for (const auto& n : g.node()) {
    if (std::string err = check_size_inputs(n, consts); !err.empty()) return err;
    for (const auto& a : n.attribute()) {
      if (a.has_g())
        if (std::string err = check_graph(a.g(), consts); !err.empty()) return err;
      for (const auto& sub : a.graphs())
        if (std::string err = check_graph(sub, consts); !err.empty()) return err;
    }
  }
  return {};
}

// The row-chunk graph's constants (score_in_row_chunks / knn_subgraph): value ranges per initializer name,
// [lo, hi] per element. Names the writer gives each exactly once.
struct Expect {
  std::int64_t lo, hi;
};

std::string check_row_chunk_graph(const ::onnx::ModelProto& model, const Consts& consts) {
  const ::onnx::TensorProto* rows = nullptr;
  for (const auto& t : model.graph().initializer())
    if (t.name() == "train_rows") rows = &t;
  const std::string where = "row-chunk kNN graph: ";
  if (!rows || rows->dims_size() != 2 || rows->dims(0) < 1 || rows->dims(1) < 1)
    return where + "initializer 'train_rows' is missing or not a [n, d] matrix";
  const std::int64_t n = rows->dims(0), d = rows->dims(1);
  std::int64_t chunk = 0;
  for (const auto& p : model.metadata_props()) {
    if (p.key() != "nomaly.chunk_rows") continue;
    const std::string& v = p.value();
    const auto res = std::from_chars(v.data(), v.data() + v.size(), chunk);
    if (res.ec != std::errc{} || res.ptr != v.data() + v.size()) chunk = 0;
  }
  const auto chunk_max = static_cast<std::int64_t>(
      detail::knn_chunk_rows(static_cast<std::size_t>(n), static_cast<std::size_t>(d), 0));
  if (chunk < 1 || chunk > chunk_max)
    return where + "metadata nomaly.chunk_rows must be 1.." + std::to_string(chunk_max) + " for " + std::to_string(n) +
           " training rows of " + std::to_string(d) + " features";
  const auto one_value = [&](const char* name) -> std::int64_t {
    const auto it = consts.find(name);
    return it != consts.end() && it->second.values.size() == 1 ? it->second.values[0] : -1;
  };
  const std::int64_t m = one_value("n_candidates"), k = one_value("n_neighbors");
  if (m < 1 || m > n) return where + "initializer 'n_candidates' must hold one value in 1.." + std::to_string(n);
  if (k < 1 || k > m) return where + "initializer 'n_neighbors' must hold one value in 1.." + std::to_string(m);
  const std::map<std::string, Expect> expect{
      {"one", {1, 1}},          {"zero", {0, 0}},         {"zero_b", {0, 0}},      {"pads_head", {0, 0}},
      {"pads_tail", {0, 0}},    {"axis0_c", {0, 0}},      {"axis0_s", {0, 0}},     {"flat_all", {-1, -1}},
      {"chunk_rows_max", {chunk, chunk}},                 {"n_neighbors_fallback", {k, k}},
      {"pos", {0, m - 1}},      {"median_lo", {0, k - 1}}, {"median_hi", {0, k - 1}}};
  // Other integer constants of these graphs are axes, -1 shapes and empty shapes: |v| <= max(n, d).
  const std::int64_t other = std::max(n, d);
  for (const auto& [name, c] : consts) {
    std::string base = name;  // the builder names a second use "pos_7"
    if (const auto us = base.rfind('_'); us != std::string::npos && base.find_first_not_of("0123456789", us + 1) == std::string::npos && us + 1 < base.size())
      if (!expect.count(base)) base = base.substr(0, us);
    const auto it = expect.find(base);
    const Expect e = it != expect.end() ? it->second : Expect{-other, other};
    for (const std::int64_t v : c.values)
      if (v < e.lo || v > e.hi)
        return where + c.origin + " = " + values_text(c.values) + ", outside " + std::to_string(e.lo) + ".." +
               std::to_string(e.hi) + " (bounds from " + std::to_string(n) + " training rows, " + std::to_string(d) +
               " features, chunk " + std::to_string(chunk) + ")";
  }
  return {};
}

// Any of three marks: a damaged file keeps at least one. (Older kNN/LOF exports without the Loop have none.)
bool is_row_chunk_graph(const ::onnx::ModelProto& model, const Consts& consts) {
  if (consts.count("chunk_rows_max")) return true;
  for (const auto& p : model.metadata_props())
    if (p.key() == "nomaly.chunk_rows") return true;
  for (const auto& n : model.graph().node())
    for (const auto& a : n.attribute())
      if (n.op_type() == "Loop" && a.has_g() && a.g().name() == "row_chunk") return true;
  return false;
}

}  // namespace

std::string check_sizes(const ::onnx::ModelProto& model) {
  Consts consts;
  collect(model.graph(), consts);
  if (std::string err = check_graph(model.graph(), consts); !err.empty()) return err;
  if (is_row_chunk_graph(model, consts)) return check_row_chunk_graph(model, consts);
  return {};
}

}  // namespace nomaly::onnx_detail
