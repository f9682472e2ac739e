// Issue 15, the data path through the built CLI: one reader for detect/train/score/verify, columns by name,
// output paths checked before the work, honest messages. Rows R50.. of docs/robustness.md.
#include <regex>

#include "nomaly/table.hpp"
#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

/// The rows of `d` as CSV text under `header`; each row is prefixed by prefix(i) (extra leading columns).
std::string csv_text(const Dataset& d, const std::string& header,
                     const std::function<std::string(std::size_t)>& prefix = nullptr) {
  std::ostringstream s;
  s << header << "\n";
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (prefix) s << prefix(i);
    for (std::size_t j = 0; j < d.cols; ++j) s << (j ? "," : "") << d.X[i * d.cols + j];
    if (d.labels) s << "," << (*d.labels)[i];
    s << "\n";
  }
  return s.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class DataPath : public ::testing::Test {
 protected:
  void SetUp() override {
    data = synthetic(200, 3, 10, 5);
    plain = tmp.path / "plain.csv";
    write_bytes(plain, csv_text(data, "a,b,c,label"));
    store = tmp.path / "store";
  }
  std::string s() const { return "--store " + q(store) + " "; }
  TempDir tmp;
  Dataset data;
  fs::path plain, store;
};

TEST_F(DataPath, R50_LabelIsNeverAFeatureWhateverTheHeaderSpelling) {
  // Spaces after the commas (train used to fit "label" as a third feature), and a BOM with the label first.
  const fs::path spaced = tmp.path / "spaced.csv", bom = tmp.path / "bom.csv";
  write_bytes(spaced, csv_text(data, "a, b, c, label"));
  std::string text = "\xEF\xBB\xBFlabel,a,b,c\r\n";  // label first
  for (std::size_t i = 0; i < data.rows; ++i) {
    std::ostringstream row;
    row << (*data.labels)[i];
    for (std::size_t j = 0; j < 3; ++j) row << "," << data.X[i * 3 + j];
    text += row.str() + "\r\n";
  }
  write_bytes(bom, text);
  for (const fs::path& f : {spaced, bom}) {
    const std::string id = f.stem().string();
    CliResult r = run_cli("train " + s() + "-a iforest -i " + q(f) + " --param random_state=1 --id " + id);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("features (3): a, b, c; label: label"), std::string::npos) << r.err;
    r = run_cli("detect -a iforest -i " + q(f) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["feature_names"], json({"a", "b", "c"}));
    EXPECT_EQ(j["label_column"], "label");
    EXPECT_TRUE(j.contains("roc_auc"));
    // The stored model asks for a, b, c only: the plain file scores, with the label read as the label.
    r = run_cli("score " + s() + id + " -i " + q(plain) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["n_features"], 3);
    EXPECT_GT(json::parse(r.out)["roc_auc"].get<double>(), 0.8);
  }
}

TEST_F(DataPath, R51_ScoreReadsOnlyTheModelsColumnsAndCarriesIds) {
  CliResult r = run_cli("train " + s() + "-a knn -i " + q(plain) + " --id k");
  ASSERT_EQ(r.status, 0) << r.err;
  // An id and a timestamp column, and the features in another order: score reads a, b, c by name.
  const fs::path wide = tmp.path / "wide.csv";
  std::string text = "id,when,c,a,b,label\n";
  for (std::size_t i = 0; i < data.rows; ++i) {
    std::ostringstream row;
    row << "cust-" << i << ",2024-01-0" << (i % 9 + 1) << "T10:00," << data.X[i * 3 + 2] << "," << data.X[i * 3] << ","
        << data.X[i * 3 + 1] << "," << (*data.labels)[i] << "\n";
    text += row.str();
  }
  write_bytes(wide, text);
  const fs::path out_plain = tmp.path / "p.csv", out_wide = tmp.path / "w.csv";
  r = run_cli("score " + s() + "k -i " + q(plain) + " --scores-out " + q(out_plain));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("score " + s() + "k -i " + q(wide) + " --id-column id --json --scores-out " + q(out_wide));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["ignored_columns"], json({"when"}));
  const auto a = lines(read_bytes(out_plain)), b = lines(read_bytes(out_wide));
  ASSERT_EQ(a.size(), data.rows + 1);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(b[0], "id,score,label");
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_EQ(b[i], "cust-" + std::to_string(i - 1) + "," + a[i]) << i;
  // The text report names the ignored column too.
  r = run_cli("score " + s() + "k -i " + q(wide));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ignored_columns: [\"id\",\"when\"]"), std::string::npos) << r.out;
  // verify reads the same way.
  r = run_cli("save " + s() + "k --format onnx");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("verify " + q(store / "k" / "model.onnx") + " -i " + q(wide) + " --native " + q(store / "k" / "model.nomaly"));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(DataPath, R52_NonUtf8HeaderIsExit3EverywhereAndLeavesNoRecord) {
  const fs::path bad = tmp.path / "cp1252.csv";
  write_bytes(bad, csv_text(data, "a,caf\xE9,c,label"));
  for (const std::string& cmd : {"detect -a iforest -i " + q(bad), "train " + s() + "-a iforest -i " + q(bad) + " --id x"}) {
    const CliResult r = run_cli(cmd);
    EXPECT_EQ(r.status, 3) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find(":1:2: column 2's name \"caf\\xE9\" is not valid UTF-8 (byte 0xE9 at offset 3"), std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(fs::exists(store / ".detectors" / "x.nomaly"));
  EXPECT_FALSE(fs::exists(store / "x"));
  CliResult r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " --id ok");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("score " + s() + "ok -i " + q(bad));
  EXPECT_EQ(r.status, 3) << r.err;
  // The library refuses such a name before writing anything (the CLI can no longer produce one).
  auto repo = std::make_shared<StoreDetectorRepository>(tmp.path / "lib");
  DetectorEntity e = fitted_entity("hbos", synthetic(30, 2), json::object(), "bad-name");
  e.feature_names = {"a", "caf\xE9"};
  EXPECT_THROW(repo->save(e), DataError);
  EXPECT_FALSE(fs::exists(tmp.path / "lib" / ".detectors" / (e.id + ".nomaly")));
}

TEST_F(DataPath, R53_OutputPathsAreCheckedBeforeTheWork) {
  const std::string before = read_bytes(plain);
  // A missing folder: exit 5 (output not written), before fitting: the ONNX output is not written either.
  CliResult r = run_cli("detect -a iforest -i " + q(plain) + " --onnx-out " + q(tmp.path / "m.onnx") + " --scores-out " +
                        q(tmp.path / "nope" / "s.csv"));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("--scores-out '" + (tmp.path / "nope" / "s.csv").string() + "': folder '" +
                       (tmp.path / "nope").string() + "' does not exist"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(tmp.path / "m.onnx"));
  r = run_cli("detect -a iforest -i " + q(plain) + " --onnx-out " + q(tmp.path));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("it is a folder"), std::string::npos) << r.err;
  // The input itself (also through another spelling of its path): exit 2, the data is untouched.
  for (const fs::path& out : {plain, tmp.path / "." / "plain.csv"}) {
    r = run_cli("detect -a iforest -i " + q(plain) + " --scores-out " + q(out));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  }
  r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " --id m");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("score " + s() + "m -i " + q(plain) + " --scores-out " + q(plain));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(read_bytes(plain), before);
  // A write that fails after the checks (a full disk) is exit 5 too, never "bad data".
  if (fs::exists("/dev/full")) {
    r = run_cli("score " + s() + "m -i " + q(plain) + " --scores-out /dev/full");
    EXPECT_EQ(r.status, 5) << r.err;
    EXPECT_NE(r.err.find("cannot write '/dev/full'"), std::string::npos) << r.err;
  }
}

TEST_F(DataPath, R54_CrOnlyFilesReadAndControlCharactersAreEscaped) {
  const fs::path cr = tmp.path / "cr.csv";
  std::string text = csv_text(data, "a,b,c,label");
  std::replace(text.begin(), text.end(), '\n', '\r');
  write_bytes(cr, text);
  CliResult r = run_cli("detect -a iforest -i " + q(cr) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["n_rows"], data.rows);
  write_bytes(tmp.path / "stray.csv", "a,b\n1,2\n3\r,4\n");
  r = run_cli("detect -a iforest -i " + q(tmp.path / "stray.csv"));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("column 'a': non-numeric value \"3\\r\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
}

TEST_F(DataPath, R55_HeaderOnlyScoresToAnEmptyResult) {
  CliResult r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " --id m");
  ASSERT_EQ(r.status, 0) << r.err;
  write_bytes(tmp.path / "h.csv", "a,b,c,label\n");
  const fs::path out = tmp.path / "s.csv";
  r = run_cli("score " + s() + "m -i " + q(tmp.path / "h.csv") + " --json --scores-out " + q(out));
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n_rows"], 0);
  EXPECT_EQ(j["n_anomalies"], 0);
  EXPECT_FALSE(j.contains("score_summary"));
  EXPECT_EQ(read_bytes(out), "score,label\n");
  // Fitting on no rows stays an error.
  r = run_cli("train " + s() + "-a iforest -i " + q(tmp.path / "h.csv"));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("header row but no data rows"), std::string::npos) << r.err;
}

TEST_F(DataPath, R56_FilesWithoutHeaderOrWithAnotherSeparator) {
  const fs::path raw = tmp.path / "raw.csv";
  std::string text = csv_text(data, "x");
  write_bytes(raw, text.substr(text.find('\n') + 1));  // no header line
  CliResult r = run_cli("detect -a iforest -i " + q(raw));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("line 1 looks like data, not a header"), std::string::npos) << r.err;
  r = run_cli("detect -a iforest -i " + q(raw) + " --no-header --label-column f3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["feature_names"], json({"f0", "f1", "f2"}));
  EXPECT_EQ(json::parse(r.out)["n_rows"], data.rows);

  const fs::path semi = tmp.path / "semi.csv";
  std::string st = csv_text(data, "a;b;c;label");
  std::size_t header_end = st.find('\n');
  std::replace(st.begin() + static_cast<std::ptrdiff_t>(header_end), st.end(), ',', ';');
  write_bytes(semi, st);
  r = run_cli("detect -a iforest -i " + q(semi));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("the file looks ';'-separated: pass --sep ';'"), std::string::npos) << r.err;
  r = run_cli("detect -a iforest -i " + q(semi) + " --sep ';' --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["n_features"], 3);
  r = run_cli("detect -a iforest -i " + q(semi) + " --sep ';;'");
  EXPECT_EQ(r.status, 2) << r.err;
}

TEST_F(DataPath, R57_InspectAndVerifyNameWhatTheyWereGiven) {
  CliResult r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " --id m");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("inspect " + q(store / "m"));
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("is a folder, not an ONNX model file"), std::string::npos) << r.err;
  r = run_cli("inspect " + q(store / "m" / "model.nomaly"));
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("is a nomaly native model (.nomaly), not ONNX"), std::string::npos) << r.err;
  r = run_cli("verify " + q(store / "m") + " -i " + q(plain) + " --native " + q(store / "m" / "model.nomaly"));
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
}

TEST_F(DataPath, R58_StdinStdoutColumnsAndDrop) {
  // '-' reads standard input and writes the scores to standard output; the report moves to stderr.
  const fs::path ref = tmp.path / "ref.csv";
  CliResult r = run_cli("detect -a iforest -i " + q(plain) + " --param random_state=2 --scores-out " + q(ref));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("detect -a iforest -i - --param random_state=2 --scores-out - < " + q(plain));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, read_bytes(ref));
  EXPECT_NE(r.err.find("anomalies:"), std::string::npos) << r.err;
  // --columns picks features by name (in that order); --drop leaves some out.
  r = run_cli("detect -a iforest -i " + q(plain) + " --columns c,a --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["feature_names"], json({"c", "a"}));
  EXPECT_EQ(json::parse(r.out)["ignored_columns"], json({"b"}));
  r = run_cli("detect -a iforest -i " + q(plain) + " --drop b --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["feature_names"], json({"a", "c"}));
  r = run_cli("detect -a iforest -i " + q(plain) + " --columns a,zz");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("feature column 'zz' not found; available columns: a, b, c, label"), std::string::npos) << r.err;
}

TEST_F(DataPath, ReportsUseGeneralNumbersLoadTimeSummaryAndParams) {
  // Tiny and huge scales: %f printed 0.000000 and 13 digits.
  for (const auto& [scale, pattern] : {std::pair<float, const char*>{1e-9f, "threshold [0-9.]+e-[0-9]+\\)"},
                                       std::pair<float, const char*>{1e12f, "threshold [0-9.]+e\\+[0-9]+\\)"}}) {
    Dataset d = data;
    for (float& v : d.X) v *= scale;
    const fs::path f = tmp.path / "scaled.csv";
    write_bytes(f, csv_text(d, "a,b,c,label"));
    const CliResult r = run_cli("detect -a knn -i " + q(f));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::regex_search(r.out, std::regex(pattern))) << r.out;
  }
  // score: load time, score time and a summary of the scores without --scores-out.
  CliResult r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " --param random_state=3 --id m");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("score " + s() + "m -i " + q(plain));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* k : {"load time:", "score time:", "scores:      min ", " over the threshold)"})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << "\n" << r.out;
  r = run_cli("score " + s() + "m -i " + q(plain) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  auto det = create_detector("iforest", {{"random_state", 3}});
  det->fit(data.view());
  const auto sc = det->score_samples(data.view());
  EXPECT_NEAR(j["score_summary"]["min"].get<double>(), *std::min_element(sc.begin(), sc.end()), 1e-6);
  EXPECT_NEAR(j["score_summary"]["max"].get<double>(), *std::max_element(sc.begin(), sc.end()), 1e-6);
  std::vector<float> sorted = sc;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NEAR(j["score_summary"]["median"].get<double>(), (sorted[104] + sorted[105]) / 2.0, 1e-6);  // 210 rows
  EXPECT_TRUE(j.contains("load_seconds"));
  EXPECT_TRUE(j.contains("score_seconds"));
  // detect --json echoes the parameters; LOF's scores come from the fit, so no score time is claimed.
  r = run_cli("detect -a lof -i " + q(plain) + " --param n_neighbors=7 --contamination 0.05 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json l = json::parse(r.out);
  EXPECT_EQ(l["params"]["n_neighbors"], 7);
  EXPECT_EQ(l["params"]["contamination"], 0.05);
  EXPECT_FALSE(l.contains("score_seconds"));
  EXPECT_TRUE(l["scores_from_fit"].get<bool>());
  r = run_cli("detect -a lof -i " + q(plain));
  EXPECT_NE(r.out.find("score time:  0 s (the scores came from the fit)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace nomaly::test
