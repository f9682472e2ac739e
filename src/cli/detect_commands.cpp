// detect, quickstart, algorithms, inspect: fitting and scoring in one go, and looking inside ONNX files.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/metrics.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/inspect.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/registry.hpp"
#include "nomaly/table.hpp"

namespace nomaly::cli {

namespace {

struct DetectOptions {
  std::string algorithm = "iforest";
  DataOptions data;
  std::string contamination;
  std::vector<std::string> params;
  std::string scores_out;
  std::string onnx_out;
  bool json_out = false;
};

void run_detect(const DetectOptions& o) {
  // ONNX export follows the deep-learning flag everywhere (as save_model/export_model do); fail before fitting,
  // as do unwritable outputs and outputs that would overwrite the input.
  if (!o.onnx_out.empty()) require_onnx_allowed();
  check_outputs({{"--scores-out", o.scores_out}, {"--onnx-out", o.onnx_out}}, {o.data.input});
  const Table table = read_table(o.data.input, table_options(o.data));
  const Dataset& data = table.data;
  json params = parse_param_list(o.params);
  if (!o.contamination.empty()) params["contamination"] = parse_param_assignment("contamination=" + o.contamination).second;
  auto det = create_detector(o.algorithm, params);
  attach_progress(*det);

  const auto t0 = std::chrono::steady_clock::now();
  fit_with_progress(*det, data.view());
  const auto t1 = std::chrono::steady_clock::now();
  // Fit-and-score on the same rows uses the training scores where the detector defines them (PyOD's
  // decision_scores_: LOF and KNN leave each row out of its own neighbours), else score_samples.
  const bool from_fit = !det->training_scores().empty();
  const std::vector<float> scores = from_fit ? det->training_scores() : det->score_samples(data.view());
  const auto t2 = std::chrono::steady_clock::now();
  const std::vector<int> labels = det->labels_for(scores);

  RunReport r = make_report(data, scores, labels, det->threshold());
  r.algorithm = det->algorithm();
  r.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
  if (!from_fit) r.score_seconds = std::chrono::duration<double>(t2 - t1).count();
  r.extra["params"] = det->params();
  if (!table.label_column.empty()) r.extra["label_column"] = table.label_column;
  if (!table.unused_columns.empty()) r.extra["ignored_columns"] = table.unused_columns;
  if (!o.scores_out.empty()) write_scores_csv(o.scores_out, scores, labels, table.ids, o.data.id_column);
  if (!o.onnx_out.empty()) {
    ExportInfo info;
    info.detector_name = det->algorithm();
    info.feature_names = data.feature_names;
    write_file(o.onnx_out, export_onnx_bytes(*det, info));
    r.extra["onnx_out"] = o.onnx_out;
  }
  // With the scores on stdout, the report goes to stderr so the two never mix.
  print_report(r, o.json_out, o.scores_out == "-" ? std::cerr : std::cout);
}

void run_algorithms(bool as_json) {
  json out = json::array();
  for (const auto& a : list_algorithms()) {
    json params = json::array();
    for (const auto& p : a.params) params.push_back({{"name", p.name}, {"default", p.default_value}, {"type", p.type}, {"help", p.help}});
    out.push_back({{"name", a.name},
                   {"summary", a.summary},
                   {"reference", a.reference},
                   {"onnx_export", has_onnx_converter(a.name)},
                   {"deep", a.deep},
                   {"available", a.available},
                   {"unavailable_reason", a.unavailable_reason},
                   {"contamination_auto", contamination_auto_rule(a.name)},
                   {"params", params}});
  }
  if (as_json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  for (const auto& a : out) {
    std::cout << a["name"].get<std::string>() << (a["available"].get<bool>() ? "" : "  [unavailable: " + a["unavailable_reason"].get<std::string>() + "]")
              << "  onnx export: " << (a["onnx_export"].get<bool>() ? "yes" : "no") << (a["deep"].get<bool>() ? "  (deep learning)" : "")
              << "\n  " << a["summary"].get<std::string>() << "\n  reference: " << a["reference"].get<std::string>()
              << "\n  contamination \"auto\": " << a["contamination_auto"].get<std::string>() << "\n";
    for (const auto& p : a["params"])
      std::cout << "    " << p["name"].get<std::string>() << " = " << p["default"].dump() << "  (" << p["type"].get<std::string>()
                << ") " << p["help"].get<std::string>() << "\n";
  }
}

/// `inspect --json`: InspectInfo as one object (shapes as text, symbolic names kept).
json inspect_json_of(const InspectInfo& i) {
  auto io = [](const std::vector<OnnxIoInfo>& v, const std::vector<std::string>& dims) {
    json out = json::array();
    for (std::size_t k = 0; k < v.size(); ++k) out.push_back({{"name", v[k].name}, {"type", v[k].type}, {"shape", k < dims.size() ? dims[k] : ""}});
    return out;
  };
  json opsets = json::object();
  for (const auto& [domain, v] : i.opsets) opsets[domain.empty() ? "ai.onnx" : domain] = v;
  return {{"file", i.name}, {"size_bytes", i.size_bytes}, {"ir_version", i.ir_version}, {"producer", i.producer_name},
          {"producer_version", i.producer_version}, {"graph", i.graph_name}, {"opsets", opsets},
          {"inputs", io(i.inputs, i.input_dims)}, {"outputs", io(i.outputs, i.output_dims)}, {"op_counts", i.op_counts},
          {"n_nodes", i.n_nodes}, {"n_initializers", i.n_initializers}, {"initializer_elements", i.initializer_elements},
          {"metadata", i.metadata}, {"checker_ok", i.checker_error.empty()}, {"checker_error", i.checker_error}};
}

struct VerifyOptions {
  std::string onnx_path, native_path;
  DataOptions data;
  double tolerance = 1e-5;
  bool json_out = false;
  std::size_t batch_size = 0;  // 0: the model's own chunking (kNN/LOF graphs loop over row chunks)
};

// Scores the same rows with ONNX Runtime and with the native model; fails (exit 4) past the tolerance.
void run_verify(const VerifyOptions& o) {
  const OnnxModel model = OnnxModel::load_file(o.onnx_path);
  const DetectorEntity entity = read_native_file(o.native_path);
  if (!entity.model) throw ModelError(o.native_path + ": holds no fitted model");
  TableOptions topt = table_options(o.data);
  topt.model_features = entity.feature_names;  // only the model's columns are read (extra ones are ignored)
  const Dataset data = read_table(o.data.input, topt).data;
  const auto native = entity.model->score_samples(data.view());
  const auto native_labels = entity.model->labels_for(native);
  const OnnxScore ort = model.score(data.view(), o.batch_size);
  const ParityReport parity = parity_report(ort.scores, native, parity_floor(*entity.model));
  const double max_abs = parity.max_abs, max_rel = parity.max_rel;
  std::size_t label_diff = 0, label_diff_near = 0;
  for (std::size_t i = 0; i < data.rows; ++i) {
    if (ort.labels[i] != native_labels[i]) {
      ++label_diff;
      // Disagreements right at the threshold are a rounding matter, not a model difference.
      label_diff_near += std::fabs(static_cast<double>(native[i]) - entity.model->threshold()) <=
                         o.tolerance * std::max(static_cast<double>(std::fabs(native[i])), parity.floor);
    }
  }
  // Two different algorithms can never match: say so instead of a bare MISMATCH.
  const std::string& onnx_algo = model.metadata().algorithm;
  const std::string other_algo = onnx_algo.empty() || onnx_algo == entity.algorithm ? "" :
      "different algorithms: the ONNX model is " + onnx_algo + ", the native model is " + entity.algorithm;
  const bool ok = max_rel <= o.tolerance && label_diff == label_diff_near && other_algo.empty();
  if (o.json_out) {
    std::cout << json{{"n_rows", data.rows}, {"max_abs_diff", max_abs}, {"max_rel_diff", max_rel}, {"parity_floor", parity.floor}, {"worst_row", parity.worst_row + 1},
                      {"label_disagreements", label_diff}, {"label_disagreements_at_threshold", label_diff_near},
                      {"tolerance", o.tolerance}, {"onnx_algorithm", onnx_algo}, {"native_algorithm", entity.algorithm},
                      {"ok", ok}}.dump()
              << "\n";
  } else {
    std::cout << "rows:                 " << data.rows << "\nmax |ORT - native|:   " << max_abs
              << "\nmax relative diff:    " << max_rel << " (|diff| / max(|native|, " << parity.floor << "), tolerance "
              << o.tolerance << ", worst row " << parity.worst_row + 1 << ")"
              << "\nlabel disagreements:  " << label_diff << " (" << label_diff_near << " within tolerance of the threshold)"
              << "\nverdict:              " << (ok ? "match" : "MISMATCH") << (other_algo.empty() ? "" : " (" + other_algo + ")")
              << "\n";
  }
  if (!ok)
    throw ModelError("verify: " + o.onnx_path + " does not match " + o.native_path +
                     (other_algo.empty() ? "" : " (" + other_algo + ")"));
}

}  // namespace

void add_detect_commands(CLI::App& app) {
  auto o = std::make_shared<DetectOptions>();
  auto* detect = app.add_subcommand("detect", "Fit a detector on a CSV and score the same rows");
  detect->add_option("--algorithm,-a", o->algorithm, "Algorithm (see `nomaly algorithms`)")->capture_default_str();
  add_data_options(detect, o->data, true);
  detect->add_option("--contamination", o->contamination, "\"auto\" or a share in (0, 0.5]");
  detect->add_option("--param,-p", o->params, "Detector parameter key=value (repeatable)");
  detect->add_option("--scores-out", o->scores_out,
                     "Write [id,]score,label CSV here ('-' = stdout; input order; label = predicted, 1 where score > "
                     "threshold)");
  detect->add_option("--onnx-out", o->onnx_out, "Export the fitted detector as ONNX here");
  detect->add_flag("--json", o->json_out, "Print one JSON object (with the parameters used)");
  detect->callback([o] { run_detect(*o); });

  auto algos_json = std::make_shared<bool>(false);
  auto* algos = app.add_subcommand("algorithms", "List detectors, their parameters and ONNX support");
  algos->add_flag("--json", *algos_json, "Print JSON");
  algos->callback([algos_json] { run_algorithms(*algos_json); });

  auto inspect_path = std::make_shared<std::string>();
  auto inspect_json = std::make_shared<bool>(false);
  auto* inspect = app.add_subcommand("inspect", "Print an ONNX model's IR, opsets, I/O, node counts and metadata");
  inspect->add_option("model", *inspect_path, "ONNX file")->required();
  inspect->add_flag("--json", *inspect_json, "Print one JSON object");
  inspect->callback([inspect_path, inspect_json] {
    if (*inspect_json) std::cout << inspect_json_of(inspect_onnx(*inspect_path)).dump(2) << "\n";
    else std::cout << describe_onnx(*inspect_path);
  });

  auto v = std::make_shared<VerifyOptions>();
  auto* verify = app.add_subcommand("verify", "Check that an ONNX model scores like the native model, row by row");
  verify->add_option("model", v->onnx_path, "ONNX file")->required();
  add_data_options(verify, v->data, false);
  verify->add_option("--native", v->native_path, "Native .nomaly file of the same detector")->required();
  verify->add_option("--tolerance", v->tolerance, "Max |ORT - native| / max(|native|, floor), floor = 1e-3 x the spread (max - min) of the native "
                  "scores of the model's reference rows (docs/onnx-contract.md)")->capture_default_str();
  verify->add_flag("--json", v->json_out, "Print one JSON object");
  verify->add_option("--batch-size", v->batch_size, "Rows per ONNX Runtime run (0 = the model's own chunking)")->check(non_negative_int("all rows"));
  verify->callback([v] { run_verify(*v); });

  add_quickstart_command(app);
}

}  // namespace nomaly::cli
