// export_model bundles: files, checksums, golden vectors reproduced by ONNX Runtime, deploy.py/deploy.mjs,
// Triton layout, stub bundles, and open_model_path on every kind of path.
#include <sstream>
#include <cstdio>
#include <set>
#include <sys/wait.h>

#include "nomaly/onnx/onnx_model.hpp"
#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

struct Cmd {
  int status = -1;
  std::string out;
};

Cmd run(const std::string& cmd) {
  Cmd r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<std::vector<std::string>> read_csv_cells(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_bytes(p));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

class PersistenceExport : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = std::make_shared<InMemoryDetectorRepository>();
    service = std::make_unique<ModelPersistenceService>(repo, tmp.path / "store");
    data = synthetic(400, 6, 20, 8);
    forest = fitted_entity("iforest", data, json{{"n_estimators", 50}, {"random_state", 1}}, "export-forest");
    forest.metadata["training_metrics"] = {{"roc_auc", 0.97}};
    repo->save(forest);
  }
  TempDir tmp;
  std::shared_ptr<InMemoryDetectorRepository> repo;
  std::unique_ptr<ModelPersistenceService> service;
  Dataset data;
  DetectorEntity forest;
};

const std::set<std::string> kBundleFiles = {"model.onnx",       "model.json", "config.json",         "requirements.txt",
                                            "deploy.py",        "deploy.mjs", "golden/input.csv",    "golden/expected.csv",
                                            "SHA256SUMS",       "README.md"};

TEST_F(PersistenceExport, ExportReturnsAllFilesAndTheyExist) {
  const fs::path dir = tmp.path / "bundle";
  const auto files = service->export_model(forest.id, dir);
  std::set<std::string> keys;
  for (const auto& [rel, path] : files) {
    keys.insert(rel);
    EXPECT_TRUE(fs::is_regular_file(path)) << path;
    EXPECT_EQ(path, dir / rel);
  }
  EXPECT_EQ(keys, kBundleFiles);
  // model.onnx is real ONNX that ONNX Runtime loads, with the identity in its metadata.
  const OnnxModel m = OnnxModel::load_file((dir / "model.onnx").string());
  EXPECT_EQ(m.metadata().detector_id, forest.id);
  EXPECT_EQ(m.metadata().detector_name, "export-forest");
  const json model = json::parse(read_bytes(dir / "model.json"));
  EXPECT_EQ(model["id"], forest.id);
  EXPECT_EQ(model["algorithm"], "iforest");
  EXPECT_NE(read_bytes(dir / "requirements.txt").find("onnxruntime>="), std::string::npos);
  EXPECT_NE(read_bytes(dir / "requirements.txt").find("numpy"), std::string::npos);
  // No temp directory is left beside the bundle.
  for (const auto& f : fs::directory_iterator(tmp.path)) EXPECT_EQ(f.path().filename().string().find(".tmp-"), std::string::npos);
}

TEST_F(PersistenceExport, ConfigDescribesInputOutputsThresholdAndRuntime) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const json c = json::parse(read_bytes(dir / "config.json"));
  EXPECT_EQ(c["input"]["name"], "X");
  EXPECT_EQ(c["input"]["dtype"], "float32");
  EXPECT_EQ(c["input"]["n_features"], 6);
  EXPECT_EQ(c["input"]["feature_names"], data.feature_names);
  EXPECT_EQ(c["outputs"][0]["name"], "scores");
  EXPECT_EQ(c["outputs"][1]["name"], "label");
  EXPECT_EQ(c["outputs"][1]["dtype"], "int64");
  EXPECT_FLOAT_EQ(c["threshold"].get<float>(), forest.model->threshold());
  EXPECT_EQ(c["score_direction"], "higher_is_more_anomalous");
  EXPECT_EQ(c["opsets"]["ai.onnx"], 17);
  EXPECT_EQ(c["min_onnxruntime_version"], "1.13.0");
  EXPECT_EQ(c["stub"], false);
  EXPECT_EQ(c["metrics"]["roc_auc"], 0.97);
  const std::string readme = read_bytes(dir / "README.md");
  EXPECT_NE(readme.find("iforest"), std::string::npos);
  EXPECT_NE(readme.find("roc_auc"), std::string::npos);
  EXPECT_NE(readme.find("deploy.py"), std::string::npos);
}

TEST_F(PersistenceExport, Sha256SumsCoverEveryFile) {
  const fs::path dir = tmp.path / "bundle";
  const auto files = service->export_model(forest.id, dir, ExportOptions{true});
  std::istringstream in(read_bytes(dir / "SHA256SUMS"));
  std::string line;
  std::set<std::string> listed;
  while (std::getline(in, line)) {
    const std::string sum = line.substr(0, 64), rel = line.substr(66);
    EXPECT_EQ(line.substr(64, 2), "  ");
    EXPECT_EQ(sum, sha256_file_hex(dir / rel)) << rel;
    listed.insert(rel);
  }
  EXPECT_EQ(listed.size(), files.size() - 1);  // every file but SHA256SUMS itself
  EXPECT_EQ(listed.count("SHA256SUMS"), 0u);
  if (run("command -v sha256sum").status == 0) {
    EXPECT_EQ(run("cd '" + dir.string() + "' && sha256sum -c --quiet SHA256SUMS").status, 0);
  }
}

TEST_F(PersistenceExport, GoldenVectorsHoldTopAnomaliesAndMatchOnnxRuntime) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  CsvOptions o;
  const Dataset golden = read_csv((dir / "golden/input.csv").string(), o);
  EXPECT_EQ(golden.rows, 32u);
  EXPECT_EQ(golden.feature_names, data.feature_names);
  const auto expected = read_csv_cells(dir / "golden/expected.csv");
  ASSERT_EQ(expected.size(), golden.rows + 1);
  EXPECT_EQ(expected[0], (std::vector<std::string>{"score", "label"}));
  // The golden inputs are the training rows themselves (bit-exact through %.9g) ...
  const auto native = forest.model->score_samples(golden.view());
  std::vector<float> exp_scores;
  for (std::size_t i = 1; i < expected.size(); ++i) {
    exp_scores.push_back(std::stof(expected[i][0]));
    EXPECT_EQ(exp_scores.back(), native[i - 1]);
    EXPECT_EQ(std::stoi(expected[i][1]), native[i - 1] > forest.model->threshold() ? 1 : 0);
  }
  // ... including the 8 most anomalous training rows.
  std::vector<float> train = forest.model->score_samples(data.view());
  std::sort(train.rbegin(), train.rend());
  for (int k = 0; k < 8; ++k)
    EXPECT_NE(std::find(exp_scores.begin(), exp_scores.end(), train[k]), exp_scores.end()) << "top " << k;
  // ONNX Runtime on model.onnx reproduces them within 1e-5 relative.
  const OnnxScore got = OnnxModel::load_file((dir / "model.onnx").string()).score(golden.view());
  for (std::size_t i = 0; i < native.size(); ++i)
    EXPECT_LE(std::abs(got.scores[i] - exp_scores[i]), 1e-5 * std::max(1.0f, std::abs(exp_scores[i])));
}

TEST_F(PersistenceExport, TritonRepositoryLayout) {
  const fs::path dir = tmp.path / "bundle";
  const auto files = service->export_model(forest.id, dir, ExportOptions{true});
  const std::string t = "triton/" + forest.id;  // named by the id: two detectors never collide in one repository
  ASSERT_TRUE(files.count(t + "/config.pbtxt"));
  ASSERT_TRUE(files.count(t + "/1/model.onnx"));
  const std::string cfg = read_bytes(dir / (t + "/config.pbtxt"));
  EXPECT_NE(cfg.find("name: \"" + forest.id + "\""), std::string::npos);
  EXPECT_NE(cfg.find("platform: \"onnxruntime_onnx\""), std::string::npos);
  EXPECT_NE(cfg.find("max_batch_size: 1024"), std::string::npos);
  EXPECT_NE(cfg.find("dims: [ 6 ]"), std::string::npos);  // batch axis left out, as Triton expects
  EXPECT_NE(cfg.find("TYPE_INT64"), std::string::npos);
  EXPECT_NE(cfg.find("dynamic_batching { }"), std::string::npos);
  EXPECT_EQ(read_bytes(dir / (t + "/1/model.onnx")), read_bytes(dir / "model.onnx"));
}

TEST_F(PersistenceExport, StubModelBundleSaysSoAndShipsNativeArtifact) {
  DetectorEntity c = fitted_entity(kCentroid, data, json::object(), "custom");
  repo->save(c);
  const fs::path dir = tmp.path / "stub-bundle";
  const auto files = service->export_model(c.id, dir);
  ASSERT_TRUE(files.count("model.nomaly"));
  for (const auto& f : kBundleFiles) EXPECT_TRUE(files.count(f)) << f;
  EXPECT_TRUE(is_onnx_stub(read_bytes(dir / "model.onnx")));
  const json cfg = json::parse(read_bytes(dir / "config.json"));
  EXPECT_EQ(cfg["stub"], true);
  EXPECT_EQ(cfg["native_model"], "model.nomaly");
  EXPECT_NE(read_bytes(dir / "README.md").find("stub"), std::string::npos);
  const auto s = open_model_path(dir);
  EXPECT_TRUE(s->info().stub);
  EXPECT_EQ(s->score(data.view()).scores, c.model->score_samples(data.view()));
}

TEST_F(PersistenceExport, ReexportReplacesAndForeignDirectoryIsRefused) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir, ExportOptions{true});
  ASSERT_TRUE(fs::exists(dir / "triton"));
  service->export_model(forest.id, dir);  // replaces the earlier export whole
  EXPECT_FALSE(fs::exists(dir / "triton"));
  const fs::path foreign = tmp.path / "photos";
  fs::create_directories(foreign);
  write_bytes(foreign / "holiday.jpg", "jpeg");
  EXPECT_THROW(service->export_model(forest.id, foreign), ModelError);
  EXPECT_EQ(read_bytes(foreign / "holiday.jpg"), "jpeg");
  EXPECT_FALSE(fs::exists(foreign / "model.onnx"));
  EXPECT_THROW(service->export_model("ghost", tmp.path / "g"), DetectorNotFound);
  EXPECT_FALSE(fs::exists(tmp.path / "g"));
}

TEST_F(PersistenceExport, OpenModelPathAcceptsFilesAndDirectories) {
  service->save_model(forest.id, Format::Native);
  service->save_model(forest.id, Format::Onnx);
  const fs::path bundle = tmp.path / "bundle";
  service->export_model(forest.id, bundle);
  const auto want = forest.model->score_samples(data.view());
  const fs::path store_dir = tmp.path / "store" / forest.id;
  EXPECT_EQ(open_model_path(store_dir / "model.nomaly")->score(data.view()).scores, want);
  for (const fs::path& p : {store_dir / "model.onnx", bundle, store_dir}) {
    const auto s = open_model_path(p);
    EXPECT_EQ(s->info().format, "onnx") << p;
    EXPECT_EQ(s->info().name, "export-forest") << p;
    const auto got = s->score(data.view());
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got.scores[i], want[i], 1e-5) << p;
  }
  EXPECT_THROW(open_model_path(tmp.path / "nothing-here"), ModelError);
}

TEST_F(PersistenceExport, DeployPyByteCompiles) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const Cmd py = run("command -v python3");
  if (py.status != 0) {
    if (under_ci()) FAIL() << "python3 missing (CI=true)";
    GTEST_SKIP() << "python3 not installed";
  }
  const Cmd r = run("python3 -m py_compile '" + (dir / "deploy.py").string() + "'");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(PersistenceExport, DeployMjsReproducesGoldenScoresWithOnnxruntimeNode) {
  const fs::path ort = node_ort_dir() / "node_modules" / "onnxruntime-node";
  const bool have_node = run("command -v node").status == 0;
  if (!have_node || !fs::exists(ort / "package.json")) {
    const std::string why = !have_node ? "node is not installed" : "onnxruntime-node missing at " + ort.string() +
                                                                         " (run scripts/setup.sh)";
    if (under_ci()) FAIL() << why << " (CI=true)";
    GTEST_SKIP() << why;
  }
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const std::string env = "NODE_PATH='" + (node_ort_dir() / "node_modules").string() + "' ";
  const Cmd check = run(env + "node '" + (dir / "deploy.mjs").string() + "' --check");
  ASSERT_EQ(check.status, 0) << check.out;
  const auto pos = check.out.find("max |diff| ");
  ASSERT_NE(pos, std::string::npos) << check.out;
  const double max_diff = std::stod(check.out.substr(pos + 11));
  EXPECT_LE(max_diff, 1e-5);
  EXPECT_NE(check.out.find("label mismatches 0"), std::string::npos) << check.out;

  // Scoring mode writes score,label rows equal to the golden expectations.
  const fs::path out = tmp.path / "node-scores.csv";
  const Cmd score = run(env + "node '" + (dir / "deploy.mjs").string() + "' '" + (dir / "golden/input.csv").string() +
                        "' --output '" + out.string() + "'");
  ASSERT_EQ(score.status, 0) << score.out;
  const auto got = read_csv_cells(out), want = read_csv_cells(dir / "golden/expected.csv");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_NEAR(std::stod(got[i][0]), std::stod(want[i][0]), 1e-5 * std::max(1.0, std::abs(std::stod(want[i][0]))));
    EXPECT_EQ(got[i][1], want[i][1]);
  }
}

// Debian 12 has no onnxruntime wheel: deploy.py then runs the model with the nomaly Python package's ONNX
// Runtime (the package this build assembles in <build>/python), and --check really scores the golden rows.
TEST_F(PersistenceExport, DeployPyChecksWithTheNomalyPackageWhenOnnxruntimeIsMissing) {
  const fs::path pkg = fs::path(NOMALY_CLI_PATH).parent_path() / "python";
  if (!fs::exists(pkg / "nomaly" / "__init__.py")) GTEST_SKIP() << "the Python package is not part of this build";
  if (run("/usr/bin/python3 -c 'import onnxruntime' 2>/dev/null").status == 0)
    GTEST_SKIP() << "onnxruntime is installed, so deploy.py uses it (covered by the other deploy tests)";
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const std::string env = "cd / && PYTHONNOUSERSITE=1 PYTHONPATH='" + pkg.string() + "' /usr/bin/python3 '" +
                          (dir / "deploy.py").string() + "' ";
  const Cmd check = run(env + "--check");
  ASSERT_EQ(check.status, 0) << check.out;
  EXPECT_NE(check.out.find("runtime: nomaly "), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("label mismatches 0"), std::string::npos) << check.out;
  const fs::path out = tmp.path / "py-scores.csv";
  const Cmd score = run(env + "'" + (dir / "golden/input.csv").string() + "' --output '" + out.string() + "'");
  ASSERT_EQ(score.status, 0) << score.out;
  const auto got = read_csv_cells(out), want = read_csv_cells(dir / "golden/expected.csv");
  ASSERT_EQ(got.size(), want.size());
  ASSERT_GT(got.size(), 8u);
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_NEAR(std::stod(got[i][0]), std::stod(want[i][0]), 1e-5 * std::max(1.0, std::abs(std::stod(want[i][0])))) << i;
    EXPECT_EQ(got[i][1], want[i][1]) << i;
  }
}

// Bug (break test): `deploy.py in.csv --output in.csv` replaced the user's data with scores (exit 0), and
// --check passed with an emptied or shortened SHA256SUMS. Both scripts now refuse as `nomaly score` does.
TEST_F(PersistenceExport, DeployScriptsNeverOverwriteTheirInputAndCheckNeedsEveryFileListed) {
  const bool have_py = run("test -x /usr/bin/python3").status == 0, have_node = run("command -v node").status == 0;
  if (!have_py || !have_node) {
    if (under_ci()) FAIL() << "python3 and node are needed (CI=true)";
    GTEST_SKIP() << "python3 or node missing";
  }
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const std::string py = "cd / && PYTHONNOUSERSITE=1 PYTHONPATH= /usr/bin/python3 '" + (dir / "deploy.py").string() + "' ";
  const std::string js = "cd / && NODE_PATH= node '" + (dir / "deploy.mjs").string() + "' ";
  const std::string data = read_bytes(dir / "golden/input.csv");
  for (const std::string& cmd : {py, js}) {
    const fs::path in = tmp.path / "in.csv", link = tmp.path / "link.csv";
    write_bytes(in, data);
    fs::remove(link);
    fs::create_symlink(in, link);
    for (const fs::path& out : {in, link}) {
      const Cmd r = run(cmd + "'" + in.string() + "' --output '" + out.string() + "'");
      EXPECT_EQ(r.status, 2) << cmd << r.out;
      EXPECT_NE(r.out.find("is the input file"), std::string::npos) << r.out;
      EXPECT_EQ(read_bytes(in), data) << "the input was replaced";
    }
  }
  const std::string sums = read_bytes(dir / "SHA256SUMS");
  std::string without_model;
  std::istringstream lines(sums);
  for (std::string line; std::getline(lines, line);)
    if (line.find("  model.onnx") == std::string::npos) without_model += line + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "model.onnx: not listed in SHA256SUMS"},
      {without_model, "model.onnx: not listed in SHA256SUMS"},
      {"* model.onnx\n" + sums, "SHA256SUMS line 1 is malformed"},
  };
  for (const auto& [content, want] : cases) {
    write_bytes(dir / "SHA256SUMS", content);
    for (const std::string& cmd : {py, js}) {
      const Cmd r = run(cmd + "--check");
      EXPECT_EQ(r.status, 1) << cmd << r.out;
      EXPECT_NE(r.out.find(want), std::string::npos) << cmd << r.out;
    }
  }
  write_bytes(dir / "SHA256SUMS", sums);
}

// A stranger without the runtime gets one line naming what to install, not a traceback; --help is not an error.
TEST_F(PersistenceExport, DeployScriptsNameAMissingRuntimeAndAnswerHelp) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const std::string golden = "'" + (dir / "golden/input.csv").string() + "'";
  if (run("command -v python3").status == 0 && run("python3 -c 'import onnxruntime' 2>/dev/null").status != 0) {
    // No user site: a nomaly package installed with `make python-install` would be used as the runtime.
    const Cmd py = run("cd / && PYTHONNOUSERSITE=1 PYTHONPATH= python3 '" + (dir / "deploy.py").string() + "' " + golden);
    EXPECT_EQ(py.status, 1) << py.out;
    EXPECT_NE(py.out.find("is not installed; deploy.py needs numpy and onnxruntime"), std::string::npos) << py.out;
    EXPECT_EQ(py.out.find("Traceback"), std::string::npos) << py.out;
  }
  if (run("command -v node").status != 0) {
    if (under_ci()) FAIL() << "node is not installed (CI=true)";
    GTEST_SKIP() << "node is not installed";
  }
  const std::string js = "cd / && NODE_PATH= node '" + (dir / "deploy.mjs").string() + "' ";
  const Cmd help = run(js + "--help");
  EXPECT_EQ(help.status, 0) << help.out;
  EXPECT_NE(help.out.find("usage: node deploy.mjs"), std::string::npos) << help.out;
  const Cmd missing = run(js + golden);
  EXPECT_EQ(missing.status, 1) << missing.out;
  EXPECT_NE(missing.out.find("onnxruntime-node not found"), std::string::npos) << missing.out;
}

/// Bad inputs for the deploy scripts: file content -> the text the error must contain. The header is
/// f0..f5 (the fixture's forest); every case must exit 3 before the runtime is used.
std::vector<std::pair<std::string, std::string>> bad_deploy_inputs(const std::string& header, const std::string& row) {
  const std::string h = header + "\n";
  auto with_cell = [&](const std::string& cell, std::size_t col) {
    std::vector<std::string> cells;
    std::istringstream ls(row);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    cells.at(col) = cell;
    std::string out;
    for (std::size_t k = 0; k < cells.size(); ++k) out += (k ? "," : "") + cells[k];
    return out;
  };
  return {
      {h + row + "\n" + with_cell("nan", 0) + "\n", ":3:1: column 'f0': non-finite value \"nan\""},
      {h + with_cell("abc", 1) + "\n", ":2:2: column 'f1': non-numeric value \"abc\""},
      {h + with_cell("", 2) + "\n", ":2:3: column 'f2': empty cell"},
      {h + with_cell("inf", 3) + "\n", ":2:4: column 'f3': non-finite value \"inf\""},
      {h + with_cell("1e39", 4) + "\n", ":2:5: column 'f4': value \"1e39\" overflows float32"},
      {h + with_cell("-Infinity", 5) + "\n", ":2:6: column 'f5': non-finite value \"-Infinity\""},
      {h + with_cell("0x10", 0) + "\n", ":2:1: column 'f0': non-numeric value \"0x10\""},
      {h + "nan,abc,,inf,1e39,1\n", ":2:1: column 'f0': non-finite value"},
      {h + row + "\n1,2,3\n", ":3: expected 6 fields (as in the header), found 3"},
      {h + row + "\n" + row + ",7\n", ":3: expected 6 fields (as in the header), found 7"},
      {h + row + "\n\n" + row + "\n", ":3: blank line between data rows"},
      {"", "empty file"},
      {"\n\n", "empty file"},
      {header + ",f0\n" + row + ",1\n", ":1:7: duplicate column name 'f0' (also column 1)"},
      {header + ",caf\xE9\n" + row + ",1\n", ":1:7: column 7's name \"caf\\xE9\" is not valid UTF-8 (byte 0xE9)"},
      {header + ",\n" + row + ",1\n", ":1:7: column 7 has an empty name in the header"},
      {"f0,f1,f2,f3,f5\n1,2,3,4,5\n", "missing feature column f4"},
  };
}

// Bug: deploy.mjs/deploy.py scored NaN/garbage/empty cells and ragged rows, mis-parsed quoted fields and
// crashed on an empty file.
TEST_F(PersistenceExport, DeployScriptsRejectBadInputNamingLineAndColumn) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const auto golden = read_csv_cells(dir / "golden/input.csv");
  std::string row;
  for (std::size_t k = 0; k < golden.at(1).size(); ++k) row += (k ? "," : "") + golden[1][k];
  const auto cases = bad_deploy_inputs("f0,f1,f2,f3,f4,f5", row);

  const bool have_node = run("command -v node").status == 0;
  const bool have_py = run("command -v python3").status == 0;
  if (!have_node && !have_py) {
    if (under_ci()) FAIL() << "neither node nor python3 is installed (CI=true)";
    GTEST_SKIP() << "neither node nor python3 is installed";
  }
  // Validation runs before onnxruntime is loaded, so neither runtime package is needed here.
  std::size_t checked = 0;
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const fs::path in = tmp.path / ("bad-" + std::to_string(k) + ".csv");
    write_bytes(in, cases[k].first);
    for (const std::string interp : {"node", "python3"}) {
      if ((interp == "node" && !have_node) || (interp == "python3" && !have_py)) continue;
      const std::string script = (dir / (interp == "node" ? "deploy.mjs" : "deploy.py")).string();
      const Cmd r = run(interp + " '" + script + "' '" + in.string() + "'");
      SCOPED_TRACE(interp + " case " + std::to_string(k) + ": " + cases[k].first);
      EXPECT_EQ(r.status, 3) << r.out;
      EXPECT_NE(r.out.find(cases[k].second), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("score,label"), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("TypeError"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(in.string() + ":"), std::string::npos) << r.out;  // names the file
      ++checked;
    }
  }
  EXPECT_EQ(checked, cases.size() * ((have_node ? 1 : 0) + (have_py ? 1 : 0)));
}

TEST_F(PersistenceExport, DeployMjsParsesQuotedFieldsBomAndCrlfLikePlainRows) {
  const fs::path ort = node_ort_dir() / "node_modules" / "onnxruntime-node";
  const bool have_node = run("command -v node").status == 0;
  if (!have_node || !fs::exists(ort / "package.json")) {
    if (under_ci()) FAIL() << "node or onnxruntime-node missing (CI=true)";
    GTEST_SKIP() << "node or onnxruntime-node missing";
  }
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const auto golden = read_csv_cells(dir / "golden/input.csv");
  const auto expected = read_csv_cells(dir / "golden/expected.csv");
  ASSERT_GE(golden.size(), 4u);
  // Plain rows, then the same rows quoted (header too), with a quoted note column holding "" and a comma,
  // a BOM and CRLF line ends; feature columns are put in a different order to check selection by name.
  std::string plain = "f0,f1,f2,f3,f4,f5\n", fancy = "\xEF\xBB\xBF\"note\",\"f5\",f4,\"f3\",f2,f1,\"f0\"\r\n";
  for (std::size_t i = 1; i <= 3; ++i) {
    const auto& c = golden[i];
    for (std::size_t k = 0; k < c.size(); ++k) plain += (k ? "," : "") + c[k];
    plain += "\n";
    fancy += "\"say \"\"hi\"\", row " + std::to_string(i) + "\",\"" + c[5] + "\", " + c[4] + " ,\"" + c[3] + "\"," + c[2] +
             "," + c[1] + ",\"" + c[0] + "\"\r\n";
  }
  fancy += "\r\n";
  const fs::path a = tmp.path / "plain.csv", b = tmp.path / "fancy.csv", oa = tmp.path / "a.out", ob = tmp.path / "b.out";
  write_bytes(a, plain);
  write_bytes(b, fancy);
  const std::string env = "NODE_PATH='" + (node_ort_dir() / "node_modules").string() + "' ";
  const std::string js = "node '" + (dir / "deploy.mjs").string() + "' ";
  const Cmd ra = run(env + js + "'" + a.string() + "' --output '" + oa.string() + "'");
  ASSERT_EQ(ra.status, 0) << ra.out;
  const Cmd rb = run(env + js + "'" + b.string() + "' --output '" + ob.string() + "'");
  ASSERT_EQ(rb.status, 0) << rb.out;
  const auto sa = read_csv_cells(oa), sb = read_csv_cells(ob);
  ASSERT_EQ(sa.size(), 4u);
  EXPECT_EQ(sa, sb);
  for (std::size_t i = 1; i <= 3; ++i)
    EXPECT_NEAR(std::stod(sa[i][0]), std::stod(expected[i][0]), 1e-5 * std::max(1.0, std::abs(std::stod(expected[i][0]))));
}

/// Rewrites SHA256SUMS from the files it lists (a bundle edited "consistently", so only the check logic can catch it).
void reseal(const fs::path& dir) {
  std::istringstream in(read_bytes(dir / "SHA256SUMS"));
  std::string line, out;
  while (std::getline(in, line)) out += sha256_hex(read_bytes(dir / line.substr(66))) + "  " + line.substr(66) + "\n";
  write_bytes(dir / "SHA256SUMS", out);
}

// Bug: --check printed "label mismatches N" and exited 0, and never looked at SHA256SUMS. deploy.py runs with
// Debian's python3 and a stand-in onnxruntime module (no onnxruntime wheel without PyPI) that returns the golden
// outputs, so its compare logic is what is tested; deploy.mjs runs with the real onnxruntime-node.
TEST_F(PersistenceExport, DeployCheckFailsOnAnyLabelMismatchAndOnChecksums) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir);
  const bool have_py = run("test -x /usr/bin/python3 && /usr/bin/python3 -c 'import numpy'").status == 0;
  const bool have_node = run("command -v node").status == 0 &&
                         fs::exists(node_ort_dir() / "node_modules" / "onnxruntime-node" / "package.json");
  if (!have_py || !have_node) {
    if (under_ci()) FAIL() << "python3 with numpy, node and onnxruntime-node are needed (CI=true)";
    GTEST_SKIP() << "python3 with numpy, or node with onnxruntime-node, missing";
  }
  const fs::path fake = tmp.path / "fake-ort";
  fs::create_directories(fake);
  write_bytes(fake / "onnxruntime.py",
              "import csv, os\nimport numpy as np\n"
              "class InferenceSession:\n"
              "    def __init__(self, path, providers=None):\n        pass\n"
              "    def run(self, names, feeds):\n"
              "        with open(os.environ['FAKE_ORT_OUTPUTS'], newline='') as f:\n"
              "            rows = list(csv.DictReader(f))\n"
              "        return [np.array([float(r['score']) for r in rows], dtype=np.float32),\n"
              "                np.array([int(r['label']) for r in rows], dtype=np.int64)]\n");
  const fs::path outputs = tmp.path / "ort-outputs.csv";
  fs::copy_file(dir / "golden/expected.csv", outputs);
  const std::string py = "PYTHONPATH='" + fake.string() + "' FAKE_ORT_OUTPUTS='" + outputs.string() +
                         "' /usr/bin/python3 '" + (dir / "deploy.py").string() + "' --check";
  const std::string js = "NODE_PATH='" + (node_ort_dir() / "node_modules").string() + "' node '" +
                         (dir / "deploy.mjs").string() + "' --check";
  for (const std::string& cmd : {py, js}) {
    const Cmd ok = run(cmd);
    EXPECT_EQ(ok.status, 0) << cmd << "\n" << ok.out;
    EXPECT_NE(ok.out.find("label mismatches 0"), std::string::npos) << ok.out;
  }

  // One label flipped in golden/expected.csv, SHA256SUMS resealed: a label mismatch alone fails.
  const std::string expected = read_bytes(dir / "golden/expected.csv");
  std::string flipped = expected;
  const auto eol = flipped.find('\n', flipped.find('\n') + 1);  // end of the first data row
  flipped[eol - 1] = flipped[eol - 1] == '1' ? '0' : '1';
  write_bytes(dir / "golden/expected.csv", flipped);
  reseal(dir);
  for (const std::string& cmd : {py, js}) {
    const Cmd r = run(cmd);
    EXPECT_EQ(r.status, 1) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("1 label mismatches"), std::string::npos) << cmd << "\n" << r.out;
  }
  write_bytes(dir / "golden/expected.csv", expected);
  reseal(dir);

  // A changed or missing file fails before anything is scored, naming the file.
  const std::string model = read_bytes(dir / "model.onnx");
  write_bytes(dir / "model.onnx", model + " ");
  for (const std::string& cmd : {py, js}) {
    const Cmd r = run(cmd);
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.out.find("check failed: model.onnx: changed since export"), std::string::npos) << cmd << "\n" << r.out;
  }
  write_bytes(dir / "model.onnx", model);
  fs::remove(dir / "golden/input.csv");
  for (const std::string& cmd : {py, js}) {
    const Cmd r = run(cmd);
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.out.find("golden/input.csv: missing (listed in SHA256SUMS)"), std::string::npos) << cmd << "\n" << r.out;
  }
}

// ExportOptions::force: the user's files stay, nomaly's stale files (an earlier Triton tree) go with their folders.
TEST_F(PersistenceExport, ForceReplacesOnlyNomalysFiles) {
  const fs::path dir = tmp.path / "bundle";
  service->export_model(forest.id, dir, ExportOptions{true});
  write_bytes(dir / "triton" / "mine.txt", "user file inside a nomaly folder");
  EXPECT_THROW(service->export_model(forest.id, dir), RefusedOverwrite);
  ExportOptions o;
  o.force = true;
  const auto files = service->export_model(forest.id, dir, o);
  EXPECT_EQ(read_bytes(dir / "triton" / "mine.txt"), "user file inside a nomaly folder");
  EXPECT_FALSE(fs::exists(dir / "triton" / forest.id));  // the old Triton model went, with its empty folders
  std::set<std::string> on_disk;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.is_regular_file()) on_disk.insert(fs::relative(f.path(), dir).generic_string());
  std::set<std::string> want;
  for (const auto& [rel, path] : files) want.insert(rel);
  want.insert("triton/mine.txt");
  EXPECT_EQ(on_disk, want);
  for (const auto& e : fs::directory_iterator(tmp.path))  // no temp folders left beside the bundle
    EXPECT_EQ(e.path().filename().string().find(".bundle.tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace nomaly::test
