// Size checks before ONNX Runtime (src/onnx/size_check.cpp): a damaged or hostile model whose constants ask for
// an unbounded allocation is refused with OnnxModelError naming the node or initializer, before ORT runs it.
// fuzz_onnx found the first case: a mutated constant of the kNN/LOF row-chunk Loop made ORT allocate terabytes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>
#include <cstdint>
#include <cstring>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

::onnx::ModelProto knn_like(const std::string& algo) {
  const Dataset ds = test::synthetic(60, 3, 4, 9);
  auto det = create_detector(algo, json{{"n_neighbors", 5}});
  det->fit(ds.view());
  return export_onnx_model(*det);
}

void set_int64(::onnx::ModelProto& m, const std::string& name, std::vector<std::int64_t> v) {
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() != name) continue;
    std::string raw(v.size() * 8, '\0');
    std::memcpy(raw.data(), v.data(), raw.size());
    t.set_raw_data(raw);
    return;
  }
  FAIL() << "no initializer " << name;
}

// Loads the bytes and returns the OnnxModelError's message ("" when it loads).
std::string load_error(const ::onnx::ModelProto& m) {
  try {
    (void)OnnxModel::load_bytes(m.SerializeAsString(), "evil.onnx");
  } catch (const OnnxModelError& e) {
    return e.what();
  }
  return "";
}

TEST(OnnxModelSizeCheck, MutatedRowChunkConstantsAreRejectedBeforeOrt) {
  const std::vector<float> X(8 * 3, 0.5f);
  for (const char* algo : {"knn", "lof"}) {
    const ::onnx::ModelProto good = knn_like(algo);
    // The untouched model loads and scores.
    ASSERT_EQ(load_error(good), "") << algo;
    EXPECT_EQ(OnnxModel::load_bytes(good.SerializeAsString()).score({X.data(), 8, 3}).scores.size(), 8u);
    // `one` = 1e6 made trips = chunk = 1e6 and a 1e12-row Pad (the fuzz finding); 0 divides by zero; the others
    // break the chunk arithmetic or the candidate counts the same way.
    const std::vector<std::pair<std::string, std::vector<std::int64_t>>> cases{
        {"one", {1000000}},          {"one", {0}},                    {"chunk_rows_max", {0}},
        {"chunk_rows_max", {-5}},    {"chunk_rows_max", {1LL << 40}}, {"pads_tail", {1LL << 30}},
        {"pads_head", {0, 1 << 20}}, {"zero", {7}},                   {"n_candidates", {100000}},
        {"n_neighbors", {0}},        {"axis1", {1LL << 33}}};
    for (const auto& [name, values] : cases) {
      ::onnx::ModelProto m = good;
      set_int64(m, name, values);
      const std::string err = load_error(m);
      EXPECT_NE(err.find("initializer '" + name + "'"), std::string::npos) << algo << " " << name << ": " << err;
      EXPECT_NE(err.find("evil.onnx"), std::string::npos) << err;
    }
    // The metadata the chunk bound is read from.
    ::onnx::ModelProto m = good;
    for (auto& p : *m.mutable_metadata_props())
      if (p.key() == "nomaly.chunk_rows") p.set_value("99999999999");
    EXPECT_NE(load_error(m).find("nomaly.chunk_rows must be 1.."), std::string::npos) << load_error(m);
  }
}

// Every integer constant of the kNN/LOF graphs (row-chunk Loop, candidate stage, exact fallback), set to each
// of a few hostile values: the model is refused with OnnxModelError, or it loads and scores 5 rows (any score;
// no crash, no unbounded allocation). What fuzz_onnx would find by chance, swept systematically.
TEST(OnnxModelSizeCheck, EveryIntegerConstantMutationIsRefusedOrScoresSafely) {
  const std::vector<float> X{0.1f, 0.2f, 0.3f, 5.0f, -5.0f, 2.0f, 0.0f, 0.0f, 0.0f, 1e6f, 1e6f, 1e6f, -3.0f, 1.0f, 0.5f};
  const std::vector<std::int64_t> hostile{0, -1, 2, 3, 1 << 20, 1LL << 40, INT64_MAX, INT64_MIN};
  std::size_t refused = 0, scored = 0;
  for (const char* algo : {"knn", "lof"}) {
    const ::onnx::ModelProto good = knn_like(algo);
    for (const auto& t : good.graph().initializer()) {
      if (t.data_type() != ::onnx::TensorProto::INT64 || t.raw_data().size() / 8 == 0) continue;
      for (std::size_t at = 0; at < t.raw_data().size() / 8; ++at) {
        for (const std::int64_t v : hostile) {
          ::onnx::ModelProto m = good;
          for (auto& u : *m.mutable_graph()->mutable_initializer()) {
            if (u.name() != t.name()) continue;
            std::string raw = u.raw_data();
            std::memcpy(raw.data() + at * 8, &v, 8);
            u.set_raw_data(raw);
          }
          try {
            const OnnxModel model = OnnxModel::load_bytes(m.SerializeAsString(), "mutated.onnx");
            EXPECT_EQ(model.score({X.data(), 5, 3}).scores.size(), 5u);
            ++scored;
          } catch (const Error&) {
            ++refused;
          }
        }
      }
    }
  }
  EXPECT_GT(refused, 100u);
  EXPECT_GT(scored, 0u) << "values the writer itself uses (0, -1, 2, 3 for some constants) still load";
}

// A minimal valid graph: X [N, 3] -> op(inputs) -> scores, with int64 initializers.
::onnx::ModelProto one_node(const std::string& op, const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& inits,
                            const std::vector<std::string>& inputs) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("X");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("N");
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  for (const auto& [name, v] : inits) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) t->add_int64_data(x);
  }
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("big_" + op);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output("scores");
  if (op == "TopK") n->add_output("idx");
  auto* out = g->add_output();
  out->set_name("scores");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("N");
  return m;
}

TEST(OnnxModelSizeCheck, HugeConstantSizesAreRejectedInAnyGraph) {
  const std::int64_t huge = 1LL << 40;
  const std::vector<std::pair<::onnx::ModelProto, std::string>> cases{
      {one_node("ConstantOfShape", {{"s", {huge}}}, {"s"}), "ConstantOfShape node 'big_ConstantOfShape': shape from initializer 's'"},
      {one_node("Expand", {{"s", {1 << 20, 1 << 20}}}, {"X", "s"}), "Expand node 'big_Expand': shape"},
      {one_node("Tile", {{"r", {1 << 15, 1 << 15}}}, {"X", "r"}), "Tile node 'big_Tile': repeats"},
      {one_node("Pad", {{"p", {0, 0, huge, 0}}}, {"X", "p"}), "Pad node 'big_Pad': pads"},
      {one_node("TopK", {{"k", {huge}}}, {"X", "k"}), "TopK node 'big_TopK': k"}};
  for (const auto& [m, expect] : cases) {
    const std::string err = load_error(m);
    EXPECT_NE(err.find(expect), std::string::npos) << expect << " -> " << err;
  }
  // Within the bound the same graphs pass the size check (they may fail later for other reasons, not this one).
  EXPECT_EQ(load_error(one_node("Tile", {{"r", {4, 1}}}, {"X", "r"})).find("exceeds"), std::string::npos);
}

// Break test: a float initializer set to NaN in the file (PCA's scale, a forest's 1/trees) made every score NaN;
// `nomaly score` wrote "-nan,0" with exit 0 and the server answered null. A NaN score is now a model error.
TEST(OnnxModelSizeCheck, NanScoresFromADamagedModelAreAModelError) {
  const Dataset ds = test::synthetic(60, 3, 4, 9);
  auto det = create_detector("pca", json::object());
  det->fit(ds.view());
  const ::onnx::ModelProto good = export_onnx_model(*det);
  const OnnxModel ok = OnnxModel::load_bytes(good.SerializeAsString(), "pca.onnx");
  const OnnxScore sc = ok.score(ds.view());
  ASSERT_EQ(sc.scores.size(), ds.rows);
  for (const float v : sc.scores) ASSERT_FALSE(std::isnan(v));
  std::size_t poisoned = 0;
  for (const auto& t : good.graph().initializer()) {
    if (t.data_type() != ::onnx::TensorProto::DOUBLE && t.data_type() != ::onnx::TensorProto::FLOAT) continue;
    ::onnx::ModelProto m = good;
    for (auto& u : *m.mutable_graph()->mutable_initializer()) {
      if (u.name() != t.name()) continue;
      std::string raw = u.raw_data();
      if (u.data_type() == ::onnx::TensorProto::DOUBLE) {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (std::size_t at = 0; at + 8 <= raw.size(); at += 8) std::memcpy(raw.data() + at, &nan, 8);
      } else {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (std::size_t at = 0; at + 4 <= raw.size(); at += 4) std::memcpy(raw.data() + at, &nan, 4);
      }
      u.set_raw_data(raw);
    }
    try {
      const OnnxModel bad = OnnxModel::load_bytes(m.SerializeAsString(), "poisoned.onnx");
      const OnnxScore r = bad.score(ds.view());
      for (const float v : r.scores) EXPECT_FALSE(std::isnan(v)) << t.name();  // a NaN never comes back
    } catch (const OnnxModelError& e) {
      if (std::string(e.what()).find("NaN score for row") != std::string::npos) ++poisoned;
    }
  }
  EXPECT_GT(poisoned, 0u) << "no initializer of the PCA graph reached the scores";
}

}  // namespace
}  // namespace nomaly
