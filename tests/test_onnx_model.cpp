// OnnxModel (ONNX Runtime) on hand-built models: nomaly, skl2onnx and single-output layouts, typed load
// errors, batching, bytes/file parity and concurrent scoring; describe_onnx on the same models.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <unistd.h>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/graph_builder.hpp"
#include "nomaly/onnx/inspect.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

using onnx_build::Attr;
using onnx_build::Elem;
using onnx_build::GraphBuilder;

const onnx_build::Dim N = std::string("N");

std::string serialize(const ::onnx::ModelProto& m) {
  std::string bytes;
  EXPECT_TRUE(m.SerializeToString(&bytes));
  return bytes;
}

// sum_j x_ij^2 as [N] (keepdims 0) or [N,1] (keepdims 1). Mul + ReduceSum with an axes input is valid
// for opset 13 onwards, so the same graph can be restamped with a newer opset.
std::string sum_squares(GraphBuilder& g, const std::string& x, bool keepdims, const std::string& out = "") {
  const auto sq = g.node("Mul", {x, x});
  const auto axes = g.initializer_int64("axes", {1}, {1});
  return g.node("ReduceSum", {sq, axes}, {{"keepdims", std::int64_t{keepdims ? 1 : 0}}}, "", out);
}

// Nomaly layout: scores = sum of squares [N], label = Cast(scores > threshold) [N].
::onnx::ModelProto nomaly_style_proto(std::int64_t d, float threshold) {
  GraphBuilder g("nomaly_style");
  const auto x = g.input("X", Elem::Float, {N, d});
  const auto s = sum_squares(g, x, false, "scores");
  const auto t = g.scalar("threshold", threshold);
  const auto gt = g.node("Greater", {s, t});
  g.node("Cast", {gt}, {{"to", std::int64_t{7}}}, "", "label");
  g.output("scores", Elem::Float, {N});
  g.output("label", Elem::Int64, {N});
  g.metadata("nomaly.algorithm", "sum_squares");
  g.metadata("nomaly.threshold", std::to_string(threshold));
  g.metadata("nomaly.n_features", std::to_string(d));
  g.metadata("nomaly.feature_names", R"(["a","b","c","d"])");
  g.producer("nomaly", "test");
  return g.finish("nomaly_style");
}
std::string nomaly_style(std::int64_t d = 4, float threshold = 4.0f) {
  return serialize(nomaly_style_proto(d, threshold));
}

// skl2onnx layout for an outlier detector: scores = decision_function = 3 - sum of squares, [N,1]
// (lower = more anomalous); label = -1 where the decision is negative, else 1, int64 [N,1].
std::string skl_style(std::int64_t d, bool stamp_producer) {
  GraphBuilder g("skl_style");
  const auto x = g.input("X", Elem::Float, {N, d});
  const auto ss = sum_squares(g, x, true);
  const auto three = g.scalar("offset", 3.0f);
  const auto dec = g.node("Sub", {three, ss}, {}, "", "scores");
  const auto zero = g.scalar("zero", 0.0f);
  const auto neg = g.node("Less", {dec, zero});
  const auto minus_one = g.initializer_int64("minus_one", {-1}, {});
  const auto plus_one = g.initializer_int64("plus_one", {1}, {});
  g.node("Where", {neg, minus_one, plus_one}, {}, "", "label");
  g.output("label", Elem::Int64, {N, std::int64_t{1}});
  g.output("scores", Elem::Float, {N, std::int64_t{1}});
  if (stamp_producer) g.producer("skl2onnx", "1.16.0");
  return serialize(g.finish("skl_style"));
}

// One float output named "anomaly", [N] or [N,1].
std::string single_output(std::int64_t d, bool keepdims, const std::string& threshold_meta = "") {
  GraphBuilder g("single");
  const auto x = g.input("input", Elem::Float, {N, d});
  sum_squares(g, x, keepdims, "anomaly");
  if (keepdims) {
    g.output("anomaly", Elem::Float, {N, std::int64_t{1}});
  } else {
    g.output("anomaly", Elem::Float, {N});
  }
  if (!threshold_meta.empty()) g.metadata("nomaly.threshold", threshold_meta);
  return serialize(g.finish("single"));
}

std::vector<float> random_rows(std::size_t rows, std::size_t cols, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.5f);
  std::vector<float> v(rows * cols);
  for (auto& x : v) x = dist(rng);
  return v;
}

double row_sum_squares(const std::vector<float>& X, std::size_t cols, std::size_t i) {
  double s = 0;
  for (std::size_t j = 0; j < cols; ++j) s += static_cast<double>(X[i * cols + j]) * X[i * cols + j];
  return s;
}

std::filesystem::path temp_file(const std::string& name, const std::string& bytes) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("nomaly_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

template <typename E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception thrown";
  return {};
}

TEST(OnnxModel, NomalyStyleMatchesRowByRow) {
  const std::size_t d = 4, n = 257;
  const float threshold = 4.0f;
  const auto model = OnnxModel::load_bytes(nomaly_style(d, threshold), "nomaly_style");
  EXPECT_EQ(model.style(), OnnxStyle::Nomaly);
  EXPECT_EQ(model.n_features(), d);
  EXPECT_GT(model.load_seconds(), 0.0);
  EXPECT_LT(model.load_seconds(), 30.0);

  const auto X = random_rows(n, d);
  const OnnxScore out = model.score({X.data(), n, d});
  ASSERT_EQ(out.scores.size(), n);
  ASSERT_EQ(out.labels.size(), n);
  int n_pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double expected = row_sum_squares(X, d, i);
    EXPECT_NEAR(out.scores[i], expected, 1e-5 * (1.0 + expected)) << "row " << i;
    EXPECT_EQ(out.labels[i], out.scores[i] > threshold ? 1 : 0) << "row " << i;
    n_pos += out.labels[i];
  }
  // Both label values occur, so the label check above is not vacuous.
  EXPECT_GT(n_pos, 0);
  EXPECT_LT(n_pos, static_cast<int>(n));
}

TEST(OnnxModel, NomalyMetadataIsParsed) {
  const auto model = OnnxModel::load_bytes(nomaly_style(4, 2.5f));
  const auto& m = model.metadata();
  EXPECT_EQ(m.algorithm, "sum_squares");
  ASSERT_TRUE(m.threshold.has_value());
  EXPECT_DOUBLE_EQ(*m.threshold, 2.5);
  ASSERT_TRUE(m.n_features.has_value());
  EXPECT_EQ(*m.n_features, 4u);
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(m.producer_name, "nomaly");
  EXPECT_EQ(m.ir_version, 8);
  EXPECT_EQ(m.opsets.at(""), 17);
  EXPECT_EQ(m.opsets.at("ai.onnx.ml"), 3);
  EXPECT_EQ(m.props.at("nomaly.algorithm"), "sum_squares");
  ASSERT_EQ(model.inputs().size(), 1u);
  EXPECT_EQ(model.inputs()[0].name, "X");
  EXPECT_EQ(model.inputs()[0].type, "tensor(float)");
  EXPECT_EQ(model.inputs()[0].shape, (std::vector<std::int64_t>{-1, 4}));
  ASSERT_EQ(model.outputs().size(), 2u);
  EXPECT_EQ(model.outputs()[1].type, "tensor(int64)");
}

TEST(OnnxModel, Skl2onnxStyleFlipsDirectionAndMapsLabels) {
  const std::size_t d = 3, n = 300;
  const auto X = random_rows(n, d, 11);
  for (bool stamp : {true, false}) {  // detected by producer_name and by the [N,1] scores shape alone
    const auto model = OnnxModel::load_bytes(skl_style(d, stamp), "skl");
    EXPECT_EQ(model.style(), OnnxStyle::Skl2onnx);
    const auto out = model.score({X.data(), n, d});
    ASSERT_EQ(out.scores.size(), n);
    int n_out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double decision = 3.0 - row_sum_squares(X, d, i);
      EXPECT_NEAR(out.scores[i], -decision, 1e-5 * (1.0 + std::abs(decision))) << "row " << i;
      if (std::abs(decision) > 1e-4) {
        EXPECT_EQ(out.labels[i], decision < 0 ? 1 : 0) << "row " << i;
      }
      n_out += out.labels[i];
    }
    EXPECT_GT(n_out, 0);
    EXPECT_LT(n_out, static_cast<int>(n));
  }
}

TEST(OnnxModel, SingleOutputWithAndWithoutThreshold) {
  const std::size_t d = 2, n = 100;
  const auto X = random_rows(n, d, 3);
  for (bool keepdims : {false, true}) {
    const auto plain = OnnxModel::load_bytes(single_output(d, keepdims), "single");
    EXPECT_EQ(plain.style(), OnnxStyle::SingleOutput);
    const auto out = plain.score({X.data(), n, d});
    ASSERT_EQ(out.scores.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double expected = row_sum_squares(X, d, i);
      EXPECT_NEAR(out.scores[i], expected, 1e-5 * (1.0 + expected));
      EXPECT_EQ(out.labels[i], 0);  // no threshold known -> every row 0 (documented)
    }
    const auto with_t = OnnxModel::load_bytes(single_output(d, keepdims, "2"), "single_t");
    const auto out_t = with_t.score({X.data(), n, d});
    int pos = 0;
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(out_t.labels[i], out_t.scores[i] > 2.0f ? 1 : 0);
      pos += out_t.labels[i];
    }
    EXPECT_GT(pos, 0);
  }
}

TEST(OnnxModel, UnrelatedOutputsListInputsAndOutputs) {
  GraphBuilder g("two");
  const auto x = g.input("features", Elem::Float, {N, std::int64_t{3}});
  g.node("Neg", {x}, {}, "", "alpha");
  g.node("Abs", {x}, {}, "", "beta");
  g.output("alpha", Elem::Float, {N, std::int64_t{3}});
  g.output("beta", Elem::Float, {N, std::int64_t{3}});
  const auto bytes = serialize(g.finish("two"));
  const auto msg = message_of<OnnxModelError>([&] { (void)OnnxModel::load_bytes(bytes, "two.onnx"); });
  for (const char* part : {"two.onnx", "features: tensor(float) [?, 3]", "alpha: tensor(float) [?, 3]",
                           "beta: tensor(float) [?, 3]"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
  }
}

TEST(OnnxModel, NonFloatInputIsRejectedWithListing) {
  GraphBuilder g("int_in");
  const auto x = g.input("X", Elem::Int64, {N, std::int64_t{2}});
  g.node("Cast", {x}, {{"to", std::int64_t{1}}}, "", "y");
  g.output("y", Elem::Float, {N, std::int64_t{2}});
  const auto msg =
      message_of<OnnxModelError>([&] { (void)OnnxModel::load_bytes(serialize(g.finish("int_in")), "int_in"); });
  EXPECT_NE(msg.find("X: tensor(int64) [?, 2]"), std::string::npos) << msg;
}

TEST(OnnxModel, CorruptInputsGiveTypedErrors) {
  const std::string good = nomaly_style();
  // Empty bytes and an empty file.
  EXPECT_NE(message_of<OnnxModelError>([] { (void)OnnxModel::load_bytes("", "empty"); }).find("empty"),
            std::string::npos);
  const auto empty_path = temp_file("empty.onnx", "");
  EXPECT_NE(message_of<OnnxModelError>([&] { (void)OnnxModel::load_file(empty_path.string()); })
                .find(empty_path.string()),
            std::string::npos);
  std::filesystem::remove(empty_path);
  // Truncated at several points.
  for (std::size_t len : {std::size_t{1}, good.size() / 3, good.size() / 2, good.size() - 7}) {
    EXPECT_THROW((void)OnnxModel::load_bytes(good.substr(0, len), "truncated"), OnnxModelError) << "len " << len;
  }
  const auto trunc_path = temp_file("trunc.onnx", good.substr(0, good.size() / 2));
  EXPECT_THROW((void)OnnxModel::load_file(trunc_path.string()), OnnxModelError);
  std::filesystem::remove(trunc_path);
  // Random bytes.
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 20; ++trial) {
    std::string junk(64 + trial * 37, '\0');
    for (auto& c : junk) c = static_cast<char>(rng() & 0xFF);
    EXPECT_THROW((void)OnnxModel::load_bytes(junk, "junk"), OnnxModelError) << "trial " << trial;
  }
  // Text that is not protobuf.
  EXPECT_THROW((void)OnnxModel::load_bytes("feature,label\n1,0\n", "csv"), OnnxModelError);
  // Missing file.
  const auto missing = message_of<OnnxModelError>([] { (void)OnnxModel::load_file("/nonexistent/model.onnx"); });
  EXPECT_NE(missing.find("/nonexistent/model.onnx"), std::string::npos) << missing;
}

TEST(OnnxModel, CheckerRejectsInvalidGraphBeforeOrt) {
  // Valid protobuf, invalid graph (undefined node input): the ONNX checker must reject it.
  auto m = nomaly_style_proto(4, 1.0f);
  m.mutable_graph()->mutable_node(0)->set_input(1, "undefined_value");
  const auto msg = message_of<OnnxModelError>([&] { (void)OnnxModel::load_bytes(serialize(m), "bad_graph"); });
  EXPECT_NE(msg.find("bad_graph: invalid ONNX model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("undefined_value"), std::string::npos) << msg;
}

TEST(OnnxModel, WrongInputWidthIsDataError) {
  const auto model = OnnxModel::load_bytes(nomaly_style(4), "w.onnx");
  const auto X = random_rows(5, 3);
  const auto msg = message_of<DataError>([&] { (void)model.score({X.data(), 5, 3}); });
  EXPECT_NE(msg.find("expected 4 features, got 3"), std::string::npos) << msg;
}

TEST(OnnxModel, MetadataWidthMismatchIsRejected) {
  auto m = nomaly_style_proto(4, 1.0f);
  for (auto& p : *m.mutable_metadata_props())
    if (p.key() == "nomaly.n_features") p.set_value("5");
  EXPECT_THROW((void)OnnxModel::load_bytes(serialize(m), "meta"), OnnxModelError);
  for (auto& p : *m.mutable_metadata_props())
    if (p.key() == "nomaly.n_features") p.set_value("4");
  for (auto& p : *m.mutable_metadata_props())
    if (p.key() == "nomaly.threshold") p.set_value("abc");
  EXPECT_THROW((void)OnnxModel::load_bytes(serialize(m), "meta"), OnnxModelError);
}

TEST(OnnxModel, ZeroRowsGiveEmptyResult) {
  const auto model = OnnxModel::load_bytes(nomaly_style(4));
  const std::vector<float> none;
  const auto out = model.score({none.data(), 0, 4});
  EXPECT_TRUE(out.scores.empty());
  EXPECT_TRUE(out.labels.empty());
}

TEST(OnnxModel, BytesAndFileAndBatchSizesAgree) {
  const std::size_t d = 4, n = 2503;
  const std::string bytes = nomaly_style(d, 3.0f);
  const auto path = temp_file("parity.onnx", bytes);
  const auto from_bytes = OnnxModel::load_bytes(bytes);
  const auto from_file = OnnxModel::load_file(path.string());
  std::filesystem::remove(path);
  const auto X = random_rows(n, d, 99);
  const MatrixView view{X.data(), n, d};
  const auto ref = from_bytes.score(view);
  ASSERT_EQ(ref.scores.size(), n);
  const auto file_out = from_file.score(view);
  EXPECT_EQ(file_out.scores, ref.scores);
  EXPECT_EQ(file_out.labels, ref.labels);
  for (std::size_t bs : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, n, n + 5}) {
    const auto out = from_bytes.score(view, bs);
    ASSERT_EQ(out.scores.size(), n) << "batch " << bs;
    for (std::size_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(out.scores[i], ref.scores[i]) << "batch " << bs << " row " << i;
    EXPECT_EQ(out.labels, ref.labels) << "batch " << bs;
  }
  // The options' batch size is used when score() gets none.
  OnnxOptions opts;
  opts.batch_size = 13;
  opts.intra_op_threads = 1;
  const auto batched = OnnxModel::load_bytes(bytes, "batched", opts);
  const auto out = batched.score(view);
  for (std::size_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(out.scores[i], ref.scores[i]) << "row " << i;
}

TEST(OnnxModel, ConcurrentScoringIsConsistent) {
  const std::size_t d = 4, n = 3000;
  const auto model = OnnxModel::load_bytes(nomaly_style(d, 3.0f));
  const auto X = random_rows(n, d, 5);
  const MatrixView view{X.data(), n, d};
  const auto ref = model.score(view, 64);
  std::vector<OnnxScore> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) results[t] = model.score(view, 64);
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < results.size(); ++t) {
    EXPECT_EQ(results[t].scores, ref.scores) << "thread " << t;
    EXPECT_EQ(results[t].labels, ref.labels) << "thread " << t;
  }
}

TEST(OnnxModel, MoveKeepsTheSession) {
  auto a = OnnxModel::load_bytes(nomaly_style(4));
  OnnxModel b = std::move(a);
  const auto X = random_rows(3, 4);
  const auto out = b.score({X.data(), 3, 4});
  ASSERT_EQ(out.scores.size(), 3u);
  EXPECT_NEAR(out.scores[0], row_sum_squares(X, 4, 0), 1e-4);
}

TEST(OnnxModel, NewerOpsetThanLibonnxStillLoads) {
  // A model stamped with IR 9 / opset 19 (newer than Debian's libonnx 1.12 knows) gets a structural check
  // and is run by ONNX Runtime, which supports it.
  auto m = nomaly_style_proto(4, 3.0f);
  m.set_ir_version(9);
  for (auto& op : *m.mutable_opset_import())
    if (op.domain().empty()) op.set_version(19);
  const auto model = OnnxModel::load_bytes(serialize(m), "newer");
  EXPECT_EQ(model.metadata().opsets.at(""), 19);
  const auto X = random_rows(10, 4);
  const auto out = model.score({X.data(), 10, 4});
  for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(out.scores[i], row_sum_squares(X, 4, i), 1e-4);
  // ...but structural garbage in such a model is still caught before ORT.
  m.mutable_graph()->mutable_output(0)->set_name("never_produced");
  EXPECT_THROW((void)OnnxModel::load_bytes(serialize(m), "newer_bad"), OnnxModelError);
}

TEST(OnnxInspect, DescribesNomalyModel) {
  const std::string bytes = nomaly_style(4, 2.0f);
  const auto info = inspect_onnx_bytes(bytes, "m.onnx");
  EXPECT_EQ(info.ir_version, 8);
  EXPECT_EQ(info.opsets.at(""), 17);
  EXPECT_EQ(info.opsets.at("ai.onnx.ml"), 3);
  EXPECT_EQ(info.op_counts.at("Mul"), 1u);
  EXPECT_EQ(info.op_counts.at("ReduceSum"), 1u);
  EXPECT_EQ(info.op_counts.at("Cast"), 1u);
  EXPECT_EQ(info.n_nodes, 4u);
  EXPECT_EQ(info.n_initializers, 2u);
  EXPECT_EQ(info.initializer_elements, 2u);
  EXPECT_TRUE(info.checker_error.empty()) << info.checker_error;
  EXPECT_EQ(info.size_bytes, bytes.size());

  const std::string text = describe_onnx(info);
  for (const char* part : {"ir_version: 8", "ai.onnx=17", "ai.onnx.ml=3", "X: tensor(float) [N, 4]",
                           "scores: tensor(float) [N]", "label: tensor(int64) [N]", "ReduceSum: 1",
                           "nomaly.algorithm: sum_squares", "checker: ok", "producer: nomaly test"}) {
    EXPECT_NE(text.find(part), std::string::npos) << "missing '" << part << "' in:\n" << text;
  }
  const auto path = temp_file("inspect.onnx", bytes);
  const std::string from_file = describe_onnx(path.string());
  EXPECT_NE(from_file.find(path.string()), std::string::npos);
  EXPECT_EQ(from_file.substr(from_file.find('\n')), text.substr(text.find('\n')));
  std::filesystem::remove(path);
}

TEST(OnnxInspect, MlDomainOpsAreQualifiedAndCheckerErrorsReported) {
  auto m = nomaly_style_proto(4, 1.0f);
  m.mutable_graph()->mutable_node(0)->set_input(1, "undefined_value");
  const auto info = inspect_onnx_bytes(serialize(m), "bad");
  EXPECT_NE(info.checker_error.find("undefined_value"), std::string::npos) << info.checker_error;
  EXPECT_NE(describe_onnx(info).find("checker: "), std::string::npos);

  GraphBuilder g("ml");
  const auto x = g.input("X", Elem::Float, {N, std::int64_t{2}});
  g.node("Normalizer", {x}, {{"norm", std::string("L2")}}, onnx_build::kMlDomain, "y");
  g.output("y", Elem::Float, {N, std::int64_t{2}});
  const auto ml = inspect_onnx_bytes(serialize(g.finish("ml")));
  EXPECT_EQ(ml.op_counts.at("ai.onnx.ml:Normalizer"), 1u);
}

TEST(OnnxInspect, GarbageIsTyped) {
  EXPECT_THROW((void)describe_onnx_bytes("", "e"), OnnxModelError);
  EXPECT_THROW((void)describe_onnx_bytes("\xff\xff\xff\xff garbage", "g"), OnnxModelError);
  EXPECT_THROW((void)describe_onnx("/nonexistent/x.onnx"), OnnxModelError);
}

}  // namespace
}  // namespace nomaly
