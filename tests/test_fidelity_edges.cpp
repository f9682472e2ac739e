// Break-tests of the ONNX graphs of issue 14 (edge data: float32 extremes, tiny and degenerate training sets).
// Each expected value is the native score, compared row by row under the parity rule (nomaly/onnx/parity.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// A native score of inf (a kNN distance beyond float32) against a finite ONNX score used to pass: the ratio
// inf / max(inf, floor) is NaN, which no comparison caught. The same infinity on both sides agrees.
TEST(FidelityEdges, InfinityAgainstAFiniteScoreFailsTheParityRule) {
  EXPECT_FALSE(parity_report({5.0f}, {kInf}, 1.0).ok());
  EXPECT_FALSE(parity_report({kInf}, {5.0f}, 1.0).ok());
  EXPECT_FALSE(parity_report({-kInf}, {kInf}, 1.0).ok());
  EXPECT_FALSE(parity_report({std::nanf("")}, {1.0f}, 1.0).ok());
  const ParityReport same = parity_report({kInf, 2.0f}, {kInf, 2.0f}, 1.0);
  EXPECT_TRUE(same.ok());
  EXPECT_EQ(same.max_abs, 0.0) << "the same infinity is no difference";
}

// KNN on values near float32 max: rows far from every training row have a distance beyond float32 (inf) both
// natively and in ONNX; the rest match under the rule.
TEST(FidelityEdges, KnnNearFloatMaxMatchesIncludingInfiniteDistances) {
  Dataset ds = test::synthetic(60, 3, 0, 3);
  for (float& v : ds.X) v = std::clamp(v, -3.0f, 3.0f) * 1e38f;
  auto det = create_detector("knn", json{{"n_neighbors", 3}});
  det->fit(ds.view());
  const std::vector<float> q{3.4e38f, 3.4e38f, 3.4e38f, -3.4e38f, -3.4e38f, -3.4e38f, 0.0f, 0.0f, 0.0f};
  const MatrixView qv{q.data(), 3, 3};
  const auto native = det->score_samples(qv);
  ASSERT_TRUE(std::isinf(native[0])) << native[0];
  const OnnxModel m = OnnxModel::load_bytes(export_onnx_bytes(*det), "knn.onnx");
  const auto onnx = m.score(qv).scores;
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(onnx[i] == native[i]) << "row " << i << ": " << onnx[i] << " vs " << native[i];
  EXPECT_TRUE(parity_report(onnx, native, parity_floor(*det)).ok());
}

}  // namespace
}  // namespace nomaly
