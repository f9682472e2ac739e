// Score fidelity (issue 14 §4-§7): ECOD/COPOD formulas pinned by hand, ECOD/COPOD/HBOS ONNX parity and size on
// 20,000 columns, Isolation Forest parity at 20,000 trees, the save/export check rows, and the scale-aware parity
// rule (nomaly/onnx/parity.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "nomaly/detectors/ecod.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/registry.hpp"
#include "persistence/store_internal.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

std::vector<float> onnx_scores(const Detector& d, MatrixView X) {
  return OnnxModel::load_bytes(export_onnx_bytes(d), d.algorithm()).score(X).scores;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- §6: ECOD and COPOD formulas on a hand-made table ----------------------------------------------------
//
// Training table (n = 4):   f0 = 1, 2, 3, 10      f1 = 5, 4, 4, 1
// Skewness signs: f0 mean 4, deviations -3 -2 -1 6, m3 = (-27 - 8 - 1 + 216) / 4 = 45 > 0 -> s = +1 (U_skew = U_r);
//                 f1 mean 3.5, deviations 1.5 .5 .5 -2.5, m3 = (3.375 + .125 + .125 - 15.625) / 4 = -3 < 0 -> s = -1
//                 (U_skew = U_l).
// U_l = -ln(#{train <= x} / 4), U_r = -ln(#{train >= x} / 4); ECOD term max(U_l, U_r, U_skew), COPOD term
// max(U_skew, (U_l + U_r) / 2); score = sum over the two features.
//  row (1, 5):  f0 U_l = ln4, U_r = 0, U_skew = 0    -> ECOD ln4,  COPOD ln4 / 2 = ln2
//               f1 U_l = 0, U_r = ln4, U_skew = 0    -> ECOD ln4,  COPOD ln2
//               ECOD 2 ln4 = 2.7725887, COPOD 2 ln2 = 1.3862944
//  row (2, 4):  f0 U_l = ln2, U_r = ln(4/3), U_skew = ln(4/3)  -> ECOD ln2, COPOD (ln2 + ln(4/3)) / 2 = ln(8/3) / 2
//               f1 U_l = ln(4/3), U_r = ln(4/3), U_skew = ln(4/3) -> ECOD ln(4/3), COPOD ln(4/3)
//               ECOD ln2 + ln(4/3) = ln(8/3) = 0.98082925, COPOD ln(8/3) / 2 + ln(4/3) = 0.77809670
//  row (3, 4):  f0 U_l = ln(4/3), U_r = ln2, U_skew = ln2 -> ECOD ln2, COPOD max(ln2, ln(8/3) / 2) = ln2
//               f1 as above -> ECOD = COPOD = ln(8/3) = 0.98082925
//  row (10, 1): f0 U_l = 0, U_r = ln4, U_skew = ln4; f1 U_l = ln4, U_r = 0, U_skew = ln4 -> ECOD = COPOD = 2 ln4
//  row (100, -7), outside the training range: counts of 0 are floored at 1 (scores like the extreme training
//               value, see ecod.hpp) -> as row (10, 1): 2 ln4
// Paper aggregation (ECOD) of row (1, 5): sums U_l = ln4, U_r = ln4, U_skew = 0 -> max = ln4 = 1.3862944.
TEST(EcodCopodByHand, ScoresEqualTheFormulas) {
  const std::vector<float> train = {1, 5, 2, 4, 3, 4, 10, 1};
  const std::vector<float> probe = {1, 5, 2, 4, 3, 4, 10, 1, 100, -7};
  const MatrixView X{train.data(), 4, 2}, P{probe.data(), 5, 2};
  const double ln2 = std::log(2.0), ln4 = std::log(4.0), ln43 = std::log(4.0 / 3.0), ln83 = std::log(8.0 / 3.0);
  const std::vector<double> ecod = {2 * ln4, ln83, ln83, 2 * ln4, 2 * ln4};
  const std::vector<double> copod = {2 * ln2, ln83 / 2 + ln43, ln83, 2 * ln4, 2 * ln4};
  for (const auto& [algo, want] : {std::pair{std::string("ecod"), ecod}, std::pair{std::string("copod"), copod}}) {
    auto d = create_detector(algo, json::object());
    d->fit(X);
    const auto got = d->score_samples(P);
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << algo << " row " << i;
    // Training scores are PyOD's decision_scores_ for the training rows.
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(d->training_scores()[i], got[i]) << algo << " row " << i;
    const auto ort = onnx_scores(*d, P);
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ort[i], got[i]) << algo << " ONNX row " << i;
  }
  // The rules are selectable: copod with ECOD's rule scores as ecod, ecod with COPOD's as copod.
  auto as_max = create_detector("copod", {{"aggregation", "max"}});
  auto as_mean = create_detector("ecod", {{"aggregation", "mean"}});
  as_max->fit(X);
  as_mean->fit(X);
  EXPECT_NEAR(as_max->score_samples(P)[1], ln83, 1e-6);
  EXPECT_NEAR(as_mean->score_samples(P)[1], ln83 / 2 + ln43, 1e-6);
  auto paper = create_detector("ecod", {{"aggregation", "paper"}});
  paper->fit(X);
  EXPECT_NEAR(paper->score_samples(P)[0], ln4, 1e-6);
  EXPECT_EQ(onnx_scores(*paper, P)[0], paper->score_samples(P)[0]);
  EXPECT_THROW(create_detector("ecod", {{"aggregation", "sum"}}), ParameterError);
}

// ---- §4 and conformance: 20,000 columns for the per-column detectors -------------------------------------
//
// 200 x 20,000 (the shape): a float32 sum over 20,000 columns drifted 2.2e-5 from native and flipped a
// label; the ONNX file was 411 MB against a 51 MB native file. Now ORT must equal native within 1e-5 under the
// parity rule (in practice bit-equal or one float32 ulp) and the file must be within 2x of the native state.
class WideColumns : public ::testing::TestWithParam<std::string> {};

TEST_P(WideColumns, OnnxEqualsNativeAndStaysCompact) {
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset train = test::synthetic(190, 20000, 10, 7);
  auto d = create_detector(GetParam(), json::object());
  d->fit(train.view());
  const std::string bytes = export_onnx_bytes(*d);
  const std::size_t native_bytes = json::to_msgpack(d->state()).size();
  const auto native = d->score_samples(train.view());
  const OnnxScore o = OnnxModel::load_bytes(bytes, GetParam()).score(train.view());
  const ParityReport p = parity_report(o.scores, native, parity_floor(*d));
  std::size_t flips = 0;
  for (std::size_t i = 0; i < native.size(); ++i) flips += o.labels[i] != (native[i] > d->threshold() ? 1 : 0);
  std::cout << "[wide] " << GetParam() << " 200 x 20000: onnx " << bytes.size() / 1e6 << " MB, native state "
            << native_bytes / 1e6 << " MB, max |ORT - native| " << p.max_abs << ", max rel " << p.max_rel
            << ", label flips " << flips << ", " << seconds_since(t0) << " s\n";
  EXPECT_LE(p.max_rel, 1e-5) << "worst row " << p.worst_row;
  EXPECT_EQ(flips, 0u);
  EXPECT_LE(bytes.size(), 2 * native_bytes);
}

INSTANTIATE_TEST_SUITE_P(PerColumn, WideColumns, ::testing::Values("hbos", "ecod", "copod"),
                         [](const auto& info) { return info.param; });

// ---- §5: Isolation Forest with 20,000 trees ---------------------------------------------------------------
//
// One TreeEnsemble node accumulates 20,000 leaves in float32 (drift 1.17e-5 in the issue). The graph now sums
// <= 32 trees per node and adds the partial sums in float64, so parity holds at any tree count. max_samples 16
// keeps the trees small (the drift depends on the tree count, not the tree size) so the test stays quick.
TEST(IsolationForestManyTrees, OnnxParityAt20000Trees) {
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset train = test::synthetic(300, 4, 20, 11);
  auto d = create_detector("iforest", {{"n_estimators", 20000}, {"max_samples", 16}, {"random_state", 3}});
  d->fit(train.view());
  const std::vector<float> rows = detail::parity_check_rows(*d);
  const MatrixView R{rows.data(), rows.size() / 4, 4};
  for (const MatrixView X : {train.view(), R}) {
    const auto native = d->score_samples(X);
    const ParityReport p = parity_report(onnx_scores(*d, X), native, parity_floor(*d));
    std::cout << "[iforest 20000 trees] " << X.rows << " rows: max |ORT - native| " << p.max_abs << ", max rel "
              << p.max_rel << "\n";
    EXPECT_LE(p.max_rel, 1e-5) << "worst row " << p.worst_row;
  }
  std::cout << "[iforest 20000 trees] " << seconds_since(t0) << " s\n";
}

// Save's and export's check runs on the reference rows plus 256 rows drawn in their box, not 32 rows.
TEST(ParityCheckRows, ReferenceRowsPlusRandomRowsInTheirRange) {
  const Dataset train = test::synthetic(100, 3, 5, 5);
  auto d = create_detector("hbos", json::object());
  d->fit(train.view());
  const auto rows = detail::parity_check_rows(*d);
  const auto& ref = d->reference_rows();
  ASSERT_EQ(rows.size(), ref.size() + detail::kParityRandomRows * 3);
  EXPECT_TRUE(std::equal(ref.begin(), ref.end(), rows.begin()));
  for (std::size_t j = 0; j < 3; ++j) {
    float lo = ref[j], hi = ref[j];
    for (std::size_t i = 0; i < ref.size() / 3; ++i) lo = std::min(lo, ref[i * 3 + j]), hi = std::max(hi, ref[i * 3 + j]);
    for (std::size_t i = ref.size() / 3; i < rows.size() / 3; ++i) {
      EXPECT_GE(rows[i * 3 + j], lo);
      EXPECT_LE(rows[i * 3 + j], hi);
    }
  }
  EXPECT_EQ(rows, detail::parity_check_rows(*d));  // fixed seed: the check is reproducible
}

// ---- §7: the scale-aware parity rule ----------------------------------------------------------------------

double old_rule(const std::vector<float>& got, const std::vector<float>& want) {
  double r = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i)
    r = std::max(r, std::fabs(double(got[i]) - want[i]) / std::max(1.0, std::fabs(double(want[i]))));
  return r;
}

TEST(ParityRule, FloorIsAThousandthOfTheSpread) {
  EXPECT_DOUBLE_EQ(parity_floor(std::vector<float>{2.0f, 6.0f, 3.0f}), 4e-3);
  EXPECT_EQ(parity_floor(std::vector<float>{}), std::numeric_limits<float>::min());
  EXPECT_EQ(parity_floor(std::vector<float>{0.0f, 0.0f}), std::numeric_limits<float>::min());
  // Relative to |native| above the floor, to the floor below it; NaN never passes.
  const ParityReport a = parity_report({101.0f, 0.5f}, {100.0f, 0.0f}, 1.0);
  EXPECT_DOUBLE_EQ(a.max_rel, 0.5);
  EXPECT_EQ(a.worst_row, 1u);
  EXPECT_FALSE(parity_report({std::nanf("")}, {1.0f}, 1.0).ok());
  EXPECT_TRUE(parity_report({1.000001f}, {1.0f}, 1e-3).ok());
}

// A kNN model on data in millionths scores ~1e-6. Comparing the ONNX export of a model fitted on the same data
// scaled by 2 (every score 100% off) with the native scores: the old max(1, |native|) rule passes it at 1e-5,
// the new rule fails it; the right export passes the new rule.
TEST(ParityRule, OldRulePassedAWrongModelNewRuleFailsIt) {
  Dataset small = test::synthetic(200, 3, 10, 9);
  Dataset doubled = small;
  for (auto& v : small.X) v *= 1e-6f;
  for (auto& v : doubled.X) v *= 2e-6f;
  auto right = create_detector("knn", json::object());
  auto wrong = create_detector("knn", json::object());
  right->fit(small.view());
  wrong->fit(doubled.view());
  const auto native = right->score_samples(small.view());
  const auto bad = onnx_scores(*wrong, small.view());
  const double floor = parity_floor(*right);
  EXPECT_LE(old_rule(bad, native), 1e-5) << "the old rule should have passed the wrong model";
  EXPECT_GT(parity_report(bad, native, floor).max_rel, 0.1);
  const ParityReport good = parity_report(onnx_scores(*right, small.view()), native, floor);
  EXPECT_LE(good.max_rel, 1e-5) << "worst row " << good.worst_row;
}

}  // namespace
}  // namespace nomaly
