// Shared test helpers: locating ../shared/data and making synthetic data.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "nomaly/csv.hpp"
#include "nomaly/dataset.hpp"

namespace nomaly::test {

/// ../shared/data next to the repo root (override with NOMALY_DATA_DIR).
inline std::filesystem::path data_dir() {
  if (const char* d = std::getenv("NOMALY_DATA_DIR")) return d;
  return std::filesystem::path(NOMALY_SOURCE_DIR) / ".." / "shared" / "data";
}

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

/// The ODDS set names in ../shared/data.
inline std::vector<std::string> odds_sets() {
  return {"arrhythmia", "breastw", "cardio", "glass", "ionosphere", "letter", "lympho",
          "musk", "optdigits", "pima", "thyroid", "vertebral", "vowels", "wbc"};
}

/// Loads ../shared/data/<name>.csv with its label column. When the folder is absent the test is skipped
/// with a reason, except under CI=true where it fails.
#define NOMALY_LOAD_ODDS(var, name)                                                              \
  ::nomaly::Dataset var;                                                                         \
  do {                                                                                           \
    auto _p = ::nomaly::test::data_dir() / (std::string(name) + ".csv");                         \
    if (!std::filesystem::exists(_p)) {                                                          \
      if (::nomaly::test::under_ci()) FAIL() << "missing data file " << _p << " (CI=true)";      \
      GTEST_SKIP() << "data file " << _p << " not found: ../shared/data is absent";              \
    }                                                                                            \
    ::nomaly::CsvOptions _o;                                                                     \
    _o.label_column = "label";                                                                   \
    var = ::nomaly::read_csv(_p.string(), _o);                                                   \
  } while (0)

/// n x d standard normal inliers with `n_out` uniform outliers in [-6, 6]^d appended (labels 1).
inline Dataset synthetic(std::size_t n, std::size_t d, std::size_t n_out = 0, unsigned seed = 42) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.f, 1.f);
  std::uniform_real_distribution<float> U(-6.f, 6.f);
  Dataset ds;
  ds.rows = n + n_out;
  ds.cols = d;
  ds.X.resize(ds.rows * d);
  std::vector<int> labels(ds.rows, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) ds.X[i * d + j] = N(rng);
  for (std::size_t i = n; i < ds.rows; ++i) {
    labels[i] = 1;
    for (std::size_t j = 0; j < d; ++j) ds.X[i * d + j] = U(rng);
  }
  for (std::size_t j = 0; j < d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  ds.labels = labels;
  return ds;
}

/// Result of running the built CLI.
struct CliResult {
  int status = -1;   ///< exit code, or -1 when killed by a signal
  std::string out;   ///< stdout
  std::string err;   ///< stderr
};

/// Runs the built `nomaly` binary (NOMALY_CLI_PATH) with `args` (already shell-quoted), with optional
/// leading environment assignments, e.g. env = "NOMALY_DEEP_LEARNING=false".
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  static std::atomic<int> counter{0};
  const auto errf = std::filesystem::temp_directory_path() /
                    ("nomaly-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err");
  const std::string cmd = env + " '" + std::string(NOMALY_CLI_PATH) + "' " + args + " 2>'" + errf.string() + "'";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(errf, std::ios::binary);
  std::ostringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(errf);
  return r;
}

}  // namespace nomaly::test
