// Issue 15, attacked as a user with messy files: every command that reads data (detect, train, score, verify, the
// bundle's deploy.py / deploy.mjs) reads the same file the same way, nothing is lost, messages stay readable.
// Rows 79-84 of docs/robustness.md; the CLI runs as a process, as in test_robustness_data.cpp.
#include <algorithm>

#include "nomaly/csv.hpp"
#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

/// Runs a shell command; `err` holds its stdout and stderr together.
CliResult sh(const std::string& cmd) {
  CliResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.err.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class MessyData : public ::testing::Test {
 protected:
  void SetUp() override {
    data = synthetic(120, 3, 6, 9);
    plain = tmp.path / "plain.csv";
    write_bytes(plain, text("a,b,c,label", [](std::size_t, const std::string& r) { return r; }));
    store = tmp.path / "store";
  }
  /// The rows as "a,b,c,label" cells under `header`, each row passed through `edit(i, row)`.
  std::string text(const std::string& header, const std::function<std::string(std::size_t, const std::string&)>& edit) {
    std::ostringstream s;
    s << header << "\n";
    for (std::size_t i = 0; i < data.rows; ++i) {
      std::ostringstream r;
      for (std::size_t j = 0; j < 3; ++j) r << (j ? "," : "") << data.X[i * 3 + j];
      r << "," << (*data.labels)[i];
      s << edit(i, r.str()) << "\n";
    }
    return s.str();
  }
  std::string s() const { return "--store " + q(store) + " "; }
  /// Trains iforest as `id` on the plain file and writes its ONNX save and an export bundle.
  fs::path bundle(const std::string& id) {
    CliResult r = run_cli("train " + s() + "-a iforest -i " + q(plain) + " -p random_state=4 --id " + id);
    EXPECT_EQ(r.status, 0) << r.err;
    r = run_cli("save " + s() + id + " --format onnx");
    EXPECT_EQ(r.status, 0) << r.err;
    const fs::path dir = tmp.path / ("bundle-" + id);
    r = run_cli("export " + s() + id + " " + q(dir));
    EXPECT_EQ(r.status, 0) << r.err;
    return dir;
  }
  TempDir tmp;
  Dataset data;
  fs::path plain, store;
};

TEST_F(MessyData, R79_InvalidUtf8InACellIsEscapedAndNeverACrash) {
  // A Windows-1252 no-break space after a number: every command aborted (an uncaught JSON error) with --json.
  const fs::path f = tmp.path / "cp1252.csv";
  write_bytes(f, text("a,b,c,label", [](std::size_t i, const std::string& r) { return i == 4 ? "7\xA0" + r.substr(r.find(',')) : r; }));
  bundle("m");
  for (const std::string& cmd :
       {"detect -a iforest -i " + q(f), "train " + s() + "-a iforest -i " + q(f) + " --id x", "score " + s() + "m -i " + q(f),
        "verify " + q(store / "m" / "model.onnx") + " --native " + q(store / "m" / "model.nomaly") + " -i " + q(f)}) {
    // --json too: the error object must be valid JSON (the crash was nlohmann's invalid-UTF-8 exception).
    const CliResult r = run_cli(cmd + " --json");
    SCOPED_TRACE(cmd);
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find(":6:1: column 'a': non-numeric value \"7\\xA0\""), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\xA0'), std::string::npos);
    EXPECT_EQ(json::parse(r.out)["type"], "bad_data") << r.out;
  }
}

TEST_F(MessyData, R80_LabelInAnyCaseOrIsAnomalyIsNeverAFeature) {
  for (const std::string name : {"Label", "LABEL", "is_anomaly"}) {
    const fs::path f = tmp.path / (name + ".csv");
    write_bytes(f, text("a,b,c," + name, [](std::size_t, const std::string& r) { return r; }));
    CliResult r = run_cli("detect -a iforest -i " + q(f) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["feature_names"], json({"a", "b", "c"})) << name;
    EXPECT_EQ(json::parse(r.out)["label_column"], name);
    r = run_cli("train " + s() + "-a iforest -i " + q(f) + " --id t" + name);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("features (3): a, b, c; label: " + name), std::string::npos) << r.err;
  }
  const fs::path two = tmp.path / "two.csv";
  write_bytes(two, text("a,b,Label,is_anomaly", [](std::size_t, const std::string& r) { return r; }));
  const CliResult r = run_cli("detect -a iforest -i " + q(two));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find(":1:4: two label columns ('Label' and 'is_anomaly'): choose one with --label-column"),
            std::string::npos)
      << r.err;
}

TEST_F(MessyData, R81_ScoringIgnoresAnUnaskedLabelThatIsNotZeroOrOne) {
  bundle("m");
  const fs::path ref = tmp.path / "ref.csv";
  ASSERT_EQ(run_cli("score " + s() + "m -i " + q(plain) + " --scores-out " + q(ref)).status, 0);
  for (const std::string v : {"-1", "yes"}) {
    const fs::path f = tmp.path / "odd-label.csv";
    write_bytes(f, text("a,b,c,label", [&](std::size_t i, const std::string& r) { return i == 7 ? r.substr(0, r.rfind(',') + 1) + v : r; }));
    SCOPED_TRACE("label " + v);
    // Fitting refuses it (a label is only for metrics, but a wrong one is a wrong column choice).
    CliResult r = run_cli("detect -a iforest -i " + q(f));
    EXPECT_EQ(r.status, 3);
    EXPECT_NE(r.err.find(":9:4: label column 'label': value \"" + v + "\" is not 0 or 1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--label-column ''"), std::string::npos) << r.err;
    // Scoring reads the features and says why the label was not used, as deploy.py/deploy.mjs ignore it.
    const fs::path out = tmp.path / "odd.out";
    r = run_cli("score " + s() + "m -i " + q(f) + " --json --scores-out " + q(out));
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["label_note"], "column 'label' not used as the label: line 9 holds \"" + v + "\", not 0 or 1");
    EXPECT_EQ(j["ignored_columns"], json({"label"}));
    EXPECT_FALSE(j.contains("roc_auc"));
    EXPECT_EQ(read_bytes(out), read_bytes(ref));
    // Asked for by name, it is checked.
    r = run_cli("score " + s() + "m -i " + q(f) + " --label-column label");
    EXPECT_EQ(r.status, 3) << r.err;
  }
}

TEST_F(MessyData, R82_OutputsNeverReplaceAnInputAndAreNeverHalfWritten) {
  bundle("m");
  const std::string before = read_bytes(plain);
  // The input under other spellings: relative, through "..", a symlink, a hard link.
  fs::create_directories(tmp.path / "sub");
  fs::create_symlink(plain, tmp.path / "sym.csv");
  fs::create_hard_link(plain, tmp.path / "hard.csv");
  for (const std::string out : {"plain.csv", "./plain.csv", "sub/../plain.csv", "sym.csv", "hard.csv"}) {
    for (const std::string& cmd : {std::string("detect -a iforest -i plain.csv"), "score " + s() + "m -i plain.csv"}) {
      const CliResult r = run_cli(cmd + " --scores-out " + out + " --json", "cd " + q(tmp.path) + " &&");
      EXPECT_EQ(r.status, 2) << out << ": " << r.err;
      EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
    }
  }
  // A --store that is a file (here the input): exit 5 before the fit, the file untouched.
  const CliResult st = run_cli("train -a iforest -i " + q(plain) + " --store " + q(plain));
  EXPECT_EQ(st.status, 5) << st.err;
  EXPECT_NE(st.err.find("is a file, not a model store folder; nothing was fitted"), std::string::npos) << st.err;
  EXPECT_EQ(st.err.find("train: features"), std::string::npos) << st.err;
  EXPECT_EQ(read_bytes(plain), before);
  // An existing output interrupted mid-write (the file-size limit kills the process): the old file stays whole,
  // and no partial file is left under the user's name.
  Dataset big = synthetic(4000, 3, 0, 1);
  std::ostringstream bt;
  bt << "a,b,c\n";
  for (std::size_t i = 0; i < big.rows; ++i) bt << big.X[i * 3] << "," << big.X[i * 3 + 1] << "," << big.X[i * 3 + 2] << "\n";
  write_bytes(tmp.path / "big.csv", bt.str());
  write_bytes(tmp.path / "scores.csv", "old scores\n");
  CliResult r = run_cli("detect -a iforest -i big.csv --scores-out scores.csv", "cd " + q(tmp.path) + " && ulimit -f 16 &&");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(read_bytes(tmp.path / "scores.csv"), "old scores\n");
  // A symlinked output is written through: the link stays a link, its file gets the scores.
  write_bytes(tmp.path / "target.csv", "old\n");
  fs::create_symlink(tmp.path / "target.csv", tmp.path / "link.csv");
  r = run_cli("detect -a iforest -i " + q(plain) + " --scores-out " + q(tmp.path / "link.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(tmp.path / "link.csv"));
  EXPECT_EQ(read_bytes(tmp.path / "target.csv").substr(0, 12), "score,label\n");
  // stdout as a path (a pipe, not a file that can be renamed over).
  r = run_cli("detect -a iforest -i " + q(plain) + " --scores-out /dev/stdout");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 12), "score,label\n");
}

TEST_F(MessyData, R83_DeployScriptsReadTheHeaderAsTheCliDoes) {
  const fs::path dir = bundle("m");
  const bool have_py = std::system("test -x /usr/bin/python3") == 0;
  const bool have_node = std::system("command -v node >/dev/null 2>&1") == 0 &&
                         fs::exists(node_ort_dir() / "node_modules" / "onnxruntime-node" / "package.json");
  if (!have_py || !have_node) {
    if (under_ci()) FAIL() << "python3 and node with onnxruntime-node are needed (CI=true)";
    GTEST_SKIP() << "python3 or node with onnxruntime-node missing";
  }
  const std::string py = "/usr/bin/python3 " + q(dir / "deploy.py") + " ";
  const std::string js = "NODE_PATH=" + q(node_ort_dir() / "node_modules") + " node " + q(dir / "deploy.mjs") + " ";
  struct Case {
    std::string name, content;
    int cli;             // `nomaly score` exit code; the scripts must agree
    std::string reason;  // the text every refusal names
  };
  const auto same = [](std::size_t, const std::string& r) { return r; };
  const std::vector<Case> cases = {
      {"header-only", "a,b,c,label\n", 0, ""},
      {"dup", text("a,b,c,a", same), 3, ":1:4: duplicate column name 'a' (also column 1)"},
      {"empty-name", text("a,b,c,", same), 3, ":1:4: column 4 has an empty name in the header"},
      {"cp1252-name", text("a,b,c,caf\xE9", same), 3, ":1:4: column 4's name \"caf\\xE9\" is not valid UTF-8 (byte 0xE9"},
      {"cp1252-id", text("id,a,b,c", [](std::size_t i, const std::string& r) { return (i == 2 ? std::string("Jos\xE9") : "x") + "," + r.substr(0, r.rfind(',')); }), 0, ""},
      {"blank-tail", text("a,b,c,label", same) + "\n  \n\n", 0, ""},
      {"semicolon", "a;b;c;label\n1;2;3;0\n", 3, "the file looks ';'-separated: pass --sep ';'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path f = tmp.path / (c.name + ".csv");
    write_bytes(f, c.content);
    const CliResult cli = run_cli("score " + s() + "m -i " + q(f));
    EXPECT_EQ(cli.status, c.cli) << cli.err;
    const fs::path out_js = tmp.path / (c.name + ".js.out"), out_py = tmp.path / (c.name + ".py.out");
    const CliResult rj = sh(js + q(f) + " --output " + q(out_js));
    const CliResult rp = sh(py + q(f) + " --output " + q(out_py));
    if (c.cli == 0) {
      EXPECT_EQ(rj.status, 0) << rj.err;
      // Debian has no onnxruntime wheel: deploy.py got past reading the file when it asks for the runtime.
      EXPECT_TRUE(rp.status == 0 || rp.err.find("is not installed; deploy.py needs") != std::string::npos) << rp.err;
      if (c.name == "header-only") {
        EXPECT_EQ(read_bytes(out_js), "score,label\n");
        EXPECT_EQ(read_bytes(out_py), "score,label\n");
      }
    } else {
      EXPECT_NE(cli.err.find(c.reason), std::string::npos) << cli.err;
      for (const CliResult* r : {&rj, &rp}) {
        EXPECT_EQ(r->status, 3) << r->err;
        EXPECT_NE(r->err.find(c.reason), std::string::npos) << r->err;
      }
    }
  }
}

TEST_F(MessyData, ProgressLineAndFeatureColumnsFollowQuietAndVerbose) {
  // The first progress line comes after NOMALY_PROGRESS_AFTER_MS (2 s by default; 0 here, so a short fit shows it).
  const std::string env = "NOMALY_PROGRESS_AFTER_MS=0";
  Dataset d = synthetic(2500, 4, 0, 3);
  d.labels.reset();
  write_csv((tmp.path / "lof.csv").string(), d);
  const auto train = [&](const std::string& id) { return "train " + s() + "-a lof -i " + q(tmp.path / "lof.csv") + " --id " + id; };
  CliResult r = run_cli(train("p"), env);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("train: features (4): f0, f1, f2, f3; label: none"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fitting lof on 2500 x 4 ... "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fitting lof on 2500 x 4 ... done in "), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "p\n");  // stdout stays the id
  r = run_cli("detect -a lof -i " + q(tmp.path / "lof.csv"), env);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("features:    4 (f0, f1, f2, f3)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("fitting lof on 2500 x 4 ... done in "), std::string::npos) << r.err;
  // --quiet (before or after the command): no progress and no column line; the result is unchanged.
  for (const std::string& cmd : {"--quiet " + train("q1"), train("q2") + " -q"}) {
    r = run_cli(cmd, env);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "") << cmd;
    EXPECT_EQ(r.out.substr(0, 1), "q");
  }
  // Without the override a short fit prints no progress at all.
  r = run_cli(train("n"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("fitting"), std::string::npos) << r.err;
  // --verbose adds every epoch of a deep detector; by default only each phase's last epoch is printed.
  const std::string deep = "detect -a autoencoder -p epochs=3 -p random_state=0 -i " + q(plain);
  r = run_cli(deep);
  if (r.status == 4 && r.err.find("libtorch") != std::string::npos) GTEST_SKIP() << "built without libtorch";
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("epoch 1/3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("epoch 3/3"), std::string::npos) << r.err;
  r = run_cli(deep + " --verbose");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* e : {"epoch 1/3", "epoch 2/3", "epoch 3/3"}) EXPECT_NE(r.err.find(e), std::string::npos) << r.err;
  r = run_cli(deep + " --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("epoch"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nomaly::test
