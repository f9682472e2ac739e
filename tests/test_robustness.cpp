// The bad-input table of docs/robustness.md (issue 8 §3): one test per row, named R<nn>_... after the
// row number, checking the error type and message (or the documented result). CLI rows run the real
// binary (NOMALY_CLI_PATH) and check the exit code and the message. Fuzzer regressions are at the end.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <streambuf>
#include <string>

#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"
#include "nomaly/registry.hpp"
#include "persistence/store_internal.hpp"
#include "test_persistence_util.hpp"
#include "test_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

// ---- helpers ----------------------------------------------------------------------------------------

/// Asserts that `stmt` throws exactly-or-derived `Type` whose message contains `needle`.
#define EXPECT_THROW_MSG(stmt, Type, needle)                                                  \
  do {                                                                                        \
    try {                                                                                     \
      stmt;                                                                                   \
      ADD_FAILURE() << "expected " #Type " containing \"" << (needle) << "\", nothing thrown"; \
    } catch (const Type& e_) {                                                                \
      EXPECT_NE(std::string(e_.what()).find(needle), std::string::npos)                      \
          << "message: " << e_.what() << "\nexpected to contain: " << (needle);               \
    }                                                                                         \
  } while (0)

Dataset csv(const std::string& text, const CsvOptions& o = {}) {
  std::istringstream in(text);
  return read_csv(in, "t.csv", o);
}

struct CliResult {
  int code = -1;
  std::string output;  // stdout and stderr
};

/// Runs the nomaly binary with `args` (already shell-quoted where needed).
CliResult run_cli(const std::string& args) {
  const std::string cmd = std::string(NOMALY_CLI_PATH) + " " + args + " 2>&1";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

void write_text(const fs::path& p, const std::string& s) { write_bytes(p, s); }

/// A small clean training file with a label column: 40 rows, 3 features.
fs::path clean_csv(const fs::path& dir) {
  const Dataset d = synthetic(36, 3, 4, 5);
  const fs::path p = dir / "clean.csv";
  write_csv(p.string(), d);
  return p;
}

std::vector<float> finite_scores(const Detector& det, MatrixView X) {
  std::vector<float> s = det.score_samples(X);
  for (float v : s) EXPECT_TRUE(std::isfinite(v)) << det.algorithm() << " produced a non-finite score";
  return s;
}

/// The built-in, non-deep algorithms (the deep ones are covered by their own suites).
std::vector<std::string> classic_algorithms() {
  return {"iforest", "lof", "knn", "hbos", "pca", "ocsvm", "mcd", "ecod", "copod"};
}

json quick_params(const std::string& algo) {
  if (algo == "iforest") return {{"n_estimators", 20}, {"random_state", 3}};
  if (algo == "mcd") return {{"random_state", 3}};
  return json::object();
}

// ---- data: non-finite values -----------------------------------------------------------------------

TEST(Robustness, R01_NanInTrainingCsv) {
  EXPECT_THROW_MSG(csv("a,b\n1,2\n3,nan\n"), CsvError,
                   "t.csv:3:2: column 'b': non-finite value \"nan\"; non-finite values (NaN, inf, -inf) are rejected");
}

TEST(Robustness, R02_InfInTrainingCsv) {
  EXPECT_THROW_MSG(csv("a,b\n1,inf\n"), CsvError, "t.csv:2:2: column 'b': non-finite value \"inf\"");
  EXPECT_THROW_MSG(csv("a,b\n-inf,1\n"), CsvError, "t.csv:2:1: column 'a': non-finite value \"-inf\"");
  // A finite literal beyond float32 range is an overflow to infinity, rejected the same way.
  EXPECT_THROW_MSG(csv("a\n1e39\n"), CsvError, "value \"1e39\" overflows float32 to infinity");
}

TEST(Robustness, R03_NonFiniteInTrainingMatrix) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    Dataset d = synthetic(20, 2);
    d.X[5 * 2 + 1] = bad;
    for (const auto& algo : classic_algorithms()) {
      auto det = create_detector(algo, quick_params(algo));
      EXPECT_THROW_MSG(det->fit(d.view()), DataError, algo + " fit: non-finite value at row 6, column 2");
    }
  }
}

TEST(Robustness, R04_NonFiniteInScoringData) {
  const Dataset train = synthetic(50, 3);
  auto det = create_detector("iforest", quick_params("iforest"));
  det->fit(train.view());
  Dataset x = synthetic(4, 3, 0, 9);
  x.X[2 * 3 + 0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_MSG(det->score_samples(x.view()), DataError, "non-finite value at row 3, column 1");
  x.X[2 * 3 + 0] = -std::numeric_limits<float>::infinity();
  EXPECT_THROW_MSG(det->predict(x.view()), DataError, "non-finite value at row 3, column 1");
  // The CSV path refuses them before a detector sees them.
  EXPECT_THROW_MSG(csv("f0,f1,f2\n1,2,NaN\n"), CsvError, "t.csv:2:3: column 'f2': non-finite value \"NaN\"");
}

TEST(Robustness, R05_WrongFeatureCountAtScoring) {
  const Dataset train = synthetic(50, 3);
  auto det = create_detector("knn", json::object());
  det->fit(train.view());
  const Dataset narrow = synthetic(5, 2);
  EXPECT_THROW_MSG(det->score_samples(narrow.view()), DataError, "knn: expected 3 features, got 2");
  // The ONNX session checks the width too.
  const OnnxModel m = OnnxModel::load_bytes(export_onnx_bytes(*det), "knn.onnx");
  EXPECT_THROW_MSG(m.score(narrow.view()), DataError, "knn.onnx: expected 3 features, got 2");
}

TEST(Robustness, R05b_WrongFeatureCountAtScoringCli) {
  TempDir t;
  const fs::path train = clean_csv(t.path);
  write_text(t.path / "narrow.csv", "f0,f1\n1,2\n");
  const fs::path store = t.path / "store";
  CliResult r = run_cli("train --store " + q(store) + " -a iforest -i " + q(train) + " --id rob -p random_state=1");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run_cli("score rob --store " + q(store) + " -i " + q(t.path / "narrow.csv"));
  EXPECT_EQ(r.code, 3) << r.output;
  // The model records its feature names, so the CLI names the missing column rather than counting.
  EXPECT_NE(r.output.find("missing feature column f2"), std::string::npos) << r.output;
}

// ---- data: shape -----------------------------------------------------------------------------------

TEST(Robustness, R06_EmptyCsv) {
  EXPECT_THROW_MSG(csv(""), CsvError, "t.csv: empty file: expected a header row");
  EXPECT_THROW_MSG(csv("\n\n  \n"), CsvError, "empty file: expected a header row");
  TempDir t;
  write_text(t.path / "empty.csv", "");
  const CliResult r = run_cli("detect -a iforest -i " + q(t.path / "empty.csv"));
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("empty file: expected a header row"), std::string::npos) << r.output;
}

TEST(Robustness, R07_HeaderOnly) {
  EXPECT_THROW_MSG(csv("a,b,label\n"), CsvError, "t.csv:1: the file has a header row but no data rows");
  TempDir t;
  write_text(t.path / "h.csv", "a,b\n");
  const CliResult r = run_cli("detect -a iforest -i " + q(t.path / "h.csv"));
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("header row but no data rows"), std::string::npos) << r.output;
}

TEST(Robustness, R08_SingleRow) {
  const Dataset d = csv("a,b\n1.5,2.5\n");
  ASSERT_EQ(d.rows, 1u);
  EXPECT_EQ(d.X, (std::vector<float>{1.5f, 2.5f}));
  // One row is too few to learn anything: detectors that need two or more say so; the others fit.
  auto forest = create_detector("iforest", quick_params("iforest"));
  EXPECT_THROW_MSG(forest->fit(d.view()), DataError, "iforest: needs at least 2 training rows, got 1");
  for (const auto& algo : classic_algorithms()) {
    auto det = create_detector(algo, quick_params(algo));
    try {
      det->fit(d.view());
      const auto s = finite_scores(*det, d.view());
      EXPECT_EQ(s.size(), 1u) << algo;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("needs at least"), std::string::npos) << algo << ": " << e.what();
    }
  }
}

TEST(Robustness, R09_FewerRowsThanMaxSamples) {
  // sklearn: max_samples larger than n is clipped to n (with a warning); scores stay in (0, 1].
  const Dataset d = synthetic(10, 2);
  auto det = create_detector("iforest", {{"n_estimators", 10}, {"max_samples", 256}, {"random_state", 1}});
  det->fit(d.view());
  const auto s = finite_scores(*det, d.view());
  for (float v : s) {
    EXPECT_GT(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  // The clipped forest equals a forest asked for exactly n samples.
  auto exact = create_detector("iforest", {{"n_estimators", 10}, {"max_samples", 10}, {"random_state", 1}});
  exact->fit(d.view());
  EXPECT_EQ(s, exact->score_samples(d.view()));
  EXPECT_EQ(det->params()["max_samples"], 10);  // the stored parameters say what the fit used
  // A fraction that leaves fewer than 2 rows per tree is an error (sklearn raises), not a forest of 0.5 scores.
  auto tiny = create_detector("iforest", {{"n_estimators", 10}, {"max_samples", 0.1}, {"random_state", 1}});
  EXPECT_THROW_MSG(tiny->fit(d.view()), ParameterError, "parameter 'max_samples' = 0.1 of 10 rows is 1 row(s) per tree");
}

TEST(Robustness, R10_FewerRowsThanNeighbors) {
  const Dataset d = synthetic(6, 2);
  // LOF caps k at n - 1 as sklearn does: same scores as n_neighbors = 5.
  auto lof = create_detector("lof", {{"n_neighbors", 20}});
  lof->fit(d.view());
  auto lof5 = create_detector("lof", {{"n_neighbors", 5}});
  lof5->fit(d.view());
  EXPECT_EQ(finite_scores(*lof, d.view()), lof5->score_samples(d.view()));
  EXPECT_EQ(lof->params()["n_neighbors"], 5);  // stored as used (a warning says so)
  // KNN: clipped the same way (each row is left out of its own neighbours, so at most n - 1).
  auto knn = create_detector("knn", {{"n_neighbors", 20}});
  knn->fit(d.view());
  auto knn5 = create_detector("knn", {{"n_neighbors", 5}});
  knn5->fit(d.view());
  EXPECT_EQ(finite_scores(*knn, d.view()), knn5->score_samples(d.view()));
  EXPECT_EQ(knn->params()["n_neighbors"], 5);
}

TEST(Robustness, R11_ConstantColumn) {
  Dataset d = synthetic(60, 3);
  for (std::size_t i = 0; i < d.rows; ++i) d.X[i * 3 + 1] = 4.0f;
  for (const auto& algo : classic_algorithms()) {
    auto det = create_detector(algo, quick_params(algo));
    det->fit(d.view());
    const auto s = finite_scores(*det, d.view());
    EXPECT_EQ(s.size(), d.rows) << algo;
  }
}

TEST(Robustness, R12_AllIdenticalRows) {
  Dataset d;
  d.rows = 30;
  d.cols = 2;
  d.X.assign(60, 1.25f);
  for (const auto& algo : classic_algorithms()) {
    auto det = create_detector(algo, quick_params(algo));
    if (algo == "mcd") {  // as sklearn's MinCovDet: a zero covariance cannot be inverted
      EXPECT_THROW_MSG(det->fit(d.view()), DataError, "mcd: the covariance matrix of the support data is equal to 0");
      continue;
    }
    det->fit(d.view());
    const auto s = finite_scores(*det, d.view());
    for (float v : s) EXPECT_EQ(v, s[0]) << algo << ": identical rows must score identically";
    EXPECT_EQ(det->predict(d.view()), std::vector<int>(30, det->labels_for({s[0]})[0])) << algo;
  }
}

TEST(Robustness, R13_SingleFeature) {
  const Dataset d = synthetic(60, 1, 3);
  for (const auto& algo : classic_algorithms()) {
    auto det = create_detector(algo, quick_params(algo));
    det->fit(d.view());
    const auto s = finite_scores(*det, d.view());
    // The three appended uniform outliers in [-6, 6] are not all ranked below the inliers' median.
    std::vector<float> sorted(s.begin(), s.begin() + 60);
    std::sort(sorted.begin(), sorted.end());
    EXPECT_GT(std::max({s[60], s[61], s[62]}), sorted[30]) << algo;
  }
}

TEST(Robustness, R14_HugeMagnitudes) {
  const Dataset d = csv("a,b\n1e38,-1e38\n-1e38,1e38\n0,0\n1,1\n2,-1\n1e38,1e38\n-3,2\n");
  EXPECT_EQ(d.X[0], 1e38f);
  EXPECT_EQ(d.X[1], -1e38f);
  // Every detector fits and scores without NaN/inf scores or a crash, or refuses with DataError.
  for (const auto& algo : classic_algorithms()) {
    auto det = create_detector(algo, quick_params(algo));
    try {
      det->fit(d.view());
      const auto s = finite_scores(*det, d.view());
      EXPECT_EQ(s.size(), d.rows) << algo;
    } catch (const DataError& e) {
      ADD_FAILURE() << algo << " refused +/-1e38: " << e.what();
    }
  }
}

// ---- data: CSV syntax ------------------------------------------------------------------------------

TEST(Robustness, R15_NonNumericCell) {
  EXPECT_THROW_MSG(csv("a,b\n1,2\n3,abc\n"), CsvError, "t.csv:3:2: column 'b': non-numeric value \"abc\"");
  EXPECT_THROW_MSG(csv("a,b\n1,\n"), CsvError, "t.csv:2:2: column 'b': non-numeric value \"\" (empty cell");
  TempDir t;
  write_text(t.path / "bad.csv", "a,b\n1,2\n3,abc\n");
  const CliResult r = run_cli("detect -a hbos -i " + q(t.path / "bad.csv"));
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("bad.csv:3:2: column 'b': non-numeric value \"abc\""), std::string::npos) << r.output;
}

TEST(Robustness, R16_RaggedRow) {
  EXPECT_THROW_MSG(csv("a,b,c\n1,2,3\n4,5\n"), CsvError,
                   "t.csv:3:3: too few fields: expected 3 (as in the header), got 2; column 'c' is missing");
  EXPECT_THROW_MSG(csv("a,b\n1,2,3\n"), CsvError, "t.csv:2:3: too many fields: expected 2 (as in the header), got 3");
}

TEST(Robustness, R17_CrlfLineEndings) {
  CsvOptions o;
  o.label_column = "label";
  const Dataset lf = csv("a,b,label\n1,2,0\n3,4,1\n", o);
  const Dataset crlf = csv("a,b,label\r\n1,2,0\r\n3,4,1\r\n", o);
  EXPECT_EQ(crlf.X, lf.X);
  EXPECT_EQ(crlf.feature_names, lf.feature_names);
  EXPECT_EQ(*crlf.labels, *lf.labels);
}

TEST(Robustness, R18_Utf8Bom) {
  const Dataset d = csv("\xEF\xBB\xBF" "a,b\n1,2\n");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.X, (std::vector<float>{1, 2}));
}

TEST(Robustness, R19_QuotedFieldWithComma) {
  const Dataset d = csv("\"x,y\",b\n\"1.5\",\"2\"\n");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x,y", "b"}));
  EXPECT_EQ(d.X, (std::vector<float>{1.5f, 2.0f}));
  // A comma inside a quoted numeric cell is not a number (no locale decimal commas).
  EXPECT_THROW_MSG(csv("a\n\"1,5\"\n"), CsvError, "t.csv:2:1: column 'a': non-numeric value \"1,5\"");
}

TEST(Robustness, R20_DuplicateColumnNames) {
  EXPECT_THROW_MSG(csv("a,b,a\n1,2,3\n"), CsvError, "t.csv:1:3: duplicate column name 'a' (also column 1)");
}

// ---- data: over-long lines (bounded memory) -----------------------------------------------------------

/// A stream of `total` bytes: "a\n" then 'x' forever (one endless line), generated on the fly, counting
/// what the reader pulled. Lets the test feed a 2 GB line without 2 GB of disk or memory.
class EndlessLine : public std::streambuf {
 public:
  explicit EndlessLine(std::uint64_t total) : total_(total), chunk_(1 << 16, 'x') {
    chunk_[0] = 'a';
    chunk_[1] = '\n';
  }
  std::uint64_t consumed() const { return consumed_; }

 protected:
  int_type underflow() override {
    if (consumed_ >= total_) return traits_type::eof();
    const std::uint64_t n = std::min<std::uint64_t>(chunk_.size(), total_ - consumed_);
    if (consumed_ > 0) chunk_[0] = chunk_[1] = 'x';
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    consumed_ += n;
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::uint64_t total_;
  std::uint64_t consumed_ = 0;
  std::string chunk_;
};

long max_rss_kb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST(Robustness, R21_LineOverConfiguredLimit) {
  CsvOptions o;
  o.max_line_bytes = 1024;
  const std::string ok_line = std::string(1019, '0') + "1";  // leading zeros: still the number 1
  EXPECT_EQ(csv("a\n" + ok_line + "\n", o).rows, 1u);
  EXPECT_THROW_MSG(csv("a\n" + std::string(1024, '0') + "1\n", o), CsvError,
                   "t.csv:2: line is longer than 1024 bytes (max_line_bytes); refusing to read it");
}

TEST(Robustness, R22_LineOverDefaultLimitFromFile) {
  // ~17 MB on one line, just over the default 16 MiB limit.
  TempDir t;
  const fs::path p = t.path / "long.csv";
  {
    std::ofstream out(p, std::ios::binary);
    out << "a\n";
    const std::string block(1 << 20, '7');
    for (int i = 0; i < 17; ++i) out << block;
    out << "\n";
  }
  EXPECT_THROW_MSG(read_csv(p.string()), CsvError, "long.csv:2: line is longer than 16777216 bytes (max_line_bytes)");
}

TEST(Robustness, R23_TwoGigabyteLineBoundedMemory) {
  const std::uint64_t two_gb = 2ull << 30;
  EndlessLine gen(two_gb);
  std::istream in(&gen);
  const long rss_before = max_rss_kb();
  EXPECT_THROW_MSG(read_csv(in, "endless.csv"), CsvError, "endless.csv:2: line is longer than 16777216 bytes");
  // The reader stops near the limit: it pulled at most a few times 16 MiB of the 2 GB, ...
  EXPECT_LT(gen.consumed(), 64ull << 20) << "the reader read " << gen.consumed() << " bytes of an over-long line";
  EXPECT_GT(gen.consumed(), 16ull << 20);
  // ... and its peak memory grew by well under the line's size.
  const long grown_mb = (max_rss_kb() - rss_before) / 1024;
  EXPECT_LT(grown_mb, 256) << "peak RSS grew by " << grown_mb << " MB";
}

// ---- parameters ------------------------------------------------------------------------------------

TEST(Robustness, R24_ContaminationZero) {
  EXPECT_THROW_MSG(create_detector("iforest", {{"contamination", 0}}), ParameterError,
                   "parameter 'contamination' must be in (0, 0.5] (as in scikit-learn), got 0");
}

TEST(Robustness, R25_ContaminationHalf) {
  const Dataset d = synthetic(100, 2);
  auto det = create_detector("hbos", {{"contamination", 0.5}});
  det->fit(d.view());
  // numpy.percentile(train_scores, 50): half of the training rows (ties aside) are labelled anomalous.
  const auto labels = det->predict(d.view());
  const auto n_out = std::count(labels.begin(), labels.end(), 1);
  EXPECT_GE(n_out, 45);
  EXPECT_LE(n_out, 50);
  EXPECT_EQ(det->threshold(), static_cast<float>(percentile(det->training_scores(), 50.0)));
}

TEST(Robustness, R26_ContaminationOverHalf) {
  EXPECT_THROW_MSG(create_detector("lof", {{"contamination", 0.6}}), ParameterError,
                   "parameter 'contamination' must be in (0, 0.5] (as in scikit-learn), got 0.6");
  TempDir t;
  const CliResult r = run_cli("detect -a lof -i " + q(clean_csv(t.path)) + " --contamination 0.6");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("must be in (0, 0.5]"), std::string::npos) << r.output;
}

TEST(Robustness, R27_NegativeEstimators) {
  EXPECT_THROW_MSG(create_detector("iforest", {{"n_estimators", -5}}), ParameterError,
                   "parameter 'n_estimators' must be >= 1, got -5");
  TempDir t;
  const CliResult r = run_cli("detect -a iforest -i " + q(clean_csv(t.path)) + " -p n_estimators=-5");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("parameter 'n_estimators' must be >= 1, got -5"), std::string::npos) << r.output;
}

TEST(Robustness, R28_UnknownParameterName) {
  EXPECT_THROW_MSG(create_detector("iforest", {{"n_trees", 10}}), ParameterError,
                   "unknown parameter 'n_trees' for iforest; valid parameters: ");
  TempDir t;
  const CliResult r = run_cli("detect -a iforest -i " + q(clean_csv(t.path)) + " -p n_trees=10");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown parameter 'n_trees'"), std::string::npos) << r.output;
}

TEST(Robustness, R29_ParameterOfWrongType) {
  EXPECT_THROW_MSG(create_detector("iforest", {{"n_estimators", "many"}}), ParameterError,
                   "parameter 'n_estimators' expects");
  EXPECT_THROW_MSG(create_detector("knn", {{"n_neighbors", 2.5}}), ParameterError, "parameter 'n_neighbors' expects");
  TempDir t;
  const CliResult r = run_cli("detect -a knn -i " + q(clean_csv(t.path)) + " -p n_neighbors=abc");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("parameter 'n_neighbors' expects"), std::string::npos) << r.output;
}

// ---- model files -----------------------------------------------------------------------------------

/// A store with one detector saved in both formats (ONNX last).
struct SavedModel {
  TempDir tmp;
  std::shared_ptr<InMemoryDetectorRepository> repo = std::make_shared<InMemoryDetectorRepository>();
  std::unique_ptr<ModelPersistenceService> svc;
  std::string id = "robust_model";
  fs::path dir;
  SavedModel() {
    repo->save(fitted_entity("iforest", synthetic(64, 3), small_iforest_params(), "robust", id));
    svc = std::make_unique<ModelPersistenceService>(repo, tmp.path / "store");
    svc->save_model(id, Format::Native);
    svc->save_model(id, Format::Onnx);
    dir = tmp.path / "store" / id;
  }
};

TEST(Robustness, R30_TruncatedModelFile) {
  SavedModel m;
  const std::string native = read_bytes(m.dir / "model.nomaly");
  write_bytes(m.dir / "model.nomaly", native.substr(0, native.size() / 2));
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel, "model.nomaly: size mismatch");
  // Without metadata.json (a bare file), the envelope itself reports the truncation.
  EXPECT_THROW_MSG(decode_native_entity(native.substr(0, native.size() - 1), "m.nomaly"), CorruptModel,
                   "m.nomaly: truncated payload");
  EXPECT_THROW_MSG(decode_native_entity(native.substr(0, 30), "m.nomaly"), CorruptModel, "m.nomaly: truncated header");
  const std::string onnx = read_bytes(m.dir / "model.onnx");
  EXPECT_THROW_MSG(OnnxModel::load_bytes(onnx.substr(0, onnx.size() / 2), "m.onnx"), OnnxModelError, "m.onnx");
  // CLI: scoring a truncated file is a model error (exit 4).
  write_bytes(m.tmp.path / "t.nomaly", native.substr(0, native.size() - 7));
  write_csv((m.tmp.path / "x.csv").string(), synthetic(5, 3));
  const CliResult r = run_cli("score " + q(m.tmp.path / "t.nomaly") + " -i " + q(m.tmp.path / "x.csv"));
  EXPECT_EQ(r.code, 4) << r.output;
  EXPECT_NE(r.output.find("t.nomaly: truncated payload"), std::string::npos) << r.output;
}

TEST(Robustness, R31_FlippedByte) {
  SavedModel m;
  std::string native = read_bytes(m.dir / "model.nomaly");
  native[native.size() - 10] ^= 0x01;
  EXPECT_THROW_MSG(decode_native_entity(native, "m.nomaly"), CorruptModel,
                   "m.nomaly: checksum mismatch (payload SHA-256 differs from the header)");
  write_bytes(m.dir / "model.nomaly", native);
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel,
                   "model.nomaly: checksum mismatch (SHA-256 differs from metadata.json)");
  std::string onnx = read_bytes(m.dir / "model.onnx");
  onnx[onnx.size() / 2] ^= 0x40;
  write_bytes(m.dir / "model.onnx", onnx);
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Onnx), CorruptModel, "model.onnx: checksum mismatch");
}

TEST(Robustness, R32_ZeroByteModelFile) {
  SavedModel m;
  EXPECT_THROW_MSG(decode_native_entity("", "m.nomaly"), CorruptModel, "m.nomaly: truncated header (0 of 52 bytes)");
  EXPECT_THROW_MSG(decode_native_entity("PK\x03\x04", "m.nomaly"), CorruptModel, "m.nomaly: not a nomaly native model (bad magic)");
  EXPECT_THROW_MSG(OnnxModel::load_bytes("", "m.onnx"), OnnxModelError, "m.onnx");
  write_bytes(m.dir / "model.nomaly", "");
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel, "model.nomaly: size mismatch");
  write_bytes(m.tmp.path / "zero.nomaly", "");
  write_csv((m.tmp.path / "x.csv").string(), synthetic(5, 3));
  const CliResult r = run_cli("score " + q(m.tmp.path / "zero.nomaly") + " -i " + q(m.tmp.path / "x.csv"));
  EXPECT_EQ(r.code, 4) << r.output;
}

/// A valid ONNX model of another program: two inputs added together (not an anomaly detector).
std::string foreign_onnx() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("some-other-tool");
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("adder");
  auto* node = g->add_node();
  node->set_op_type("Add");
  node->add_input("A");
  node->add_input("B");
  node->add_output("C");
  for (const char* name : {"A", "B", "C"}) {
    auto* vi = std::string(name) == "C" ? g->add_output() : g->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    tt->mutable_shape()->add_dim()->set_dim_value(3);
  }
  return m.SerializeAsString();
}

TEST(Robustness, R33_OnnxFileOfAnotherProgram) {
  EXPECT_THROW_MSG(OnnxModel::load_bytes(foreign_onnx(), "adder.onnx"), OnnxModelError,
                   "adder.onnx: expected exactly one input (named X). Model inputs: ");
  // Not ONNX at all (a PNG signature and junk).
  EXPECT_THROW_MSG(OnnxModel::load_bytes(std::string("\x89PNG\r\n\x1a\n junk", 14), "pic.onnx"), OnnxModelError,
                   "pic.onnx");
  TempDir t;
  write_bytes(t.path / "adder.onnx", foreign_onnx());
  write_csv((t.path / "x.csv").string(), synthetic(5, 3));
  const CliResult r = run_cli("score " + q(t.path / "adder.onnx") + " -i " + q(t.path / "x.csv"));
  EXPECT_EQ(r.code, 4) << r.output;
  EXPECT_NE(r.output.find("expected exactly one input"), std::string::npos) << r.output;
}

TEST(Robustness, R34_StubWithoutNativeFile) {
  TempDir t;
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  repo->save(fitted_entity(kCentroid, synthetic(40, 2), json::object(), "centroid", "stubby"));
  ModelPersistenceService svc(repo, t.path / "store");
  svc.save_model("stubby", Format::Onnx);
  const fs::path dir = t.path / "store" / "stubby";
  ASSERT_TRUE(is_onnx_stub(read_bytes(dir / "model.onnx")));
  fs::remove(dir / "model.nomaly");
  EXPECT_THROW_MSG(svc.load_model("stubby", Format::Onnx), CorruptModel, "model.onnx");
  EXPECT_THROW_MSG(open_model_path(dir / "model.onnx"), CorruptModel, "model.onnx");
}

TEST(Robustness, R35_SymlinkOutsideStore) {
  SavedModel m;
  // A valid model elsewhere, with the same bytes (so the checksum alone would not catch it).
  const fs::path outside = m.tmp.path / "outside.nomaly";
  fs::copy_file(m.dir / "model.nomaly", outside);
  fs::remove(m.dir / "model.nomaly");
  fs::create_symlink(outside, m.dir / "model.nomaly");
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel, "is a symbolic link");
}

TEST(Robustness, R36_BadDetectorIds) {
  SavedModel m;
  const std::string long_id(200, 'a');
  for (const std::string& id : {std::string("../robust_model"), std::string("a/b"), std::string("x\0y", 3), long_id,
                                std::string(".."), std::string("")}) {
    EXPECT_THROW_MSG(m.svc->load_model(id, Format::Native), InvalidDetectorId, "invalid detector id");
    EXPECT_THROW_MSG(m.svc->save_model(id, Format::Native), InvalidDetectorId, "invalid detector id");
    EXPECT_THROW_MSG(m.svc->delete_model(id), InvalidDetectorId, "expected a UUID v4 or 1-64 characters of [A-Za-z0-9_.-]");
  }
  // NUL is escaped in the message; the store is untouched.
  EXPECT_THROW_MSG(validate_detector_id(std::string("x\0y", 3)), InvalidDetectorId, "\\x00");
  EXPECT_TRUE(fs::exists(m.dir / "model.nomaly"));
  EXPECT_EQ(std::distance(fs::directory_iterator(m.tmp.path / "store"), fs::directory_iterator()), 1);
  const CliResult r = run_cli("load '../robust_model' --store " + q(m.tmp.path / "store"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("invalid detector id"), std::string::npos) << r.output;
  const CliResult r2 = run_cli("train --store " + q(m.tmp.path / "store") + " -a hbos -i " + q(clean_csv(m.tmp.path)) +
                               " --id " + std::string(200, 'b'));
  EXPECT_EQ(r2.code, 2) << r2.output;
  EXPECT_NE(r2.output.find("invalid detector id"), std::string::npos) << r2.output;
}

// ---- fuzzer regressions (fuzz/run_fuzz.sh) ------------------------------------------------------------

/// Rewrites a JSON file with `edit` applied and a correct self-checksum (as a hostile writer could).
void rewrite_metadata(const fs::path& p, const std::function<void(json&)>& edit) {
  json m = json::parse(read_bytes(p));
  edit(m);
  m["metadata_sha256"] = detail::metadata_digest(m);
  write_bytes(p, m.dump(2));
}

TEST(Robustness, Fuzz01_IllTypedMetadataIsCorruptModel) {
  // fuzz_metadata: {"files": {"model.nomaly": {"sha256": 5}}} with a valid metadata_sha256 escaped as
  // nlohmann::json::type_error from load_model (and blocked later saves).
  SavedModel m;
  rewrite_metadata(m.dir / "metadata.json", [](json& j) { j["files"]["model.nomaly"]["sha256"] = 5; });
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel,
                   "metadata.json: malformed metadata (field 'files.model.nomaly' has the wrong type or value)");
  EXPECT_EQ(m.svc->list_saved_models().count(m.id), 0u);
  rewrite_metadata(m.dir / "metadata.json", [](json& j) { j["size"] = "big"; });
  EXPECT_THROW_MSG(m.svc->load_model(m.id, Format::Native), CorruptModel, "field 'size'");
  // A save replaces the damaged record.
  m.svc->save_model(m.id, Format::Native);
  EXPECT_EQ(m.svc->load_model(m.id, Format::Native)->info().name, "robust");
}

TEST(Robustness, Fuzz02_PendingRecordWithPathInSaveId) {
  // The redo record's save_id names temp files (".model.nomaly.tmp-<save_id>"). Before the fix a record
  // with save_id "x/../../outside" made recovery rename <store>/outside over the model. Now the record
  // is rejected as malformed, discarded, and the previous model stays.
  SavedModel m;
  const std::string before = read_bytes(m.dir / "model.nomaly");
  const std::string other = encode_native_entity(fitted_entity("hbos", synthetic(30, 3), json::object(), "intruder"));
  write_bytes(m.tmp.path / "store" / "outside", other);
  fs::create_directory(m.dir / ".model.nomaly.tmp-x");
  fs::copy_file(m.dir / "metadata.json", m.dir / ".metadata.json.pending");
  rewrite_metadata(m.dir / ".metadata.json.pending", [&](json& j) {
    j["save_id"] = "x/../../outside";
    j["files"]["model.nomaly"]["sha256"] = sha256_hex(other);
    j["files"]["model.nomaly"]["size"] = other.size();
  });
  const auto s = m.svc->load_model(m.id, Format::Native);
  EXPECT_EQ(s->info().name, "robust");
  EXPECT_EQ(read_bytes(m.dir / "model.nomaly"), before);
  EXPECT_TRUE(fs::exists(m.tmp.path / "store" / "outside"));
  EXPECT_FALSE(fs::exists(m.dir / ".metadata.json.pending"));
}

}  // namespace
}  // namespace nomaly::test
