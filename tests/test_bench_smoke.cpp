// CI smoke version of `make accuracy` (issue 7): the accuracy protocol on one small set (wbc, 378 x 30) with one
// seed, the scikit-learn reference script on the same rows, and the report generator - a few seconds in all.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "../bench/accuracy/accuracy_core.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using nomaly::accuracy::Run;

const char* kPython = "/usr/bin/python3";

fs::path scratch_dir() {
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  fs::path p = fs::temp_directory_path() / ("nomaly_bench_smoke_" + std::to_string(stamp));
  fs::create_directories(p);
  return p;
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

/// algorithm -> roc_auc of the ok rows of a long runs CSV (impl,algorithm,dataset,seed,roc_auc,ap,...,status).
std::map<std::string, double> read_auc(const fs::path& path, std::map<std::string, std::string>& status) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, nomaly::accuracy::kCsvHeader);
  std::map<std::string, double> auc;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (f.size() != 9) {
      ADD_FAILURE() << "malformed row: " << line;
      continue;
    }
    status[f[1]] = f[8];
    if (f[8] == "ok") auc[f[1]] = std::stod(f[4]);
  }
  return auc;
}

// Every registered non-deep detector (the networks take seconds; make accuracy covers them) on wbc, seed 0.
std::map<std::string, Run> nomaly_runs_on_wbc(const nomaly::Dataset& wbc) {
  std::map<std::string, Run> runs;
  for (const auto& info : nomaly::list_algorithms())
    if (info.available && !info.deep) runs[info.name] = nomaly::accuracy::run_one(wbc, "wbc", info, 0);
  return runs;
}

TEST(BenchSmoke, AccuracyProtocolGivesSaneNumbersOnWbc) {
  NOMALY_LOAD_ODDS(wbc, "wbc");
  const auto runs = nomaly_runs_on_wbc(wbc);
  ASSERT_GE(runs.size(), 1u);
  ASSERT_TRUE(runs.count("iforest"));
  for (const auto& [name, r] : runs) {
    ASSERT_EQ(r.status, "ok") << name;
    // wbc is easy (every PyOD detector scores > 0.9 in ADBench); well above chance is the sanity bar.
    EXPECT_GT(r.roc_auc, 0.6) << name;
    EXPECT_LE(r.roc_auc, 1.0) << name;
    // AP above the outlier share (21/378 = 0.056, a random ranking's expected AP).
    EXPECT_GT(r.average_precision, 21.0 / 378.0) << name;
    EXPECT_LE(r.average_precision, 1.0) << name;
    EXPECT_GE(r.fit_seconds, 0.0) << name;
  }
  // scikit-learn gets .938 on wbc with Isolation Forest (issue 2); one seed may sit a little below.
  EXPECT_GT(runs.at("iforest").roc_auc, 0.88);
}

TEST(BenchSmoke, SklearnReferenceAndReportRun) {
  NOMALY_LOAD_ODDS(wbc, "wbc");
  if (run(std::string(kPython) + " -c 'import sklearn, numpy'") != 0) {
    if (nomaly::test::under_ci()) FAIL() << kPython << " lacks python3-sklearn (CI=true)";
    GTEST_SKIP() << kPython << " lacks python3-sklearn";
  }
  const fs::path dir = scratch_dir();
  const fs::path src = NOMALY_SOURCE_DIR;
  const std::string data = nomaly::test::data_dir().string();
  ASSERT_EQ(run(std::string(kPython) + " " + (src / "bench/sklearn_accuracy.py").string() + " --data-dir '" + data +
                "' --datasets wbc --seeds 1 --out '" + (dir / "sk.csv").string() + "'"),
            0);
  std::map<std::string, std::string> sk_status;
  const auto sk = read_auc(dir / "sk.csv", sk_status);
  for (const char* name : {"iforest", "lof", "knn", "mcd", "ocsvm"}) {
    ASSERT_EQ(sk_status[name], "ok") << name;
    EXPECT_GT(sk.at(name), 0.85) << name;  // sklearn's own numbers on wbc are 0.92-0.95
  }

  // Same rows, same protocol: the deterministic detectors agree with sklearn to 0.02 (issue 5), the
  // randomised ones (one seed each side, different generators) to 0.05.
  const auto ours = nomaly_runs_on_wbc(wbc);
  for (const auto& [name, auc] : sk) {
    if (!ours.count(name)) continue;
    const double tol = (name == "iforest" || name == "mcd") ? 0.05 : 0.02;
    EXPECT_NEAR(ours.at(name).roc_auc, auc, tol) << name;
  }

  {
    std::ofstream out(dir / "ours.csv");
    out << nomaly::accuracy::kCsvHeader << '\n';
    for (const auto& [name, r] : ours) nomaly::accuracy::write_csv_row(out, r);
  }
  ASSERT_EQ(run(std::string(kPython) + " " + (src / "bench/report.py").string() + " accuracy --no-png --nomaly '" +
                (dir / "ours.csv").string() + "' --sklearn '" + (dir / "sk.csv").string() + "' --out-dir '" +
                dir.string() + "'"),
            0);
  std::ifstream md(dir / "accuracy.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| iforest (sklearn) |"), std::string::npos);
  EXPECT_NE(text.find("| wbc |"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "accuracy.csv"));
  fs::remove_all(dir);
}

}  // namespace
