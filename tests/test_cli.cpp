// The fit-and-score commands of the built CLI: detect, algorithms, inspect, verify, quickstart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nomaly/csv.hpp"
#include "nomaly/metrics.hpp"
#include "nomaly/persistence/entity.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("nomaly-cli-" + new_uuid_v4());
    fs::create_directories(dir);
    csv = (dir / "data.csv").string();
    data = synthetic(400, 4, 20, 17);
    write_csv(csv, data);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string q(const fs::path& p) const { return "'" + p.string() + "'"; }

  fs::path dir;
  std::string csv;
  Dataset data;
};

TEST_F(Cli, DetectJsonReportsCountsMetricsAndWritesScoresInInputOrder) {
  const auto scores = dir / "scores.csv";
  const CliResult r = run_cli("detect --algorithm iforest --input " + q(csv) +
                              " --label-column label --param random_state=3 --contamination 0.05 --json --scores-out " + q(scores));
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n_rows"], 420);
  EXPECT_EQ(j["n_features"], 4);
  for (const char* k : {"n_anomalies", "threshold", "roc_auc", "average_precision", "fit_seconds", "score_summary"})
    EXPECT_TRUE(j.contains(k)) << k;
  // A contamination threshold needs the training scores, so they are the reported scores: no score time.
  EXPECT_TRUE(j["scores_from_fit"].get<bool>());
  EXPECT_FALSE(j.contains("score_seconds"));

  // The CLI's numbers equal the library's for the same seed, and the scores file follows input order.
  auto det = create_detector("iforest", {{"random_state", 3}, {"contamination", 0.05}});
  det->fit(data.view());
  const auto expected = det->score_samples(data.view());
  EXPECT_NEAR(j["roc_auc"].get<double>(), roc_auc(expected, *data.labels), 1e-12);
  CsvOptions o;
  o.label_column = "label";
  const Dataset written = read_csv(scores.string(), o);
  ASSERT_EQ(written.rows, data.rows);
  EXPECT_EQ(written.feature_names, std::vector<std::string>{"score"});
  std::size_t flagged = 0;
  for (std::size_t i = 0; i < written.rows; ++i) {
    EXPECT_EQ(written.X[i], expected[i]) << "row " << i;
    EXPECT_EQ((*written.labels)[i], expected[i] > det->threshold() ? 1 : 0);
    flagged += static_cast<std::size_t>((*written.labels)[i]);
  }
  EXPECT_EQ(j["n_anomalies"].get<std::size_t>(), flagged);
}

TEST_F(Cli, DetectErrorsMapToExitCodes) {
  CliResult r = run_cli("detect --input " + q(csv) + " --param bogus=1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown parameter 'bogus' for iforest; valid parameters: n_estimators"), std::string::npos) << r.err;
  r = run_cli("detect --input " + q(csv) + " --algorithm nope");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("known algorithms: iforest"), std::string::npos) << r.err;
  r = run_cli("detect");
  EXPECT_EQ(r.status, 2);
  std::ofstream(dir / "bad.csv") << "a,b\n1,2\n3,x\n";
  r = run_cli("detect --input " + q(dir / "bad.csv"));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("bad.csv:3:2"), std::string::npos) << r.err;
  r = run_cli("inspect " + q(csv));
  EXPECT_EQ(r.status, 4) << r.err;
  r = run_cli("detect --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--scores-out"), std::string::npos);
  for (const char* cmd : {"save", "load"}) {  // the default format is shown
    r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find("--format TEXT=native"), std::string::npos) << cmd << ": " << r.out;
  }
}

TEST_F(Cli, OnnxOutInspectAndVerifyAgainstTheNativeModel) {
  const auto onnx = dir / "m.onnx";
  const auto store = dir / "store";
  CliResult r = run_cli("detect --input " + q(csv) + " --label-column label --param random_state=1 --onnx-out " + q(onnx));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("inspect " + q(onnx));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"TreeEnsembleRegressor", "nomaly.algorithm", "iforest", "scores", "label", "ai.onnx.ml"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;

  // verify compares an ONNX file with a native file of the same detector, row by row.
  r = run_cli("train --store " + q(store) + " --algorithm knn --input " + q(csv) + " --label-column label --id k1");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("save --store " + q(store) + " k1 --format onnx");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("verify " + q(store / "k1" / "model.onnx") + " --input " + q(csv) + " --label-column label --native " +
              q(store / "k1" / "model.nomaly") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json v = json::parse(r.out);
  EXPECT_EQ(v["n_rows"], 420);
  EXPECT_TRUE(v["ok"].get<bool>());
  EXPECT_LE(v["max_rel_diff"].get<double>(), 1e-5);
  EXPECT_EQ(v["label_disagreements"], 0);

  // The iforest ONNX file is a different model from the knn native file: verify must say so (exit 4).
  r = run_cli("verify " + q(onnx) + " --input " + q(csv) + " --label-column label --native " + q(store / "k1" / "model.nomaly"));
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.out.find("MISMATCH"), std::string::npos) << r.out;
}

TEST_F(Cli, AlgorithmsListsEveryDetectorWithParamsAndOnnxSupport) {
  const CliResult r = run_cli("algorithms --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  std::vector<std::string> names;
  for (const auto& a : j) {
    names.push_back(a["name"]);
    EXPECT_FALSE(a["params"].empty());
    EXPECT_TRUE(a.contains("onnx_export"));
  }
  for (const char* n : {"iforest", "lof", "knn", "pca", "mcd", "hbos", "ecod", "copod", "ocsvm", "autoencoder", "deepsvdd"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST_F(Cli, QuickstartFindsTheMalignantTumoursAndRoundTripsThroughOnnx) {
  const char* wdbc = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
  if (!fs::exists(wdbc)) {
    if (under_ci()) FAIL() << "missing " << wdbc << " (python3-sklearn)";
    GTEST_SKIP() << wdbc << " not found: install python3-sklearn";
  }
  const CliResult r = run_cli("quickstart", "cd " + q(dir) + " &&");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("357 benign + 21 malignant"), std::string::npos) << r.out;
  const auto pos = r.out.find("ROC-AUC");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_GE(std::stod(r.out.substr(pos + 7)), 0.9);
  EXPECT_NE(r.out.find("labels identical: yes"), std::string::npos) << r.out;
  for (const char* f : {"model.onnx", "deploy.py", "deploy.mjs", "golden/input.csv", "SHA256SUMS", "config.json"})
    EXPECT_TRUE(fs::exists(dir / "nomaly-quickstart" / "bundle" / f)) << f;
  const CliResult missing = run_cli("quickstart --data " + q(dir / "nope.csv"));
  EXPECT_EQ(missing.status, 3);
  EXPECT_NE(missing.err.find("apt-get install python3-sklearn"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace nomaly::test
