// GraphBuilder: opsets, initializer encoding, unique names, metadata and checker failures.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/graph_builder.hpp"

namespace nomaly::onnx_build {
namespace {

// X [N,3] -> Add(X, bias) -> ReduceSum over axis 1 -> "y" [N].
GraphBuilder small_graph() {
  GraphBuilder g("small");
  g.input("X", Elem::Float, {std::string("N"), std::int64_t{3}});
  const auto bias = g.initializer("bias", {1.5f, -2.0f, 0.25f}, {3});
  const auto axes = g.initializer_int64("axes", {1}, {1});
  const auto sum = g.node("Add", {"X", bias});
  g.node("ReduceSum", {sum, axes}, {{"keepdims", std::int64_t{0}}}, "", "y");
  g.output("y", Elem::Float, {std::string("N")});
  return g;
}

TEST(GraphBuilder, FinishSetsIrVersionAndOpsets) {
  auto g = small_graph();
  const ::onnx::ModelProto m = g.finish("small");
  EXPECT_EQ(m.ir_version(), 8);
  std::map<std::string, std::int64_t> opsets;
  for (const auto& op : m.opset_import()) opsets[op.domain()] = op.version();
  ASSERT_EQ(opsets.size(), 2u);
  EXPECT_EQ(opsets.at(""), 17);
  EXPECT_EQ(opsets.at("ai.onnx.ml"), 3);
  EXPECT_EQ(m.graph().node_size(), 2);
  EXPECT_EQ(m.graph().node(1).output(0), "y");
}

// A model above protobuf's 2 GiB limit (ECOD/COPOD fitted on millions of rows) must fail with a typed error that
// says why, not serialize to an empty or truncated file.
TEST(GraphBuilder, ModelsAboveTheProtobufLimitAreTypedErrors) {
  EXPECT_NO_THROW(check_model_size(kMaxModelBytes, "ecod"));
  try {
    check_model_size(std::size_t{3} << 30, "ecod");
    FAIL() << "a 3 GiB model must not pass";
  } catch (const OnnxExportError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ecod: the ONNX model would be 3072 MiB, above the 2047 MiB"), std::string::npos) << what;
  }
  EXPECT_THROW(check_model_size(101, "x", 100), OnnxExportError);
  EXPECT_NO_THROW(check_model_size(100, "x", 100));
}

TEST(GraphBuilder, InitializersAreLittleEndianRawData) {
  auto g = small_graph();
  const ::onnx::ModelProto m = g.finish("small");
  ASSERT_EQ(m.graph().initializer_size(), 2);
  const auto& bias = m.graph().initializer(0);
  EXPECT_EQ(bias.data_type(), ::onnx::TensorProto::FLOAT);
  ASSERT_EQ(bias.dims_size(), 1);
  EXPECT_EQ(bias.dims(0), 3);
  ASSERT_EQ(bias.raw_data().size(), 12u);
  EXPECT_EQ(bias.float_data_size(), 0);
  float values[3];
  std::memcpy(values, bias.raw_data().data(), 12);  // the test host is little endian (x86-64 / aarch64)
  EXPECT_EQ(values[0], 1.5f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(values[2], 0.25f);
  // 1.5f = 0x3FC00000: little endian puts the 0x3F byte last.
  EXPECT_EQ(static_cast<unsigned char>(bias.raw_data()[3]), 0x3Fu);

  const auto& axes = m.graph().initializer(1);
  EXPECT_EQ(axes.data_type(), ::onnx::TensorProto::INT64);
  ASSERT_EQ(axes.raw_data().size(), 8u);
  std::int64_t axis = 0;
  std::memcpy(&axis, axes.raw_data().data(), 8);
  EXPECT_EQ(axis, 1);
}

TEST(GraphBuilder, ScalarIsZeroDimensional) {
  GraphBuilder g("s");
  const auto name = g.scalar("t", 0.75f);
  g.input("X", Elem::Float, {std::string("N")});
  g.node("Greater", {"X", name}, {}, "", "gt");
  g.output("gt", Elem::Bool, {std::string("N")});
  const auto m = g.finish("s");
  ASSERT_EQ(m.graph().initializer_size(), 1);
  EXPECT_EQ(m.graph().initializer(0).dims_size(), 0);
  EXPECT_EQ(m.graph().initializer(0).raw_data().size(), 4u);
}

TEST(GraphBuilder, FreshNamesAreUnique) {
  GraphBuilder g("f");
  std::set<std::string> names;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(names.insert(g.fresh("v")).second);
  EXPECT_EQ(names.size(), 100u);
  // Initializers that ask for a taken name get a fresh one instead of clobbering it.
  const auto a = g.initializer("w", {1.0f}, {1});
  const auto b = g.initializer("w", {2.0f}, {1});
  EXPECT_EQ(a, "w");
  EXPECT_NE(a, b);
  // Auto-named node outputs do not collide either.
  g.input("X", Elem::Float, {std::int64_t{1}});
  const auto n1 = g.node("Add", {"X", a});
  const auto n2 = g.node("Add", {"X", b});
  EXPECT_NE(n1, n2);
}

TEST(GraphBuilder, DuplicateMetadataKeyThrows) {
  GraphBuilder g("m");
  g.metadata("nomaly.algorithm", "x");
  g.metadata("nomaly.version", "1");
  EXPECT_THROW(g.metadata("nomaly.algorithm", "y"), OnnxExportError);
  try {
    g.metadata("nomaly.version", "2");
    FAIL() << "expected OnnxExportError";
  } catch (const OnnxExportError& e) {
    EXPECT_NE(std::string(e.what()).find("nomaly.version"), std::string::npos) << e.what();
  }
}

TEST(GraphBuilder, DuplicateExplicitOutputNameThrows) {
  GraphBuilder g("d");
  g.input("X", Elem::Float, {std::int64_t{2}});
  g.node("Neg", {"X"}, {}, "", "y");
  EXPECT_THROW(g.node("Abs", {"X"}, {}, "", "y"), OnnxExportError);
  EXPECT_THROW(g.node("Abs", {"X"}, {}, "", "X"), OnnxExportError);
}

TEST(GraphBuilder, InitializerSizeMismatchThrows) {
  GraphBuilder g("i");
  EXPECT_THROW(g.initializer("w", {1.0f, 2.0f}, {3}), OnnxExportError);
  EXPECT_THROW(g.initializer_int64("k", {1}, {2, 2}), OnnxExportError);
}

TEST(GraphBuilder, UndefinedNodeInputFailsWithContext) {
  GraphBuilder g("bad");
  g.input("X", Elem::Float, {std::string("N"), std::int64_t{2}});
  g.node("Add", {"X", "does_not_exist"}, {}, "", "y");
  g.output("y", Elem::Float, {std::string("N"), std::int64_t{2}});
  try {
    g.finish("my_algo");
    FAIL() << "expected OnnxExportError";
  } catch (const OnnxExportError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("my_algo: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("does_not_exist"), std::string::npos) << msg;
  }
}

TEST(GraphBuilder, UnknownOperatorFails) {
  GraphBuilder g("bad");
  g.input("X", Elem::Float, {std::int64_t{2}});
  g.node("NoSuchOp", {"X"}, {}, "", "y");
  g.output("y", Elem::Float, {std::int64_t{2}});
  EXPECT_THROW(g.finish("ctx"), OnnxExportError);
}

TEST(GraphBuilder, ShapeInferenceCatchesDeclaredShapeMismatch) {
  // ReduceSum with keepdims=1 yields [N,1]; declaring [N] must be rejected by strict shape inference.
  GraphBuilder g("shape");
  g.input("X", Elem::Float, {std::string("N"), std::int64_t{3}});
  const auto axes = g.initializer_int64("axes", {1}, {1});
  g.node("ReduceSum", {"X", axes}, {{"keepdims", std::int64_t{1}}}, "", "y");
  g.output("y", Elem::Float, {std::string("N")});
  EXPECT_THROW(g.finish("shape"), OnnxExportError);
}

TEST(GraphBuilder, TypeMismatchIsRejected) {
  GraphBuilder g("types");
  g.input("X", Elem::Float, {std::int64_t{2}});
  const auto k = g.initializer_int64("k", {1, 2}, {2});
  g.node("Add", {"X", k}, {}, "", "y");  // float + int64 is not allowed
  g.output("y", Elem::Float, {std::int64_t{2}});
  EXPECT_THROW(g.finish("types"), OnnxExportError);
}

TEST(GraphBuilder, AttributesOfEveryKind) {
  GraphBuilder g("attrs");
  g.input("X", Elem::Float, {std::string("N"), std::int64_t{2}});
  // TreeEnsembleRegressor exercises ints, floats, strings and a string attribute in the ML domain.
  g.node("TreeEnsembleRegressor", {"X"},
         {{"n_targets", std::int64_t{1}},
          {"nodes_treeids", std::vector<std::int64_t>{0, 0, 0}},
          {"nodes_nodeids", std::vector<std::int64_t>{0, 1, 2}},
          {"nodes_featureids", std::vector<std::int64_t>{1, 0, 0}},
          {"nodes_values", std::vector<float>{0.5f, 0.0f, 0.0f}},
          {"nodes_modes", std::vector<std::string>{"BRANCH_LEQ", "LEAF", "LEAF"}},
          {"nodes_truenodeids", std::vector<std::int64_t>{1, 0, 0}},
          {"nodes_falsenodeids", std::vector<std::int64_t>{2, 0, 0}},
          {"target_treeids", std::vector<std::int64_t>{0, 0}},
          {"target_nodeids", std::vector<std::int64_t>{1, 2}},
          {"target_ids", std::vector<std::int64_t>{0, 0}},
          {"target_weights", std::vector<float>{-1.0f, 1.0f}},
          {"aggregate_function", std::string("SUM")}},
         kMlDomain, "y");
  g.output("y", Elem::Float, {std::string("N"), std::int64_t{1}});
  const auto m = g.finish("attrs");
  const auto& n = m.graph().node(0);
  EXPECT_EQ(n.domain(), "ai.onnx.ml");
  std::map<std::string, ::onnx::AttributeProto> attrs;
  for (const auto& a : n.attribute()) attrs[a.name()] = a;
  EXPECT_EQ(attrs.at("n_targets").type(), ::onnx::AttributeProto::INT);
  EXPECT_EQ(attrs.at("nodes_values").type(), ::onnx::AttributeProto::FLOATS);
  EXPECT_EQ(attrs.at("nodes_values").floats(0), 0.5f);
  EXPECT_EQ(attrs.at("nodes_modes").type(), ::onnx::AttributeProto::STRINGS);
  EXPECT_EQ(attrs.at("nodes_modes").strings(1), "LEAF");
  EXPECT_EQ(attrs.at("aggregate_function").type(), ::onnx::AttributeProto::STRING);
  EXPECT_EQ(attrs.at("aggregate_function").s(), "SUM");
  EXPECT_EQ(attrs.at("target_ids").ints_size(), 2);
}

TEST(GraphBuilder, BuilderIsEmptyAfterFinish) {
  auto g = small_graph();
  g.metadata("k", "v");
  (void)g.finish("first");
  // Same key is accepted again: the builder was reset.
  EXPECT_NO_THROW(g.metadata("k", "v"));
  g.input("X", Elem::Float, {std::int64_t{1}});
  g.node("Neg", {"X"}, {}, "", "y");
  g.output("y", Elem::Float, {std::int64_t{1}});
  const auto m = g.finish("second");
  EXPECT_EQ(m.graph().node_size(), 1);
  EXPECT_EQ(m.metadata_props_size(), 1);
}

TEST(GraphBuilder, CheckModelRejectsHandMadeBrokenModel) {
  ::onnx::ModelProto m;  // no ir_version, no opsets
  m.mutable_graph()->set_name("g");
  EXPECT_THROW(check_model(m, "broken"), OnnxExportError);
}

}  // namespace
}  // namespace nomaly::onnx_build
