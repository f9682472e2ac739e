// ROC-AUC / average precision: hand-computed cases, errors, and agreement with scikit-learn run at test time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/metrics.hpp"
#include "test_util.hpp"

using nomaly::average_precision;
using nomaly::roc_auc;

TEST(Metrics, SklearnDocExample) {
  // sklearn docs: roc_auc_score -> 0.75, average_precision_score -> 0.8333...
  const std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<int> y = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.75);
  EXPECT_DOUBLE_EQ(average_precision(s, y), 0.5 * 1.0 + 0.5 * (2.0 / 3.0));
}

TEST(Metrics, TiesCountHalf) {
  // Pairs (pos, neg): (.5,.5) = 1/2, (.5,.1) = 1, (.9,.5) = 1, (.9,.1) = 1 -> 3.5 / 4.
  const std::vector<float> s = {0.5f, 0.5f, 0.9f, 0.1f};
  const std::vector<int> y = {1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.875);
  // Thresholds .9 (R=.5, P=1) and .5 (R=1, P=2/3): the tied block is one threshold.
  EXPECT_DOUBLE_EQ(average_precision(s, y), 0.5 + 0.5 * 2.0 / 3.0);
  // All scores tied: AUC 1/2, AP = prevalence.
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 1, 1, 1}, {0, 1, 0, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(average_precision({1, 1, 1, 1, 1}, {0, 1, 0, 0, 1}), 0.4);
}

TEST(Metrics, PerfectAndReversedRankings) {
  const std::vector<int> y = {0, 0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc({1, 2, 3, 4, 5}, y), 1.0);
  EXPECT_DOUBLE_EQ(average_precision({1, 2, 3, 4, 5}, y), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({5, 4, 3, 2, 1}, y), 0.0);
  // Reversed: positives found at ranks 4 and 5 -> P = 1/4 then 2/5.
  EXPECT_DOUBLE_EQ(average_precision({5, 4, 3, 2, 1}, y), 0.5 * 0.25 + 0.5 * 0.4);
  EXPECT_DOUBLE_EQ(roc_auc({-INFINITY, 0, 1, INFINITY, INFINITY}, y), 1.0);
}

TEST(Metrics, Errors) {
  EXPECT_THROW(roc_auc({1, 2}, {0}), nomaly::DataError);
  EXPECT_THROW(roc_auc({1, 2}, {0, 2}), nomaly::DataError);
  EXPECT_THROW(roc_auc({1, 2}, {1, 1}), nomaly::DataError);
  EXPECT_THROW(roc_auc({1, 2}, {0, 0}), nomaly::DataError);
  EXPECT_THROW(roc_auc({}, {}), nomaly::DataError);
  EXPECT_THROW(roc_auc({NAN, 2}, {0, 1}), nomaly::DataError);
  EXPECT_THROW(average_precision({1, 2}, {0, 0}), nomaly::DataError);
  EXPECT_THROW(average_precision({1, 2}, {0, -1}), nomaly::DataError);
  try {
    roc_auc({1, 2, 3}, {0, 1, 2});
    FAIL();
  } catch (const nomaly::DataError& e) {
    EXPECT_EQ(std::string(e.what()), "roc_auc: label 2 at index 2 is not 0 or 1");
    EXPECT_EQ(e.exit_code(), nomaly::ExitCode::BadData);
  }
  try {
    average_precision({1, 2, 3}, {0, 0, 0});
    FAIL();
  } catch (const nomaly::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("only one class"), std::string::npos) << e.what();
  }
}

namespace {

// Debian's python3-sklearn; checked by path so that Python starts only once, in sklearn_metrics.
bool sklearn_available() {
  return std::filesystem::exists("/usr/bin/python3") &&
         std::filesystem::exists("/usr/lib/python3/dist-packages/sklearn/metrics/__init__.py");
}

/// Runs sklearn on "score,label" files (one Python start for all) and returns {roc_auc, average_precision}
/// per file; {-1, -1} when the run failed.
std::vector<std::pair<double, double>> sklearn_metrics(const std::vector<std::string>& paths) {
  std::string cmd =
      "/usr/bin/python3 -c \"import sys, numpy as np; from sklearn.metrics import roc_auc_score as A, "
      "average_precision_score as P\nfor f in sys.argv[1:]:\n d = np.loadtxt(f, delimiter=',', skiprows=1); "
      "s = d[:, 0].astype(np.float32); y = d[:, 1].astype(int); print('%.17g %.17g' % (A(y, s), P(y, s)))\"";
  for (const auto& p : paths) cmd += " '" + p + "'";
  std::vector<std::pair<double, double>> out(paths.size(), {-1.0, -1.0});
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  for (auto& [a, b] : out)
    if (std::fscanf(p.get(), "%lf %lf", &a, &b) != 2) break;
  return out;
}

}  // namespace

TEST(Metrics, AgreesWithSklearn) {
  if (!sklearn_available()) {
    if (nomaly::test::under_ci()) FAIL() << "/usr/bin/python3 with sklearn is required under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 with sklearn not available";
  }
  const auto dir = std::filesystem::temp_directory_path() / ("nomaly_metrics_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> paths;
  std::vector<std::pair<std::vector<float>, std::vector<int>>> cases;

  // 1) Synthetic, heavy ties: integer scores 0..9 that lean towards the positives.
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> score(0, 9);
  std::bernoulli_distribution pos(0.2);
  std::vector<float> s;
  std::vector<int> y;
  for (int i = 0; i < 1000; ++i) {
    y.push_back(pos(rng) ? 1 : 0);
    s.push_back(static_cast<float>(std::min(9, score(rng) + 2 * y.back())));
  }
  cases.emplace_back(s, y);

  // 2) A real dataset: cardio, score = one raw feature (few ties, realistic ranking).
  const auto cardio = nomaly::test::data_dir() / "cardio.csv";
  if (std::filesystem::exists(cardio)) {
    nomaly::CsvOptions o;
    o.label_column = "label";
    nomaly::Dataset d = nomaly::read_csv(cardio.string(), o);
    std::vector<float> f(d.rows);
    for (std::size_t i = 0; i < d.rows; ++i) f[i] = d.X[i * d.cols + 6];
    cases.emplace_back(f, *d.labels);
  } else if (nomaly::test::under_ci()) {
    ADD_FAILURE() << "missing " << cardio << " (CI=true)";
  }

  for (std::size_t k = 0; k < cases.size(); ++k) {
    paths.push_back((dir / ("scores" + std::to_string(k) + ".csv")).string());
    nomaly::write_scores_csv(paths.back(), cases[k].first, cases[k].second);
  }
  const auto expected = sklearn_metrics(paths);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& [sc, lab] = cases[k];
    ASSERT_GE(expected[k].first, 0.0) << "sklearn run failed for case " << k;
    EXPECT_NEAR(roc_auc(sc, lab), expected[k].first, 1e-12) << "case " << k;
    EXPECT_NEAR(average_precision(sc, lab), expected[k].second, 1e-12) << "case " << k;
    std::cout << "[ info ] case " << k << ": roc_auc " << roc_auc(sc, lab) << " (sklearn " << expected[k].first
              << "), AP " << average_precision(sc, lab) << " (sklearn " << expected[k].second << ")\n";
  }
  std::filesystem::remove_all(dir);
}
