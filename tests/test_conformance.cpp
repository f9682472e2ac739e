// One conformance suite for every registered detector, in the spirit of scikit-learn's check_estimator:
// determinism under a seed, shapes, bad input, native save/load, and ONNX parity. A new detector gets
// every check by registering itself.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

std::vector<std::string> runnable_algorithms() {
  std::vector<std::string> names;
  for (const auto& a : list_algorithms())
    if (a.available) names.push_back(a.name);
  return names;
}

bool has_param(const AlgorithmInfo& info, const std::string& name) {
  for (const auto& p : info.params)
    if (p.name == name) return true;
  return false;
}

// Seeded, and small where training is slow (deep detectors), so the suite stays quick.
json seeded_params(const std::string& name, int seed) {
  const AlgorithmInfo info = algorithm_info(name);
  json p = json::object();
  if (has_param(info, "random_state")) p["random_state"] = seed;
  if (has_param(info, "epochs")) p["epochs"] = 2;
  if (has_param(info, "pretrain_epochs")) p["pretrain_epochs"] = 2;
  return p;
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  Dataset train = test::synthetic(400, 5, 20, 123);
  Dataset fresh = test::synthetic(100, 5, 10, 456);

  std::unique_ptr<Detector> fit(int seed = 0) {
    auto d = create_detector(GetParam(), seeded_params(GetParam(), seed));
    d->fit(train.view());
    return d;
  }
};

TEST_P(Conformance, DeterministicUnderSeed) {
  const auto a = fit(0)->score_samples(fresh.view());
  const auto b = fit(0)->score_samples(fresh.view());
  ASSERT_EQ(a.size(), fresh.rows);
  EXPECT_EQ(a, b);
}

TEST_P(Conformance, ShapesLabelsAndThreshold) {
  auto d = fit();
  EXPECT_TRUE(d->is_fitted());
  EXPECT_EQ(d->n_features(), 5u);
  const auto s = d->score_samples(fresh.view());
  const auto l = d->predict(fresh.view());
  ASSERT_EQ(s.size(), fresh.rows);
  ASSERT_EQ(l.size(), fresh.rows);
  EXPECT_TRUE(std::isfinite(d->threshold()));
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_TRUE(std::isfinite(s[i])) << "row " << i;
    EXPECT_EQ(l[i], s[i] > d->threshold() ? 1 : 0);
  }
  // Inductive scoring: a row's score does not depend on the batch around it.
  const auto one = d->score_samples(fresh.view().slice(3, 1));
  EXPECT_EQ(one[0], s[3]);
  // The planted outliers (uniform in [-6, 6]^5) rank above the inliers on average.
  double in = 0, out = 0;
  for (std::size_t i = 0; i < fresh.rows; ++i) ((*fresh.labels)[i] ? out : in) += s[i];
  EXPECT_GT(out / 10.0, in / 90.0);
  EXPECT_TRUE(d->score_samples(fresh.view().slice(0, 0)).empty());
}

TEST_P(Conformance, BadInputGivesTypedErrors) {
  auto unfitted = create_detector(GetParam(), seeded_params(GetParam(), 0));
  EXPECT_THROW(unfitted->score_samples(fresh.view()), NotFittedError);
  EXPECT_THROW(unfitted->fit(MatrixView{train.X.data(), 0, 5}), DataError);
  auto d = fit();
  const Dataset wide = test::synthetic(10, 6);
  try {
    d->score_samples(wide.view());
    ADD_FAILURE() << "wrong width accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 5 features, got 6"), std::string::npos) << e.what();
  }
  Dataset bad = fresh;
  bad.X[7 * 5 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(d->score_samples(bad.view()), DataError);
  bad.X[7 * 5 + 2] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(create_detector(GetParam(), seeded_params(GetParam(), 0))->fit(bad.view()), DataError);
  EXPECT_THROW(create_detector(GetParam(), {{"no_such_param", 1}}), ParameterError);
  EXPECT_THROW(create_detector(GetParam(), {{"contamination", 0.75}}), ParameterError);
}

TEST_P(Conformance, NativeStateRoundTripIsBitExact) {
  auto d = fit();
  const auto bytes = json::to_msgpack(d->state());
  auto r = restore_detector(json::from_msgpack(bytes));
  EXPECT_EQ(r->algorithm(), d->algorithm());
  EXPECT_EQ(r->params(), d->params());
  EXPECT_EQ(r->threshold(), d->threshold());
  EXPECT_EQ(r->score_samples(fresh.view()), d->score_samples(fresh.view()));
  EXPECT_EQ(r->reference_rows(), d->reference_rows());
}

TEST_P(Conformance, OnnxParityRowByRow) {
  if (!has_onnx_converter(GetParam())) GTEST_SKIP() << GetParam() << " has no ONNX converter";
  auto d = fit();
  const OnnxModel m = OnnxModel::load_bytes(export_onnx_bytes(*d), GetParam());
  EXPECT_EQ(m.style(), OnnxStyle::Nomaly);
  EXPECT_EQ(m.metadata().algorithm, GetParam());
  const double floor = parity_floor(*d);  // the scale-aware rule of nomaly/onnx/parity.hpp
  for (const Dataset* ds : {&train, &fresh}) {
    const auto native = d->score_samples(ds->view());
    const auto labels = d->labels_for(native);
    const OnnxScore o = m.score(ds->view());
    ASSERT_EQ(o.scores.size(), ds->rows);
    const ParityReport p = parity_report(o.scores, native, floor);
    EXPECT_LE(p.max_rel, 1e-4) << "worst row " << p.worst_row;
    for (std::size_t i = 0; i < ds->rows; ++i) {
      if (std::fabs(native[i] - d->threshold()) > 1e-4 * std::max(floor, std::fabs(double(native[i])))) {
        EXPECT_EQ(o.labels[i], labels[i]) << "row " << i;
      }
    }
  }
}

// Issue 14: a near-duplicate cluster (300 rows within 3e-3 of a point of norm ~9, one row repeated 40 times, rows
// one float32 ulp apart) beside a spread group, scored on its own rows and on rows 1e2..1e6 outside the training
// range. ONNX = native row by row within 1e-5 relative; the floor is FLT_MIN (a native 0 must be an ONNX 0).
Dataset cluster_set() {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> U(-1.5e-3f, 1.5e-3f);
  std::normal_distribution<float> N(0.f, 1.f);
  const float c[3] = {-2.3025851f, 5.733665f, 6.629495f};
  Dataset ds;
  ds.cols = 3;
  auto add = [&](float a, float b, float e) { ds.X.insert(ds.X.end(), {a, b, e}); };
  for (int i = 0; i < 300; ++i) add(c[0] + U(rng), c[1] + U(rng), c[2] + U(rng));
  for (int i = 0; i < 40; ++i) add(ds.X[21], ds.X[22], ds.X[23]);
  for (int i = 0; i < 20; ++i) add(std::nextafter(c[0], i % 2 ? 9.f : -9.f), c[1], std::nextafter(c[2], 9.f));
  for (int i = 0; i < 40; ++i) add(-1.9755429f + N(rng), 2.0516088f + N(rng), 4.57981539f + N(rng));
  ds.rows = ds.X.size() / 3;
  ds.feature_names = {"f0", "f1", "f2"};
  return ds;
}

Dataset far_rows(double offset) {
  Dataset ds;
  ds.cols = 3;
  ds.feature_names = {"f0", "f1", "f2"};
  for (int dir = 0; dir < 6; ++dir) {
    float r[3] = {-2.3f, 5.7f, 6.6f};
    r[dir % 3] += static_cast<float>(dir < 3 ? offset : -offset);
    ds.X.insert(ds.X.end(), r, r + 3);
  }
  ds.rows = 6;
  return ds;
}

TEST_P(Conformance, OnnxParityOnClustersAndFarRows) {
  if (!has_onnx_converter(GetParam())) GTEST_SKIP() << GetParam() << " has no ONNX converter";
  const Dataset cl = cluster_set();
  auto d = create_detector(GetParam(), seeded_params(GetParam(), 0));
  d->fit(cl.view());
  const OnnxModel m = OnnxModel::load_bytes(export_onnx_bytes(*d), GetParam());
  std::vector<std::pair<std::string, Dataset>> batches{{"cluster rows", cl}};
  for (double off : {1e2, 1e3, 1e4, 1e5, 1e6}) batches.emplace_back("rows " + std::to_string(off) + " outside", far_rows(off));
  for (const auto& [what, ds] : batches) {
    const auto native = d->score_samples(ds.view());
    const OnnxScore o = m.score(ds.view());
    ASSERT_EQ(o.scores.size(), ds.rows);
    const double floor = static_cast<double>(FLT_MIN);
    for (std::size_t i = 0; i < ds.rows; ++i) {
      const double nat = native[i], ort = o.scores[i];
      EXPECT_LE(std::fabs(ort - nat), 1e-5 * std::max(std::fabs(nat), floor))
          << what << ", row " << i << ": native " << nat << ", ONNX " << ort;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, Conformance, ::testing::ValuesIn(runnable_algorithms()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nomaly
