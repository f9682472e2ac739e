// Issue 15, the store side of the CLI: nothing replaced that nomaly did not write (export --force, train
// --overwrite), --json everywhere with JSON errors, honest messages (unknown command, missing store, different
// algorithms, disabled ONNX saves), PyOD names and dotted ids, and the Triton config.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "nomaly/csv.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/registry.hpp"
#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

class StoreGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    store = tmp.path / "store";
    csv = tmp.path / "train.csv";
    write_csv(csv.string(), synthetic(200, 5, 10, 17));
  }
  CliResult nomaly(const std::string& args, const std::string& env = "") { return run_cli(args, env); }
  std::string s() const { return "--store '" + store.string() + "' "; }
  CliResult train(const std::string& algo, const std::string& id, const std::string& extra = "") {
    return nomaly("train " + s() + "--algorithm " + algo + " --input '" + csv.string() + "' --id " + id + " " + extra);
  }
  TempDir tmp;
  fs::path store, csv;
};

// Bug: re-exporting into a bundle folder deleted a file the user had put there (exit 0).
TEST_F(StoreGuard, ExportNeverDeletesOrReplacesTheUsersFiles) {
  ASSERT_EQ(train("iforest", "ex", "--param n_estimators=10").status, 0);
  const fs::path bundle = tmp.path / "bundle";
  ASSERT_EQ(nomaly("export " + s() + "ex '" + bundle.string() + "' --triton").status, 0);
  ASSERT_EQ(nomaly("export " + s() + "ex '" + bundle.string() + "'").status, 0);  // only nomaly's files: replaced whole
  EXPECT_FALSE(fs::exists(bundle / "triton"));

  write_bytes(bundle / "notes.txt", "my notes");
  CliResult r = nomaly("export " + s() + "ex '" + bundle.string() + "' --triton");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("1 file(s) nomaly did not write: notes.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(bundle / "triton"));  // nothing was changed

  r = nomaly("export " + s() + "ex '" + bundle.string() + "' --triton --force");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_bytes(bundle / "notes.txt"), "my notes");
  EXPECT_TRUE(fs::exists(bundle / "triton" / "ex" / "config.pbtxt"));
  EXPECT_EQ(read_bytes(bundle / "SHA256SUMS").find("notes.txt"), std::string::npos);  // still the user's

  // A bundle file the user changed is the user's now: refused, even with --force.
  write_bytes(bundle / "README.md", "my own readme");
  for (const std::string force : {"", " --force"}) {
    r = nomaly("export " + s() + "ex '" + bundle.string() + "'" + force);
    EXPECT_EQ(r.status, 2) << force;
    EXPECT_NE(r.err.find("changed since the last export: README.md"), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(bundle / "README.md"), "my own readme");
  }
  EXPECT_NE(r.err.find("even --force never replaces a file nomaly did not write"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(bundle / "triton" / "ex" / "config.pbtxt"));
}

// Bug: `train --overwrite` removed the replaced fit's model.onnx, so `nomaly serve --format onnx` answered 404
// for the id until someone ran `save --format onnx`. The new fit gets a model.onnx of its own.
TEST_F(StoreGuard, TrainOverwriteKeepsTheOnnxFormatTheReplacedModelHad) {
  ASSERT_EQ(train("iforest", "srv", "--param n_estimators=10 --param random_state=1").status, 0);
  ASSERT_EQ(nomaly("save " + s() + "srv --format onnx").status, 0);
  const json before = json::parse(read_bytes(store / "srv" / "metadata.json"));
  const CliResult r = train("iforest", "srv", "--param n_estimators=20 --param random_state=2 --overwrite --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("train: saved model.onnx too"), std::string::npos) << r.err;
  // The file has a label, so train says how the fit ranks the training rows (the value it stores).
  const auto auc_at = r.err.find("train: training ROC-AUC ");
  ASSERT_NE(auc_at, std::string::npos) << r.err;
  EXPECT_NEAR(std::stod(r.err.substr(auc_at + 24)), json::parse(r.out)["training_metrics"]["roc_auc"].get<double>(), 1e-5);
  EXPECT_GT(json::parse(r.out)["training_metrics"]["roc_auc"].get<double>(), 0.5);
  const json after = json::parse(read_bytes(store / "srv" / "metadata.json"));
  EXPECT_NE(after["fit_sha256"], before["fit_sha256"]);
  ASSERT_TRUE(after["files"].contains("model.onnx")) << after.dump(2);
  ASSERT_TRUE(after["files"].contains("model.nomaly")) << after.dump(2);
  EXPECT_NE(after["files"]["model.onnx"]["sha256"], before["files"]["model.onnx"]["sha256"]);
  EXPECT_EQ(json::parse(r.out)["onnx_file"], (store / "srv" / "model.onnx").string());
  // Both files are the new fit: the ONNX model scores the training rows as the native one does.
  const CliResult v = nomaly("load " + s() + "srv --format onnx");
  EXPECT_EQ(v.status, 0) << v.err << v.out;
  const CliResult ver = nomaly("verify '" + (store / "srv" / "model.onnx").string() + "' --native '" +
                                (store / "srv" / "model.nomaly").string() + "' --input '" + csv.string() + "' --json");
  ASSERT_EQ(ver.status, 0) << ver.err << ver.out;
  EXPECT_EQ(json::parse(ver.out)["n_rows"], 210) << ver.out;
  EXPECT_EQ(json::parse(ver.out)["ok"], true) << ver.out;

  // A model saved only natively stays native-only.
  ASSERT_EQ(train("iforest", "nat", "--param n_estimators=10").status, 0);
  ASSERT_EQ(train("iforest", "nat", "--param n_estimators=10 --overwrite").status, 0);
  EXPECT_FALSE(fs::exists(store / "nat" / "model.onnx"));
}

// Bug: `train --id X` over an existing id replaced another algorithm's model with one log line.
TEST_F(StoreGuard, TrainOverAnExistingIdNeedsOverwriteAndSaysWhatItReplaced) {
  ASSERT_EQ(train("iforest", "same", "--param n_estimators=10").status, 0);
  const json before = json::parse(read_bytes(store / "same" / "metadata.json"));
  CliResult r = train("lof", "same");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("detector id same already holds a model (algorithm iforest, saved_at " +
                       before["saved_at"].get<std::string>() + ", fit " +
                       before["fit_sha256"].get<std::string>().substr(0, 12) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(store / "same" / "metadata.json"), before.dump(2) + "\n");  // untouched

  r = train("lof", "same", "--overwrite");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "same\n");
  EXPECT_NE(r.err.find("train: replaced detector same (algorithm iforest"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(read_bytes(store / "same" / "metadata.json"))["algorithm"], "lof");
}

TEST_F(StoreGuard, LibrarySaveOfAnotherFitIsRefusedWhenOverwriteIsOff) {
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  ModelPersistenceService svc(repo, tmp.path / "lib-store");
  const Dataset data = synthetic(120, 4, 6, 3);
  DetectorEntity a = fitted_entity("iforest", data, small_iforest_params(), "a");
  a.id = "shared.id";
  repo->save(a);
  svc.save_model(a.id, Format::Native);
  svc.save_model(a.id, Format::Onnx);  // the same fit in another format needs no flag
  DetectorEntity b = fitted_entity("knn", data, json::object(), "b");
  b.id = "shared.id";
  repo->save(b);
  try {
    SaveOptions refuse;
    refuse.overwrite = false;
    svc.save_model(b.id, Format::Native, json::object(), refuse);
    FAIL() << "expected RefusedOverwrite";
  } catch (const RefusedOverwrite& e) {
    EXPECT_NE(std::string(e.what()).find("already holds another model (algorithm iforest"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), ExitCode::Usage);
  }
  EXPECT_EQ(svc.load_model(b.id)->info().algorithm, "iforest");  // the saved model is untouched
  SaveOptions o;
  o.overwrite = true;
  svc.save_model(b.id, Format::Native, json::object(), o);
  EXPECT_EQ(svc.load_model(b.id)->info().algorithm, "knn");
}

TEST_F(StoreGuard, JsonOnEveryStoreCommandAndJsonErrors) {
  CliResult r = train("iforest", "js", "--param n_estimators=10 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json t = json::parse(r.out);
  EXPECT_EQ(t["id"], "js");
  EXPECT_EQ(t["algorithm"], "iforest");
  EXPECT_EQ(t["n_features"], 5);
  EXPECT_EQ(t["feature_names"], json({"f0", "f1", "f2", "f3", "f4"}));
  EXPECT_EQ(t["model_file"], (store / "js" / "model.nomaly").string());

  r = nomaly("load " + s() + "js --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json l = json::parse(r.out);
  EXPECT_EQ(l["algorithm"], "iforest");
  EXPECT_EQ(l["check_batch"]["rows"], 32);
  EXPECT_EQ(l["check_batch"]["max_abs_diff"], 0.0);

  const fs::path bundle = tmp.path / "b";
  r = nomaly("export " + s() + "js '" + bundle.string() + "' --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json e = json::parse(r.out);
  EXPECT_EQ(e["id"], "js");
  EXPECT_NE(std::find(e["files"].begin(), e["files"].end(), "SHA256SUMS"), e["files"].end());

  r = nomaly("inspect '" + (bundle / "model.onnx").string() + "' --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json i = json::parse(r.out);
  EXPECT_EQ(i["metadata"]["nomaly.algorithm"], "iforest");
  EXPECT_EQ(i["inputs"][0]["name"], "X");
  EXPECT_TRUE(i["checker_ok"].get<bool>());

  r = nomaly("list " + s() + "--json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["js"]["algorithm"], "iforest");

  // Errors with --json: one JSON object on stdout, the plain message still on stderr.
  r = nomaly("load " + s() + "ghost --json");
  EXPECT_EQ(r.status, 4);
  const json err = json::parse(r.out);
  EXPECT_EQ(err["exit_code"], 4);
  EXPECT_EQ(err["type"], "model_error");
  EXPECT_NE(err["error"].get<std::string>().find("No saved model found for detector ghost"), std::string::npos);
  EXPECT_NE(r.err.find("error: No saved model found"), std::string::npos);
  r = nomaly("load " + s() + "js --json --bogus");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(json::parse(r.out)["type"], "usage");
}

TEST_F(StoreGuard, MessagesSayWhatIsWrong) {
  CliResult r = nomaly("trian --algorithm iforest");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown command 'trian'; did you mean 'train'?"), std::string::npos) << r.err;
  r = nomaly("expor x y");
  EXPECT_NE(r.err.find("did you mean 'export'?"), std::string::npos) << r.err;

  // A mistyped --store: named, and said not to exist.
  const fs::path typo = tmp.path / "stroe";
  for (const std::string cmd : {"load x", "save x", "export x out", "delete x"}) {
    r = nomaly(cmd.substr(0, cmd.find(' ')) + " --store '" + typo.string() + "'" + cmd.substr(cmd.find(' ')));
    EXPECT_EQ(r.status, 4) << cmd;
    EXPECT_NE(r.err.find("the model store " + typo.string() + " does not exist"), std::string::npos) << cmd << r.err;
  }
  EXPECT_FALSE(fs::exists(typo));

  // verify of two different algorithms says so.
  ASSERT_EQ(train("iforest", "vf", "--param n_estimators=10").status, 0);
  ASSERT_EQ(train("knn", "vk").status, 0);
  ASSERT_EQ(nomaly("save " + s() + "vk --format onnx").status, 0);
  r = nomaly("verify '" + (store / "vk" / "model.onnx").string() + "' --input '" + csv.string() + "' --native '" +
             (store / "vf" / "model.nomaly").string() + "'");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.out.find("MISMATCH (different algorithms: the ONNX model is knn, the native model is iforest)"),
            std::string::npos) << r.out;

  // NOMALY_DEEP_LEARNING=false: the deep detectors are unavailable, and ONNX saves say the flag blocks them all.
  const json with_flag = json::parse(nomaly("algorithms --json").out);
  r = nomaly("algorithms --json", "NOMALY_DEEP_LEARNING=false");
  ASSERT_EQ(r.status, 0) << r.err;
  const json without = json::parse(r.out);
  ASSERT_EQ(without.size(), with_flag.size());
  std::size_t deep = 0;
  for (std::size_t k = 0; k < without.size(); ++k) {
    const auto& a = without[k];
    EXPECT_EQ(a["available"].get<bool>(), !a["deep"].get<bool>() && with_flag[k]["available"].get<bool>()) << a["name"];
    if (!a["deep"].get<bool>()) continue;
    ++deep;
    // A build without libtorch keeps its own reason; otherwise the flag is the reason.
    if (with_flag[k]["available"].get<bool>()) {
      EXPECT_EQ(a["unavailable_reason"], kDeepLearningDisabledMessage);
    }
  }
  EXPECT_EQ(deep, 2u);
  r = nomaly("save " + s() + "vf --format onnx", "NOMALY_DEEP_LEARNING=false");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true (the flag blocks "
                       "every ONNX save and export, for every algorithm"),
            std::string::npos) << r.err;
}

// A store that cannot be written is not a model error: exit 5 ("output not written"). Root ignores file modes,
// so the unwritable store is a folder under a regular file (ENOTDIR), which no user can create either.
TEST_F(StoreGuard, UnwritableStoreIsAnIoErrorNotAModelError) {
  write_bytes(tmp.path / "plainfile", "x");
  CliResult r = nomaly("train --store '" + (tmp.path / "plainfile" / "store").string() + "' --algorithm iforest --input '" +
                       csv.string() + "' --param n_estimators=5 --id ro");
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("plainfile"), std::string::npos) << r.err;
}

TEST_F(StoreGuard, PyodNamesAnyCaseAndDottedIds) {
  for (const auto& [given, canonical] : std::vector<std::pair<std::string, std::string>>{
           {"IForest", "iforest"}, {"IsolationForest", "iforest"}, {"LOF", "lof"}, {"Knn", "knn"}, {"HBOS", "hbos"}}) {
    const CliResult r = train(given, "m.v1." + canonical + std::to_string(given.size()), "--json --param contamination=0.1");
    ASSERT_EQ(r.status, 0) << given << r.err;
    EXPECT_EQ(json::parse(r.out)["algorithm"], canonical) << given;
  }
  EXPECT_EQ(algorithm_info("AutoEncoder").name, "autoencoder");
  EXPECT_EQ(algorithm_info("DeepSVDD").name, "deepsvdd");
  EXPECT_EQ(algorithm_info("OCSVM").name, "ocsvm");
  for (const std::string bad : {".hidden", "a..b", "..", "a/b", "."}) {
    EXPECT_FALSE(is_valid_detector_id(bad)) << bad;
    const CliResult r = train("iforest", "'" + bad + "'");
    EXPECT_EQ(r.status, 2) << bad;
  }
  EXPECT_TRUE(is_valid_detector_id("my.model.v2"));
  EXPECT_TRUE(fs::exists(store / "m.v1.iforest7" / "model.nomaly"));
}

// Triton: the model is named by the detector id (two models never collide), batches dynamically on the CPU.
TEST_F(StoreGuard, TritonConfigBatchesAndIsNamedByTheId) {
  ASSERT_EQ(train("iforest", "tri", "--param n_estimators=10").status, 0);
  const fs::path bundle = tmp.path / "tb";
  ASSERT_EQ(nomaly("export " + s() + "tri '" + bundle.string() + "' --triton").status, 0);
  const std::string cfg = read_bytes(bundle / "triton" / "tri" / "config.pbtxt");
  EXPECT_EQ(cfg,
            "name: \"tri\"\n"
            "platform: \"onnxruntime_onnx\"\n"
            "max_batch_size: 1024\n"
            "input [\n  {\n    name: \"X\"\n    data_type: TYPE_FP32\n    dims: [ 5 ]\n  }\n]\n"
            "output [\n  {\n    name: \"scores\"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  },\n"
            "  {\n    name: \"label\"\n    data_type: TYPE_INT64\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  }\n]\n"
            "dynamic_batching { }\n"
            "instance_group [ { count: 1, kind: KIND_CPU } ]\n");
  EXPECT_EQ(read_bytes(bundle / "triton" / "tri" / "1" / "model.onnx"), read_bytes(bundle / "model.onnx"));

  const fs::path other = tmp.path / "tb2";
  CliResult r = nomaly("export " + s() + "tri '" + other.string() + "' --triton --triton-name scorer --version 3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(read_bytes(other / "triton" / "scorer" / "config.pbtxt").find("name: \"scorer\""), std::string::npos);
  EXPECT_TRUE(fs::exists(other / "triton" / "scorer" / "3" / "model.onnx"));
  r = nomaly("export " + s() + "tri '" + (tmp.path / "tb3").string() + "' --triton --triton-name ../up");
  EXPECT_EQ(r.status, 2);
  EXPECT_FALSE(fs::exists(tmp.path / "tb3"));
  r = nomaly("export " + s() + "tri '" + (tmp.path / "tb3").string() + "' --triton --version 0");
  EXPECT_EQ(r.status, 2);
}

// `make install`: the installed binary finds its copy of ONNX Runtime through the rpath, so another user can run it.
TEST(Install, InstalledNomalyRunsForAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to install and to run as user nobody";
  if (std::system("command -v runuser >/dev/null 2>&1") != 0) GTEST_SKIP() << "runuser is not installed";
  TempDir prefix;
  fs::permissions(prefix.path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
  const fs::path build = fs::path(NOMALY_CLI_PATH).parent_path();
  ASSERT_EQ(std::system(("cmake --install '" + build.string() + "' --prefix '" + prefix.path.string() + "' >/dev/null").c_str()), 0);
  const fs::path bin = prefix.path / "bin" / "nomaly";
  ASSERT_TRUE(fs::exists(bin));
  ASSERT_TRUE(fs::exists(prefix.path / "lib" / "libonnxruntime.so.1"));
  FILE* p = ::popen(("readelf -d '" + bin.string() + "'").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string dyn;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) dyn.append(buf, n);
  ::pclose(p);
  EXPECT_NE(dyn.find("[$ORIGIN/../lib]"), std::string::npos) << dyn;
  EXPECT_EQ(dyn.find(".cache"), std::string::npos) << "the installed binary must not point into a build cache";

  p = ::popen(("cd / && runuser -u nobody -- '" + bin.string() + "' algorithms --json 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
  const json algos = json::parse(out);
  EXPECT_EQ(algos.at(0)["name"], "iforest");
  EXPECT_GE(algos.size(), 9u);
}

// Clipped parameters warn and are stored as used; contamination "auto" follows sklearn's LOF rule (1.5).
TEST_F(StoreGuard, ClippedParametersAreStoredAsUsedAndLofAutoMatchesSklearn) {
  CliResult r = train("lof", "clip", "--param n_neighbors=500");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("lof: n_neighbors = 500 exceeds n - 1 = 209"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(read_bytes(store / "clip" / "metadata.json"))["parameters"]["n_neighbors"], 209);
  r = train("iforest", "clip2", "--param max_samples=1000 --param n_estimators=5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("iforest: max_samples = 1000 exceeds the 210 training rows"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(read_bytes(store / "clip2" / "metadata.json"))["parameters"]["max_samples"], 210);
  r = train("iforest", "clip3", "--param max_samples=0.005");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Isolation Forest needs at least 2"), std::string::npos) << r.err;

  r = nomaly("algorithms --json");
  for (const auto& a : json::parse(r.out))
    if (a["name"] == "knn") {
      EXPECT_NE(a["contamination_auto"].get<std::string>().find("90th percentile"), std::string::npos);
    }
  const Dataset data = read_csv(csv.string(), [] { CsvOptions o; o.label_column = "label"; return o; }());
  auto lof = create_detector("LOF", {{"contamination", "auto"}});
  lof->fit(data.view());
  EXPECT_EQ(lof->threshold(), 1.5f);
  const auto labels = lof->labels_for(lof->training_scores());
  const long ours = std::count(labels.begin(), labels.end(), 1);
  FILE* p = ::popen(("/usr/bin/python3 -c \"import numpy as np; from sklearn.neighbors import LocalOutlierFactor as L; "
                     "X = np.loadtxt('" + csv.string() + "', delimiter=',', skiprows=1)[:, :-1]; "
                     "print(int((L(n_neighbors=20, contamination='auto').fit_predict(X) == -1).sum()))\" 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {0};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  const int st = ::pclose(p);
  if (st != 0) {
    if (under_ci()) FAIL() << "scikit-learn missing (CI=true): " << std::string(buf, n);
    GTEST_SKIP() << "scikit-learn missing: " << std::string(buf, n);
  }
  EXPECT_EQ(ours, std::stol(std::string(buf, n)));
  EXPECT_GT(ours, 0);
}

}  // namespace
}  // namespace nomaly::test
