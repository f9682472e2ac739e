// export_onnx_model with a test-only detector (score = sum of the row) and its converter: the model
// contract (I/O, metadata, threshold labels), the registry and export errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <map>

#include "nomaly/detector.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

using onnx_build::Elem;

// score = sum of the features, accumulated in float.
class SumDetector : public Detector {
 public:
  explicit SumDetector(std::string algorithm = "test_sum", json params = {{"contamination", 0.1}})
      : Detector(std::move(algorithm), std::move(params)) {}

 protected:
  std::vector<float> fit_impl(MatrixView X) override {
    std::vector<float> s(X.rows);
    score_impl(X, s.data());
    return s;
  }
  void score_impl(MatrixView X, float* out) const override {
    for (std::size_t i = 0; i < X.rows; ++i) {
      float s = 0;
      for (std::size_t j = 0; j < X.cols; ++j) s += X(i, j);
      out[i] = s;
    }
  }
  json model_state() const override { return json::object(); }
  void load_model_state(const json&) override {}
};

std::string sum_converter(const Detector&, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  doc = "Sum of the features; higher = more anomalous.";
  const auto axes = g.initializer_int64("axes", {1}, {1});
  return g.node("ReduceSum", {x, axes}, {{"keepdims", std::int64_t{0}}});
}

void register_test_converters() {
  register_onnx_converter("test_sum", sum_converter);
  // Names its result "scores" itself: no Identity is needed.
  register_onnx_converter("test_sum_named", [](const Detector&, onnx_build::GraphBuilder& g, const std::string& x,
                                               std::string& doc) {
    doc = "Sum of the features.";
    const auto axes = g.initializer_int64("axes", {1}, {1});
    return g.node("ReduceSum", {x, axes}, {{"keepdims", std::int64_t{0}}}, "", "scores");
  });
  // Breaks the contract: [N,1] instead of [N].
  register_onnx_converter("test_bad_shape", [](const Detector&, onnx_build::GraphBuilder& g, const std::string& x,
                                               std::string&) {
    const auto axes = g.initializer_int64("axes", {1}, {1});
    return g.node("ReduceSum", {x, axes}, {{"keepdims", std::int64_t{1}}});
  });
  register_onnx_converter("test_throws", [](const Detector&, onnx_build::GraphBuilder&, const std::string&,
                                            std::string&) -> std::string { throw std::runtime_error("boom"); });
}

std::map<std::string, std::string> metadata_of(const ::onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& p : m.metadata_props()) out[p.key()] = p.value();
  return out;
}

TEST(OnnxExport, RegistryLookups) {
  register_test_converters();
  EXPECT_TRUE(has_onnx_converter("test_sum"));
  EXPECT_TRUE(has_onnx_converter("test_sum_named"));
  EXPECT_FALSE(has_onnx_converter("no_such_algorithm"));
  // The built-in converters are registered lazily on first lookup.
  EXPECT_TRUE(has_onnx_converter("iforest"));
}

TEST(OnnxExport, NotFittedAndNoConverter) {
  register_test_converters();
  SumDetector unfitted;
  EXPECT_THROW((void)export_onnx_model(unfitted), NotFittedError);

  const auto data = test::synthetic(50, 3);
  SumDetector orphan("test_no_converter");
  orphan.fit(data.view());
  try {
    (void)export_onnx_bytes(orphan);
    FAIL() << "expected OnnxExportError";
  } catch (const OnnxExportError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("test_no_converter: no ONNX converter", 0), 0u) << msg;
  }
}

TEST(OnnxExport, ModelFollowsTheContract) {
  register_test_converters();
  const auto data = test::synthetic(400, 5, 20);
  SumDetector det;
  det.fit(data.view());
  ExportInfo info{"det-123", "my detector", "2024-05-01T12:00:00Z", {}};
  const ::onnx::ModelProto m = export_onnx_model(det, info);

  EXPECT_EQ(m.ir_version(), 8);
  EXPECT_EQ(m.producer_name(), "nomaly");
  EXPECT_EQ(m.producer_version(), NOMALY_VERSION);
  EXPECT_NE(m.doc_string().find("test_sum"), std::string::npos) << m.doc_string();

  const auto& g = m.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "X");
  const auto& in_shape = g.input(0).type().tensor_type().shape();
  ASSERT_EQ(in_shape.dim_size(), 2);
  EXPECT_EQ(in_shape.dim(0).dim_param(), "N");
  EXPECT_EQ(in_shape.dim(1).dim_value(), 5);
  ASSERT_EQ(g.output_size(), 2);
  EXPECT_EQ(g.output(0).name(), "scores");
  EXPECT_EQ(g.output(0).type().tensor_type().elem_type(), ::onnx::TensorProto::FLOAT);
  EXPECT_EQ(g.output(1).name(), "label");
  EXPECT_EQ(g.output(1).type().tensor_type().elem_type(), ::onnx::TensorProto::INT64);
  bool has_identity = false;
  for (const auto& n : g.node()) has_identity |= n.op_type() == "Identity" && n.output(0) == "scores";
  EXPECT_TRUE(has_identity);

  const auto meta = metadata_of(m);
  const std::vector<std::string> keys{"nomaly.algorithm", "nomaly.params", "nomaly.threshold", "nomaly.contamination",
                                      "nomaly.n_features", "nomaly.feature_names", "nomaly.score", "nomaly.version",
                                      "nomaly.detector_id", "nomaly.detector_name", "nomaly.trained_at"};
  EXPECT_EQ(meta.size(), keys.size());
  for (const auto& k : keys) EXPECT_TRUE(meta.count(k)) << k;
  EXPECT_EQ(meta.at("nomaly.algorithm"), "test_sum");
  EXPECT_EQ(json::parse(meta.at("nomaly.params")), det.params());
  EXPECT_EQ(std::strtof(meta.at("nomaly.threshold").c_str(), nullptr), det.threshold());  // round-trips exactly
  EXPECT_EQ(meta.at("nomaly.contamination"), "0.1");
  EXPECT_EQ(meta.at("nomaly.n_features"), "5");
  EXPECT_EQ(json::parse(meta.at("nomaly.feature_names")), json({"f0", "f1", "f2", "f3", "f4"}));
  EXPECT_EQ(meta.at("nomaly.score"), "Sum of the features; higher = more anomalous.");
  EXPECT_EQ(meta.at("nomaly.version"), NOMALY_VERSION);
  EXPECT_EQ(meta.at("nomaly.detector_id"), "det-123");
  EXPECT_EQ(meta.at("nomaly.detector_name"), "my detector");
  EXPECT_EQ(meta.at("nomaly.trained_at"), "2024-05-01T12:00:00Z");
}

TEST(OnnxExport, OnnxRuntimeScoresMatchNativeScoresAndLabels) {
  register_test_converters();
  const auto data = test::synthetic(500, 6, 25);
  SumDetector det;
  det.fit(data.view());
  const auto model = OnnxModel::load_bytes(export_onnx_bytes(det), "export");
  EXPECT_EQ(model.style(), OnnxStyle::Nomaly);
  EXPECT_EQ(model.n_features(), 6u);
  ASSERT_TRUE(model.metadata().threshold.has_value());
  EXPECT_EQ(static_cast<float>(*model.metadata().threshold), det.threshold());
  EXPECT_EQ(model.metadata().algorithm, "test_sum");

  const auto native = det.score_samples(data.view());
  const auto native_labels = det.predict(data.view());
  const auto out = model.score(data.view());
  ASSERT_EQ(out.scores.size(), native.size());
  int positives = 0, compared = 0;
  for (std::size_t i = 0; i < native.size(); ++i) {
    EXPECT_NEAR(out.scores[i], native[i], 1e-4f) << "row " << i;
    // The in-graph threshold is the same float32 as the detector's.
    EXPECT_EQ(out.labels[i], out.scores[i] > det.threshold() ? 1 : 0) << "row " << i;
    if (std::abs(native[i] - det.threshold()) > 1e-3f) {
      EXPECT_EQ(out.labels[i], native_labels[i]) << "row " << i;
      ++compared;
    }
    positives += out.labels[i];
  }
  EXPECT_GT(compared, 490);
  // contamination 0.1 -> about 10% of the training rows above the threshold.
  EXPECT_GE(positives, 45);
  EXPECT_LE(positives, 55);
}

TEST(OnnxExport, ConverterNamingScoresItselfAndAutoContamination) {
  register_test_converters();
  const auto data = test::synthetic(100, 2);
  SumDetector det("test_sum_named", {{"contamination", "auto"}});
  det.fit(data.view());
  const auto m = export_onnx_model(det, {"", "", "", {"height", "width"}});
  for (const auto& n : m.graph().node()) EXPECT_NE(n.op_type(), "Identity");
  const auto meta = metadata_of(m);
  EXPECT_EQ(meta.at("nomaly.contamination"), "auto");
  EXPECT_EQ(meta.at("nomaly.feature_names"), R"(["height","width"])");
  const auto model = OnnxModel::load_bytes(export_onnx_bytes(det), "named");
  EXPECT_EQ(model.metadata().feature_names, (std::vector<std::string>{"f0", "f1"}));
  const auto out = model.score(data.view());
  const auto native = det.score_samples(data.view());
  for (std::size_t i = 0; i < native.size(); ++i) EXPECT_NEAR(out.scores[i], native[i], 1e-4f);
}

TEST(OnnxExport, ContractViolationsAreExportErrors) {
  register_test_converters();
  const auto data = test::synthetic(60, 3);
  SumDetector bad("test_bad_shape");
  bad.fit(data.view());
  try {
    (void)export_onnx_model(bad);
    FAIL() << "expected OnnxExportError";
  } catch (const OnnxExportError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("test_bad_shape: ", 0), 0u) << e.what();
  }
  SumDetector throws("test_throws");
  throws.fit(data.view());
  try {
    (void)export_onnx_model(throws);
    FAIL() << "expected OnnxExportError";
  } catch (const OnnxExportError& e) {
    EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
  }
  SumDetector good;
  good.fit(data.view());
  EXPECT_THROW((void)export_onnx_model(good, {"", "", "", {"only_one"}}), OnnxExportError);
}

}  // namespace
}  // namespace nomaly

namespace nomaly {
namespace {

// Bug (fuzz_onnx): a TreeEnsembleRegressor whose branches form a cycle made ONNX Runtime spin forever in Run
// (`nomaly score` hung). Such trees, and branches to nodes the tree lacks, are rejected before ORT loads them.
TEST(OnnxExport, TreeEnsemblesWithCyclesOrDanglingBranchesAreRejected) {
  const Dataset ds = test::synthetic(200, 3, 10, 5);
  auto det = create_detector("iforest", json{{"n_estimators", 3}, {"random_state", 1}});
  det->fit(ds.view());
  const ::onnx::ModelProto good = export_onnx_model(*det);
  ASSERT_NO_THROW((void)OnnxModel::load_bytes(good.SerializeAsString(), "good.onnx"));
  auto mutate = [&](std::int64_t new_target) {
    ::onnx::ModelProto m = good;
    for (auto& node : *m.mutable_graph()->mutable_node()) {
      if (node.op_type() != "TreeEnsembleRegressor") continue;
      for (auto& a : *node.mutable_attribute())
        if (a.name() == "nodes_truenodeids") a.set_ints(0, new_target);  // the root of tree 0, a split
    }
    return m.SerializeAsString();
  };
  for (const auto& [target, expect] : std::vector<std::pair<std::int64_t, std::string>>{
           {0, "tree 0 has a cycle through node 0"},
           {100000, "branches to node 100000, which the tree does not have"}}) {
    try {
      (void)OnnxModel::load_bytes(mutate(target), "evil.onnx");
      FAIL() << "target " << target << " must be rejected";
    } catch (const OnnxModelError& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("evil.onnx"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nomaly
