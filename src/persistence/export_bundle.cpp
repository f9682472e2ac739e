// ModelPersistenceService::export_model: the deployment bundle (issue 4 §2).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"
#include "persistence/deploy_templates.hpp"
#include "persistence/fs_util.hpp"
#include "persistence/store_internal.hpp"

namespace nomaly {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr const char* kParityRule =
    "|diff| <= tolerance * max(|expected|, floor), floor = max(1e-3 * (max - min of the expected scores), FLT_MIN)";

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);  // 9 significant digits round-trip float32 exactly
  return buf;
}

std::vector<std::string> names_of(const DetectorEntity& e, std::size_t d) {
  if (e.feature_names.size() == d) return e.feature_names;
  std::vector<std::string> n;
  for (std::size_t j = 0; j < d; ++j) n.push_back("f" + std::to_string(j));
  return n;
}

/// The Triton model name: the detector id unless overridden, so two detectors never collide in one repository.
std::string triton_name(const DetectorEntity& e, const ExportOptions& o) {
  if (o.triton_name.empty()) return e.id;
  const bool ok = o.triton_name.size() <= 128 && o.triton_name.front() != '.' &&
                  std::all_of(o.triton_name.begin(), o.triton_name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                  });
  if (!ok)
    throw ParameterError("--triton-name '" + o.triton_name +
                         "': use 1-128 characters of [A-Za-z0-9_.-], not starting with '.' (it names a folder)");
  return o.triton_name;
}

std::string triton_config(const std::string& name, std::size_t d) {
  // Triton's batching contract (model_configuration.md): with max_batch_size > 0 the batch axis is left out
  // of dims. The model's [N] outputs have only the batch axis, so they are dims [ 1 ] reshaped to [ ].
  std::ostringstream s;
  s << "name: \"" << name << "\"\n"
    << "platform: \"onnxruntime_onnx\"\n"
    << "max_batch_size: 1024\n"
    << "input [\n  {\n    name: \"X\"\n    data_type: TYPE_FP32\n    dims: [ " << d << " ]\n  }\n]\n"
    << "output [\n  {\n    name: \"scores\"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  },\n"
    << "  {\n    name: \"label\"\n    data_type: TYPE_INT64\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  }\n]\n"
    << "dynamic_batching { }\n"
    << "instance_group [ { count: 1, kind: KIND_CPU } ]\n";  // the exported graphs use CPU operators only
  return s.str();
}

std::string readme(const DetectorEntity& e, const json& config, std::size_t d, std::size_t golden_rows, bool stub,
                   bool triton) {
  std::ostringstream s;
  s << "# Model card: " << e.name << "\n\n"
    << "A fitted **" << e.algorithm << "** anomaly detector exported by nomaly " << NOMALY_VERSION << ".\n\n"
    << "| field | value |\n|---|---|\n"
    << "| detector id | `" << e.id << "` |\n"
    << "| algorithm | `" << e.algorithm << "` |\n"
    << "| parameters | `" << e.parameters.dump() << "` |\n"
    << "| contamination | `" << e.contamination.dump() << "` |\n"
    << "| trained at | " << e.trained_at << " |\n"
    << "| input | `X`: float32 [N, " << d << "] (features: " << config["input"]["feature_names"].size() << ", see config.json) |\n"
    << "| outputs | `scores`: float32 [N], higher = more anomalous; `label`: int64 [N], 1 = anomaly |\n"
    << "| threshold | " << num(config["threshold"].get<double>()) << " (label = score > threshold) |\n";
  if (!stub)
    s << "| ONNX | IR " << config["ir_version"] << ", opsets " << config["opsets"].dump() << ", ONNX Runtime >= "
      << config["min_onnxruntime_version"].get<std::string>() << " |\n";
  s << "\n";
  if (e.metadata.is_object() && e.metadata.contains("training_metrics")) {
    s << "## Metrics on the training data (labels were known)\n\n";
    for (const auto& [k, v] : e.metadata["training_metrics"].items()) s << "- " << k << ": " << v.dump() << "\n";
    s << "\n";
  } else {
    s << "No labels were known at training time, so no metrics are reported.\n\n";
  }
  if (stub) {
    s << "## This is a stub export\n\n"
      << "`" << e.algorithm << "` has no ONNX converter, so `model.onnx` is a JSON stub and the fitted model ships\n"
      << "as the native file `model.nomaly`. Score it with nomaly:\n\n"
      << "    nomaly score <this directory> --input data.csv\n\n"
      << "`deploy.py` and `deploy.mjs` exit with code 2 and this explanation.\n\n";
  } else {
    s << "## How to run it\n\n"
      << "Python (`pip install -r requirements.txt`; where no onnxruntime wheel can be installed, e.g. Debian 12\n"
      << "offline, deploy.py uses the nomaly Python package's ONNX Runtime instead when `import nomaly` works):\n\n"
      << "    python3 deploy.py data.csv --output scores.csv\n    python3 deploy.py --check\n\n"
      << "Node.js (`npm install onnxruntime-node` here, or `NODE_PATH=/path/to/node_modules` where it is installed):\n\n"
      << "    node deploy.mjs data.csv --output scores.csv\n    node deploy.mjs --check\n\n"
      << "nomaly itself: `nomaly score <this directory> --input data.csv`.\n\n";
    if (triton) s << "A Triton model repository is in `triton/` (platform onnxruntime_onnx, max_batch_size 1024, dynamic batching).\n\n";
  }
  s << "## Golden vectors\n\n`golden/input.csv` holds " << golden_rows
    << " training rows (including the 8 most anomalous) and `golden/expected.csv` their native scores and labels.\n"
    << "`--check` first verifies every file against SHA256SUMS (a missing or changed file fails, naming it), then\n"
    << "passes only when every row has |diff| <= 1e-5 * max(|expected|, floor), floor = 1e-3 * (max - min of the\n"
    << "expected scores) -- the rule of nomaly's `verify` (docs/onnx-contract.md) -- and every label agrees (exit 1 otherwise).\n\n"
    << "`SHA256SUMS` lists every file (`sha256sum -c SHA256SUMS`).\n";
  return s.str();
}

/// What an existing folder holds: nomaly's files (listed, unchanged, in a previous bundle's SHA256SUMS, plus
/// that SHA256SUMS) and everything else (the user's, including listed files changed since the export).
struct Survey {
  std::vector<std::string> ours, users, changed;
};

Survey survey_dir(const fs::path& dir) {
  std::map<std::string, std::string> listed;  // rel -> sha256
  const fs::path cfg = dir / "config.json", sums = dir / "SHA256SUMS";
  bool bundle = false;
  if (fs::is_regular_file(cfg) && fs::is_regular_file(sums)) {
    const json c = json::parse(read_file_bytes(cfg), nullptr, false);
    bundle = c.is_object() && c.contains("nomaly_export");
  }
  if (bundle) {
    std::istringstream in(read_file_bytes(sums));
    std::string line;
    while (std::getline(in, line))
      if (line.size() > 66 && line.compare(64, 2, "  ") == 0) listed[line.substr(66)] = line.substr(0, 64);
  }
  Survey s;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && !it->is_symlink()) continue;
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    const auto l = listed.find(rel);
    if (bundle && rel == "SHA256SUMS") {
      s.ours.push_back(rel);
    } else if (l == listed.end() || !it->is_regular_file() || it->is_symlink()) {
      s.users.push_back(rel);
    } else if (sha256_file_hex(it->path()) == l->second) {
      s.ours.push_back(rel);
    } else {
      s.users.push_back(rel);
      s.changed.push_back(rel);
    }
  }
  return s;
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

/// Moves a finished bundle (`tmp`, holding `files`) into place at `dir`. A folder that holds only an earlier
/// nomaly bundle is replaced whole. Files nomaly did not write are never deleted or replaced: without `force`
/// their presence refuses the export; with `force` nomaly's own files are replaced one by one beside them.
void publish_dir(const fs::path& tmp, const fs::path& dir, const std::map<std::string, std::string>& files, bool force) {
  if (!fs::exists(dir)) return rename_synced(tmp, dir);
  if (!fs::is_directory(dir)) throw RefusedOverwrite("export path " + dir.string() + " exists and is not a directory");
  const Survey s = survey_dir(dir);
  if (s.users.empty()) {
    if (s.ours.empty()) {  // empty, or only empty folders
      fs::remove_all(dir);
      return rename_synced(tmp, dir);
    }
    const fs::path old = dir.string() + ".old-" + new_uuid_v4().substr(0, 8);
    rename_synced(dir, old);
    rename_synced(tmp, dir);
    fs::remove_all(old);
    return;
  }
  std::string what = "export directory " + dir.string() + " holds " + std::to_string(s.users.size()) +
                     " file(s) nomaly did not write: " + name_list(s.users);
  if (!s.changed.empty()) what += " (changed since the last export: " + name_list(s.changed) + ")";
  if (!force)
    throw RefusedOverwrite(what + "; nothing was changed. Export to another directory, or pass --force to write "
                                  "the bundle beside them (only nomaly's own files are replaced)");
  std::vector<std::string> clash;
  for (const auto& u : s.users)
    if (files.count(u)) clash.push_back(u);
  if (!clash.empty())
    throw RefusedOverwrite(what + "; the bundle would replace " + name_list(clash) +
                           ", and even --force never replaces a file nomaly did not write; nothing was changed");
  // In place, SHA256SUMS last: until it is renamed, the old SHA256SUMS still names only nomaly's files.
  for (const auto& [rel, bytes] : files) {
    if (rel == "SHA256SUMS") continue;
    fs::create_directories((dir / rel).parent_path());
    rename_synced(tmp / rel, dir / rel);
  }
  rename_synced(tmp / "SHA256SUMS", dir / "SHA256SUMS");
  for (const auto& rel : s.ours) {
    if (files.count(rel)) continue;
    std::error_code ec;
    fs::remove(dir / rel, ec);
    // Folders the old bundle made (e.g. triton/<old name>/1) go when they are left empty.
    for (fs::path p = (dir / rel).parent_path(); p != dir && fs::is_empty(p, ec); p = p.parent_path()) fs::remove(p, ec);
  }
  fs::remove_all(tmp);
}

}  // namespace

std::map<std::string, fs::path> ModelPersistenceService::export_model(const std::string& id, const fs::path& export_dir,
                                                                     const ExportOptions& options) {
  const DetectorEntity e = fitted_entity(id);
  require_onnx_allowed();
  const std::string tn = triton_name(e, options);  // checked before any work
  if (options.triton_version < 1) throw ParameterError("--version must be >= 1 (Triton version folder), got " +
                                                       std::to_string(options.triton_version));
  const Detector& det = *e.model;
  const std::size_t d = det.n_features();
  const std::vector<std::string> names = names_of(e, d);

  OnnxArtifact art = make_onnx_artifact(e, false);
  std::map<std::string, std::string> files;  // relative path -> bytes

  // Golden vectors: the detector's reference rows and their native scores.
  const std::vector<float>& ref = det.reference_rows();
  const std::size_t n = d ? ref.size() / d : 0;
  const MatrixView Xg{ref.data(), n, d};
  const std::vector<float> scores = det.score_samples(Xg);
  const std::vector<int> labels = det.labels_for(scores);
  std::string in_csv, exp_csv = "score,label\n";
  for (std::size_t j = 0; j < d; ++j) in_csv += (j ? "," : "") + names[j];
  in_csv += "\n";
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) in_csv += (j ? "," : "") + num(Xg(i, j));
    in_csv += "\n";
    exp_csv += num(scores[i]) + "," + std::to_string(labels[i]) + "\n";
  }

  json config{{"nomaly_export", 1},
              {"nomaly_version", NOMALY_VERSION},
              {"detector_id", e.id},
              {"detector_name", e.name},
              {"algorithm", e.algorithm},
              {"parameters", e.parameters},
              {"contamination", e.contamination},
              {"trained_at", e.trained_at},
              {"stub", art.stub},
              {"model_file", "model.onnx"},
              {"input", {{"name", "X"}, {"dtype", "float32"}, {"shape", {-1, d}}, {"n_features", d}, {"feature_names", names}}},
              {"outputs", json::array({{{"name", "scores"}, {"dtype", "float32"}, {"shape", {-1}},
                                        {"description", "anomaly score, higher = more anomalous"}},
                                       {{"name", "label"}, {"dtype", "int64"}, {"shape", {-1}},
                                        {"description", "1 where score > threshold, else 0"}}})},
              {"threshold", static_cast<double>(det.threshold())},
              {"score_direction", "higher_is_more_anomalous"},
              {"golden", {{"input", "golden/input.csv"}, {"expected", "golden/expected.csv"}, {"rows", n},
                          {"tolerance", kParityTolerance}, {"tolerance_rule", kParityRule}}}};
  if (e.metadata.is_object() && e.metadata.contains("training_metrics"))
    config["metrics"] = e.metadata["training_metrics"];

  if (art.stub) {
    const std::string native = encode_native_entity(e);
    files[kNativeFile] = native;
    files[kOnnxFile] = make_stub_bytes(e, art.stub_reason, sha256_hex(native));
    config["native_model"] = kNativeFile;
    config["stub_reason"] = art.stub_reason;
    config["note"] = "No ONNX converter for " + e.algorithm +
                     ": model.onnx is a JSON stub; the fitted model is model.nomaly (score with `nomaly score`).";
    if (options.triton) spdlog::warn("export {}: no Triton repository for a stub model", e.id);
  } else {
    // make_onnx_artifact already checked ONNX Runtime against the native scores (reference + random rows).
    config["golden"]["parity_floor"] = art.parity.floor;
    config["golden"]["check_rows"] = det.reference_rows().size() / d + kParityRandomRows;
    config["golden"]["max_abs_diff_onnxruntime"] = art.parity.max_abs;
    config["ir_version"] = art.ir_version;
    config["opsets"] = {{"ai.onnx", art.opset}, {"ai.onnx.ml", art.opset_ml}};
    config["min_onnxruntime_version"] = min_onnxruntime_version(art.opset, art.opset_ml);
    files[kOnnxFile] = art.bytes;
    if (options.triton) {
      files["triton/" + tn + "/config.pbtxt"] = triton_config(tn, d);
      files["triton/" + tn + "/" + std::to_string(options.triton_version) + "/model.onnx"] = art.bytes;
    }
  }
  files["model.json"] = e.to_json().dump(2) + "\n";
  files["config.json"] = config.dump(2) + "\n";
  files["requirements.txt"] = "onnxruntime>=" + config.value("min_onnxruntime_version", std::string("1.13.0")) +
                              "\nnumpy>=1.21\n";
  files["deploy.py"] = kDeployPy;
  files["deploy.mjs"] = kDeployMjs;
  files["golden/input.csv"] = in_csv;
  files["golden/expected.csv"] = exp_csv;
  files["README.md"] = readme(e, config, d, n, art.stub, options.triton);
  std::string sums;
  for (const auto& [rel, bytes] : files) sums += sha256_hex(bytes) + "  " + rel + "\n";
  files["SHA256SUMS"] = sums;

  // Build beside the target, then rename into place: a failed export leaves nothing behind.
  fs::path target = fs::absolute(export_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "dir/" names the same directory
  const fs::path parent = target.parent_path();
  const bool created_parent = !fs::exists(parent);
  fs::create_directories(parent);
  const fs::path tmp = parent / ("." + target.filename().string() + ".tmp-" + new_uuid_v4().substr(0, 8));
  try {
    for (const auto& [rel, bytes] : files) {
      const fs::path p = tmp / rel;
      fs::create_directories(p.parent_path());
      write_synced(p, bytes);
    }
    publish_dir(tmp, target, files, options.force);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (created_parent) fs::remove(parent, ec);
    throw;
  }
  std::map<std::string, fs::path> out;
  for (const auto& [rel, bytes] : files) out[rel] = target / rel;
  return out;
}

}  // namespace nomaly
