// The store commands of the built CLI (NOMALY_CLI_PATH): train, save, load, export, list, delete, score.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>

#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

using Cli = CliResult;

class StoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    store = tmp.path / "store";
    csv = tmp.path / "train.csv";
    write_csv(csv.string(), synthetic(300, 5, 15, 31));
  }
  Cli nomaly(const std::string& args, const std::string& env = "") { return run_cli(args, env); }
  std::string s() const { return "--store '" + store.string() + "' "; }
  TempDir tmp;
  fs::path store, csv;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

TEST_F(StoreCli, TrainSaveLoadScoreExportListDelete) {
  Cli r = nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                 "' --param n_estimators=30 --param random_state=4 --name cli-forest --id cli1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "cli1\n");
  EXPECT_TRUE(fs::exists(store / "cli1" / "model.nomaly"));

  r = nomaly("save " + s() + "cli1 --format onnx --strict-onnx");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).at(0), (store / "cli1" / "model.onnx").string());

  r = nomaly("load " + s() + "cli1 --format onnx");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("cli-forest"), std::string::npos);
  EXPECT_NE(r.out.find("format       onnx"), std::string::npos);
  const auto pos = r.out.find("max |diff| vs native ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  EXPECT_LE(std::stod(r.out.substr(pos + 21)), 1e-5);

  r = nomaly("list " + s() + "--json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json listed = json::parse(r.out);
  EXPECT_EQ(listed["cli1"]["format"], "onnx");
  EXPECT_EQ(listed["cli1"]["detector_name"], "cli-forest");
  r = nomaly("list " + s());
  EXPECT_NE(r.out.find("cli1"), std::string::npos);

  // Score through the id (last saved format: onnx), the .nomaly file, the .onnx file and an export bundle.
  const fs::path f_id = tmp.path / "by-id.csv", f_native = tmp.path / "by-native.csv";
  r = nomaly("score " + s() + "cli1 --input '" + csv.string() + "' --json --scores-out '" + f_id.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = json::parse(r.out);
  EXPECT_EQ(rep["n_rows"], 315);
  EXPECT_EQ(rep["n_features"], 5);
  EXPECT_GT(rep["roc_auc"].get<double>(), 0.9);  // the label column was picked up automatically
  EXPECT_TRUE(rep.contains("average_precision"));
  EXPECT_TRUE(rep.contains("score_seconds"));
  r = nomaly("score '" + (store / "cli1" / "model.nomaly").string() + "' --input '" + csv.string() +
             "' --batch-size 64 --threads 1 --scores-out '" + f_native.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto a = lines_of(read_bytes(f_id)), b = lines_of(read_bytes(f_native));
  ASSERT_EQ(a.size(), 316u);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(a[0], "score,label");
  for (std::size_t i = 1; i < a.size(); ++i) {
    const double x = std::stod(a[i]), y = std::stod(b[i]);
    ASSERT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(y))) << "row " << i;
  }

  const fs::path bundle = tmp.path / "bundle";
  r = nomaly("export " + s() + "cli1 '" + bundle.string() + "' --triton");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("golden/expected.csv"), std::string::npos);
  EXPECT_TRUE(fs::exists(bundle / "triton" / "cli1" / "config.pbtxt"));
  for (const fs::path& target : {bundle, store / "cli1" / "model.onnx"}) {
    r = nomaly("score '" + target.string() + "' --input '" + csv.string() + "' --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["n_anomalies"], rep["n_anomalies"]) << target;
  }

  r = nomaly("delete " + s() + "cli1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(store / "cli1"));
  r = nomaly("load " + s() + "cli1 --format native");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("No saved model found for detector cli1"), std::string::npos) << r.err;
  r = nomaly("delete " + s() + "cli1");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("Detector cli1 not found"), std::string::npos) << r.err;
}

TEST_F(StoreCli, StoreComesFromEnvironmentAndIdsAreUuidsByDefault) {
  const std::string env = "NOMALY_STORE='" + store.string() + "'";
  Cli r = nomaly("train --algorithm iforest --input '" + csv.string() + "' --param n_estimators=10", env);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string id = lines_of(r.out).at(0);
  EXPECT_EQ(id.size(), 36u);
  EXPECT_TRUE(is_valid_detector_id(id));
  EXPECT_TRUE(fs::exists(store / id / "metadata.json"));
  r = nomaly("list --json", env);
  EXPECT_TRUE(json::parse(r.out).contains(id));
}

TEST_F(StoreCli, ErrorsMapToExitCodes) {
  Cli r = nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() + "' --id ../escape");
  EXPECT_EQ(r.status, 2);  // an invalid id is a usage error
  EXPECT_NE(r.err.find("invalid detector id"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path / "escape"));

  r = nomaly("train " + s() + "--algorithm iforest --input '" + (tmp.path / "missing.csv").string() + "'");
  EXPECT_EQ(r.status, 3) << r.err;
  r = nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() + "' --param n_estimators=-1");
  EXPECT_EQ(r.status, 2) << r.err;
  r = nomaly("save " + s());
  EXPECT_EQ(r.status, 2);

  ASSERT_EQ(nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                   "' --param n_estimators=10 --id codes").status, 0);
  r = nomaly("save " + s() + "codes --format pickle");
  EXPECT_EQ(r.status, 2);  // an unknown format is a usage error; nothing is written
  EXPECT_NE(r.err.find("Unknown format 'pickle'"), std::string::npos) << r.err;
  r = nomaly("save " + s() + "codes --format onnx", "NOMALY_DEEP_LEARNING=false");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true"), std::string::npos);
  EXPECT_FALSE(fs::exists(store / "codes" / "model.onnx"));
  r = nomaly("save " + s() + "nobody --format onnx");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("Detector nobody not found"), std::string::npos);

  // A width mismatch at scoring is bad data (3).
  const fs::path narrow = tmp.path / "narrow.csv";
  write_csv(narrow.string(), synthetic(20, 3, 0, 1));
  r = nomaly("score " + s() + "codes --input '" + narrow.string() + "'");
  EXPECT_EQ(r.status, 3) << r.err;

  // A corrupted model file is a model error (4) naming the file.
  const fs::path model = store / "codes" / "model.nomaly";
  std::string bytes = read_bytes(model);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
  write_bytes(model, bytes);
  r = nomaly("load " + s() + "codes");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("model.nomaly"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
}

/// The CSV at `src` with its header replaced by `header` (the label column kept last).
void rewrite_header(const fs::path& src, const fs::path& dst, const std::string& header) {
  std::string body = read_bytes(src);
  body = body.substr(body.find('\n'));
  write_bytes(dst, header + body);
}

/// The CSV with its feature columns in reverse order (header and rows), label kept last.
void reverse_features(const fs::path& src, const fs::path& dst) {
  std::istringstream in(read_bytes(src));
  std::string line, out;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    std::reverse(cells.begin(), cells.end() - 1);
    for (std::size_t k = 0; k < cells.size(); ++k) out += (k ? "," : "") + cells[k];
    out += "\n";
  }
  write_bytes(dst, out);
}

// Bug: a header that only partly matches the model's feature names was scored positionally (wrong columns).
TEST_F(StoreCli, ScoreMatchesFeaturesByNameAndRefusesPartialMatches) {
  ASSERT_EQ(nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                   "' --param n_estimators=20 --param random_state=3 --id names").status, 0);
  ASSERT_EQ(nomaly("save " + s() + "names --format onnx").status, 0);
  const fs::path ref = tmp.path / "ref.csv", got = tmp.path / "got.csv";
  Cli r = nomaly("score " + s() + "names --format native --input '" + csv.string() + "' --scores-out '" + ref.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto want = lines_of(read_bytes(ref));
  ASSERT_EQ(want.size(), 316u);

  // All names present in another order: selected by name, identical scores.
  const fs::path reordered = tmp.path / "reordered.csv";
  reverse_features(csv, reordered);
  ASSERT_EQ(lines_of(read_bytes(reordered)).at(0), "f4,f3,f2,f1,f0,label");
  r = nomaly("score " + s() + "names --format native --input '" + reordered.string() + "' --scores-out '" + got.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines_of(read_bytes(got)), want);

  // f1 missing (an extra column zz in its place), in both formats and with --positional: exit 3 naming f1.
  const fs::path partial = tmp.path / "partial.csv";
  rewrite_header(csv, partial, "zz,f0,f2,f3,f4,label");
  for (const std::string extra : {"--format native", "--format onnx", "--format native --positional"}) {
    r = nomaly("score " + s() + "names " + extra + " --input '" + partial.string() + "'");
    EXPECT_EQ(r.status, 3) << extra << ": " << r.out;
    EXPECT_NE(r.err.find("missing feature column f1"), std::string::npos) << extra << ": " << r.err;
    EXPECT_EQ(r.out, "") << extra;
  }

  // No name matches: an error that suggests --positional; with it, the columns are used in order.
  const fs::path renamed = tmp.path / "renamed.csv";
  rewrite_header(csv, renamed, "a,b,c,d,e,label");
  r = nomaly("score " + s() + "names --input '" + renamed.string() + "'");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("missing feature columns f0, f1, f2, f3, f4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--positional"), std::string::npos) << r.err;
  for (const std::string fmt : {"native", "onnx"}) {
    r = nomaly("score " + s() + "names --format " + fmt + " --positional --input '" + renamed.string() +
               "' --scores-out '" + got.string() + "'");
    ASSERT_EQ(r.status, 0) << fmt << ": " << r.err;
    const auto g = lines_of(read_bytes(got));
    ASSERT_EQ(g.size(), want.size());
    for (std::size_t i = 1; i < g.size(); ++i)
      ASSERT_NEAR(std::stod(g[i]), std::stod(want[i]), 1e-5 * std::max(1.0, std::abs(std::stod(want[i])))) << fmt << i;
  }

  // --positional needs the model's exact width.
  const fs::path narrow = tmp.path / "narrow.csv";
  write_bytes(narrow, "a,b,c,d\n0.1,0.2,0.3,0.4\n1,2,3,4\n-1,0,1,2\n");
  r = nomaly("score " + s() + "names --positional --input '" + narrow.string() + "'");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("--positional needs exactly 5 feature columns"), std::string::npos) << r.err;
}

// Bug: a truncated store record made `load` print the summary and then fail, and blocked save/export.
TEST_F(StoreCli, DamagedStoreRecordUsesTheSavedModelOrFailsBeforeAnyOutput) {
  ASSERT_EQ(nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                   "' --param n_estimators=15 --id dmg").status, 0);
  const fs::path record = store / ".detectors" / "dmg.nomaly";
  const std::string bytes = read_bytes(record);
  write_bytes(record, bytes.substr(0, bytes.size() / 3));

  // The saved native model is intact: load/save/export work and warn about the record.
  Cli r = nomaly("load " + s() + "dmg");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("check batch  32 reference rows"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max |diff| vs native 0"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("damaged detector record " + record.string()), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("damaged"), std::string::npos) << "warnings belong on stderr: " << r.out;
  r = nomaly("save " + s() + "dmg --format onnx");
  EXPECT_EQ(r.status, 0) << r.err;
  r = nomaly("export " + s() + "dmg '" + (tmp.path / "bundle").string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp.path / "bundle" / "model.onnx"));

  // Without it: exit 4 before any output, naming the record and the ways out.
  fs::remove(store / "dmg" / "model.nomaly");
  r = nomaly("load " + s() + "dmg --format onnx");
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(record.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nomaly train --id dmg"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nomaly delete dmg"), std::string::npos) << r.err;
  r = nomaly("delete " + s() + "dmg");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(record));
}

// Bugs: `--id ""` made a UUID; negative --batch-size/--threads were accepted.
TEST_F(StoreCli, EmptyIdAndNegativeSizesAreUsageErrors) {
  Cli r = nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() + "' --id ''");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--id is empty"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(store));

  ASSERT_EQ(nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                   "' --param n_estimators=10 --id sizes").status, 0);
  for (const std::string bad : {"--batch-size -3", "--batch-size x", "--threads -1"}) {
    r = nomaly("score " + s() + "sizes --input '" + csv.string() + "' " + bad);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find("must be a whole number >= 0"), std::string::npos) << bad << ": " << r.err;
  }
  r = nomaly("score " + s() + "sizes --input '" + csv.string() + "' --batch-size 0 --threads 0 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["n_rows"], 315);
  r = nomaly("score " + s() + "sizes --input '" + csv.string() + "' --batch-size 7 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["n_rows"], 315);
}

// Bug: every `score <id>` warned about an unrelated damaged store entry.
TEST_F(StoreCli, ScoreWarnsOnlyAboutTheEntryItUses) {
  for (const char* id : {"used", "broken"})
    ASSERT_EQ(nomaly("train " + s() + "--algorithm iforest --input '" + csv.string() +
                     "' --param n_estimators=10 --id " + id).status, 0);
  write_bytes(store / "broken" / "metadata.json", "{ damaged");
  Cli r = nomaly("score " + s() + "used --input '" + csv.string() + "' --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(json::parse(r.out)["detector_id"], "used");
  r = nomaly("score " + s() + "broken --input '" + csv.string() + "'");
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find((store / "broken" / "metadata.json").string()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nomaly::test
