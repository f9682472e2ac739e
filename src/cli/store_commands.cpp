// train, save, load, export, list, delete, score: the model store from the command line (issue 4 §7).
// The store is --store DIR, default $NOMALY_STORE or ./nomaly-store. Detector records live in the store
// (StoreDetectorRepository), so each command may run in a new process.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "nomaly/columns.hpp"
#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/metrics.hpp"
#include "nomaly/persistence/service.hpp"
#include "nomaly/registry.hpp"
#include "nomaly/table.hpp"

namespace nomaly::cli {

namespace {

namespace fs = std::filesystem;


std::string default_store() {
  const char* env = std::getenv("NOMALY_STORE");
  return env && *env ? env : "./nomaly-store";
}

struct Store {
  std::shared_ptr<StoreDetectorRepository> repo;
  std::unique_ptr<ModelPersistenceService> service;
  explicit Store(const std::string& root)
      : repo(std::make_shared<StoreDetectorRepository>(root)),
        service(std::make_unique<ModelPersistenceService>(repo, root)) {}
};

/// The store of a command that reads a saved detector: a missing (often mistyped) --store is named as such,
/// instead of the library's "No saved model found for detector X".
Store existing_store(const std::string& root, const std::string& id) {
  if (!fs::is_directory(root))
    throw NoSavedModel("No saved model found for detector " + id + ": the model store " + root +
                       " does not exist (check --store or $NOMALY_STORE)");
  return Store(root);
}

/// What train found under its --id before fitting: a description ("" when the id is free) and whether the
/// replaced model had a model.onnx, which train then saves again so a server with --format onnx keeps the id.
struct Replaced {
  std::string what;
  bool had_onnx = false;
};

/// train --id X over an id that already holds a model: refused without --overwrite (before fitting), else
/// described so the caller can say what it replaced.
Replaced check_train_id(const std::string& root, const std::string& id, bool overwrite) {
  if (id.empty() || !fs::is_directory(root)) return {};
  Store s(root);
  Replaced r;
  try {
    if (const auto meta = s.service->saved_metadata(id)) {
      r.what = describe_saved_model(*meta);
      r.had_onnx = meta->contains("files") && (*meta)["files"].is_object() && (*meta)["files"].contains("model.onnx");
    } else if (const auto e = s.repo->find(id)) {
      r.what = "algorithm " + e->algorithm + ", trained_at " + e->trained_at + ", not saved";
    }
  } catch (const ModelError& ex) {
    r.what = std::string("damaged: ") + ex.what();
  }
  if (!r.what.empty() && !overwrite)
    throw RefusedOverwrite("detector id " + id + " already holds a model (" + r.what +
                           "); nothing was changed. Choose another --id, or pass --overwrite to replace it");
  return r;
}

/// The end of train: save (replacing only with --overwrite) and print the id, or one JSON object.
void finish_train(const std::string& root, const DetectorEntity& e, const Replaced& replaced, bool overwrite,
                  bool as_json) {
  Store s(root);
  s.repo->save(e);
  SaveOptions so;
  so.overwrite = overwrite;
  const fs::path file = s.service->save_model(e.id, Format::Native, json::object(), so);
  if (!replaced.what.empty()) std::cerr << "train: replaced detector " << e.id << " (" << replaced.what << ")\n";
  // The native save removed the replaced fit's model.onnx; a server with --format onnx would answer 404 until
  // the next `save --format onnx`, so the new fit gets its ONNX file too. A failure keeps the native save.
  fs::path onnx_file;
  std::string onnx_error;
  if (replaced.had_onnx) {
    try {
      onnx_file = s.service->save_model(e.id, Format::Onnx, json::object(), so);
      std::cerr << "train: saved model.onnx too (the replaced model had one)\n";
    } catch (const Error& ex) {
      onnx_error = ex.what();
      std::cerr << "warning: train: the replaced model had a model.onnx; saving the new one failed, only model.nomaly "
                   "is saved: " << ex.what() << "\n";
    }
  }
  if (!as_json) {
    std::cout << e.id << "\n";
    return;
  }
  json out{{"id", e.id}, {"name", e.name}, {"algorithm", e.algorithm}, {"parameters", e.parameters},
           {"threshold", e.model->threshold()}, {"n_features", e.model->n_features()}, {"feature_names", e.feature_names},
           {"model_file", file.string()}, {"store", root}};
  if (!onnx_file.empty()) out["onnx_file"] = onnx_file.string();
  if (!onnx_error.empty()) out["onnx_error"] = onnx_error;
  if (!replaced.what.empty()) out["replaced"] = replaced.what;
  if (e.metadata.is_object() && e.metadata.contains("training_metrics")) out["training_metrics"] = e.metadata["training_metrics"];
  std::cout << out.dump(2) << "\n";
}

// ---- train ---------------------------------------------------------------------------------------------
struct TrainOptions {
  std::string store = default_store(), algorithm, contamination, name, id;
  DataOptions data;
  std::vector<std::string> params;
  bool overwrite = false, json_out = false;
};

void run_train(const TrainOptions& o, bool id_given) {
  // An explicit --id (even "") must be valid; only an absent --id means "make a UUID". Checked before fitting.
  if (id_given && o.id.empty())
    throw ParameterError("--id is empty: give a detector id (1-64 characters of [A-Za-z0-9_.-], not starting with '.', without '..'; or a UUID v4), or omit --id for a new UUID");
  if (id_given) validate_detector_id(o.id);
  // The store is an output: a path that cannot become a folder fails before the fit, not after it.
  if (fs::exists(o.store) && !fs::is_directory(o.store))
    throw IoError("--store '" + o.store + "' is a file, not a model store folder; nothing was fitted");
  const Replaced replaced = check_train_id(o.store, o.id, o.overwrite);
  const Table table = read_table(o.data.input, table_options(o.data));
  const Dataset& data = table.data;
  // stdout carries only the id (scripts capture it); the columns used go to stderr.
  if (verbosity() != Verbosity::Quiet) std::cerr << "train: " << describe_columns(table) << "\n";
  json params = parse_param_list(o.params);
  if (!o.contamination.empty()) params["contamination"] = parse_param_assignment("contamination=" + o.contamination).second;
  std::shared_ptr<Detector> det = create_detector(o.algorithm, params);
  attach_progress(*det);
  fit_with_progress(*det, data.view());
  DetectorEntity e = DetectorEntity::make(det, o.name, o.id);
  e.feature_names = data.feature_names;
  if (data.labels) {
    const auto& y = *data.labels;
    const bool both = std::count(y.begin(), y.end(), 1) > 0 && std::count(y.begin(), y.end(), 0) > 0;
    // Isolation Forest with contamination "auto" skips scoring the training set during fit.
    const std::vector<float> train_scores =
        det->training_scores().empty() ? det->score_samples(data.view()) : det->training_scores();
    if (both)
      e.metadata["training_metrics"] = {{"roc_auc", roc_auc(train_scores, y)},
                                        {"average_precision", average_precision(train_scores, y)}};
    // The label was read: say how the fit ranks the training rows, as `detect` does (stderr: stdout is the id).
    if (both && verbosity() != Verbosity::Quiet)
      std::cerr << "train: training ROC-AUC " << e.metadata["training_metrics"]["roc_auc"].get<double>()
                << ", average precision " << e.metadata["training_metrics"]["average_precision"].get<double>() << "\n";
  }
  finish_train(o.store, e, replaced, o.overwrite, o.json_out);
}

// ---- load: load, score the detector's reference rows, compare with the native model -----------------------
void run_load(const std::string& store, const std::string& id, const std::string& format, bool as_json) {
  Store s = existing_store(store, id);
  const Format f = parse_format(format);
  const auto t0 = std::chrono::steady_clock::now();
  const std::shared_ptr<Scorer> scorer = s.service->load_model(id, f);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Everything that can fail (the store record, the check batch) runs before anything is printed.
  const auto entity = s.repo->find(id);
  std::ostringstream check;
  json check_json;
  if (entity && entity->model && entity->model->is_fitted() && !entity->model->reference_rows().empty()) {
    const Detector& det = *entity->model;
    const auto& ref = det.reference_rows();
    const MatrixView X{ref.data(), ref.size() / det.n_features(), det.n_features()};
    const ScoreResult r = scorer->score(X);
    const std::vector<float> native = det.score_samples(X);
    const ParityReport p = parity_report(r.scores, native, parity_floor(native));
    const double max_diff = p.max_abs, max_rel = p.max_rel;
    std::size_t anomalies = 0;
    for (const auto l : r.labels) anomalies += static_cast<std::size_t>(l);
    // The rule `verify` applies (nomaly/onnx/parity.hpp; the check rows are the reference rows, so their native
    // scores give the floor): a loaded model that scores differently from the fit it claims to be is an error.
    if (!p.ok())
      throw ModelError("load " + id + " (" + format + "): the check batch of " + std::to_string(X.rows) +
                       " reference rows differs from the native detector (max |diff| / max(|native|, floor " +
                       std::to_string(p.floor) + ") = " + std::to_string(max_rel) + ", tolerance 1e-05); run `nomaly verify` on the saved files");
    check_json = {{"rows", X.rows}, {"anomalies", anomalies}, {"max_abs_diff", max_diff}, {"max_rel_diff", max_rel}};
    check << "  check batch  " << X.rows << " reference rows, " << anomalies << " anomalies, max |diff| vs native "
          << max_diff << "\n";
  }
  const ModelInfo& i = scorer->info();
  if (as_json) {
    std::cout << json{{"id", i.detector_id}, {"name", i.name}, {"algorithm", i.algorithm}, {"format", i.format},
                      {"stub", i.stub}, {"parameters", i.parameters}, {"threshold", i.threshold},
                      {"n_features", i.n_features}, {"feature_names", i.feature_names}, {"load_seconds", load_s},
                      {"check_batch", check_json}}.dump(2)
              << "\n";
    return;
  }
  std::cout << "loaded " << i.detector_id << " (" << i.name << ")\n"
            << "  algorithm    " << i.algorithm << "\n"
            << "  format       " << i.format << (i.stub ? " (stub: served by the native model)" : "") << "\n"
            << "  parameters   " << i.parameters.dump() << "\n"
            << "  threshold    " << i.threshold << "\n"
            << "  n_features   " << i.n_features << "\n"
            << "  load time    " << load_s << " s\n"
            << check.str();
}

// ---- score -------------------------------------------------------------------------------------------------
struct ScoreOptions {
  std::string store = default_store(), target, scores_out, format;
  DataOptions data;
  bool json_out = false, positional = false;
  std::size_t batch_size = 0;
  int threads = 0;
};

void run_score(const ScoreOptions& o) {
  check_outputs({{"--scores-out", o.scores_out}}, {o.data.input, o.target});
  OnnxOptions ox;
  ox.intra_op_threads = o.threads;
  ox.batch_size = o.batch_size;
  std::shared_ptr<Scorer> scorer;
  const auto t_load = std::chrono::steady_clock::now();
  const fs::path stored = fs::path(o.store) / o.target;
  if (is_valid_detector_id(o.target) && (fs::is_directory(stored) || !fs::exists(o.target))) {
    Store s = existing_store(o.store, o.target);
    Format f = Format::Native;
    if (!o.format.empty()) {
      f = parse_format(o.format);
    } else {
      // Only this id's metadata is read: a damaged unrelated entry must not warn on every call.
      const auto meta = s.service->saved_metadata(o.target);
      if (meta && meta->value("model_file", std::string()) == "model.onnx") f = Format::Onnx;
    }
    scorer = s.service->load_model(o.target, f, ox);
  } else {
    scorer = open_model_path(o.target, ox);
  }
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  // Only the model's feature columns (and the label) are read; extra id/text/timestamp columns are ignored.
  TableOptions topt = table_options(o.data);
  topt.model_features = scorer->info().feature_names;
  topt.positional = o.positional;
  topt.allow_empty = true;  // a header-only file scores to an empty result
  const Table table = read_table(o.data.input, topt);
  const Dataset& data = table.data;
  const auto t0 = std::chrono::steady_clock::now();
  ProgressLine progress("scoring " + std::to_string(data.rows) + " rows with " + scorer->info().algorithm);
  const ScoreResult r = data.rows ? scorer->score(data.view(), o.batch_size) : ScoreResult{};
  progress.stop();
  const double secs = data.rows ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() : 0.0;
  if (!o.scores_out.empty()) write_scores_csv(o.scores_out, r.scores, r.labels, table.ids, o.data.id_column);
  RunReport rep = make_report(data, r.scores, r.labels, scorer->info().threshold);
  rep.algorithm = scorer->info().algorithm;
  rep.load_seconds = load_s;
  rep.score_seconds = secs;
  if (!table.label_column.empty()) rep.extra["label_column"] = table.label_column;
  if (!table.label_note.empty()) rep.extra["label_note"] = table.label_note;
  if (!table.unused_columns.empty()) rep.extra["ignored_columns"] = table.unused_columns;
  rep.extra["model"] = o.target;
  rep.extra["format"] = scorer->info().format;
  if (scorer->info().stub) rep.extra["stub"] = true;
  if (!scorer->info().detector_id.empty()) rep.extra["detector_id"] = scorer->info().detector_id;
  print_report(rep, o.json_out, o.scores_out == "-" ? std::cerr : std::cout);
}

void add_store_option(CLI::App* cmd, std::string& store) {
  cmd->add_option("--store", store, "Model store directory (default $NOMALY_STORE or ./nomaly-store)");
}

}  // namespace

/// A whole number >= 0. CLI11 would otherwise wrap "-3" into a huge size_t; 0 keeps its meaning (`zero`).
CLI::Validator non_negative_int(const std::string& zero) {
  return CLI::Validator(
      [zero](std::string& v) -> std::string {
        long long n = 0;
        std::size_t used = 0;
        try {
          n = std::stoll(v, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != v.size() || v.empty() || n < 0) return "must be a whole number >= 0 (0 = " + zero + "), got '" + v + "'";
        return "";
      },
      "INT>=0");
}

void add_store_commands(CLI::App& app) {
  // train
  {
    auto o = std::make_shared<TrainOptions>();
    auto* c = app.add_subcommand("train", "Fit a detector on a CSV, register it in the store, save it (native); prints the id");
    add_store_option(c, o->store);
    c->add_option("--algorithm,-a", o->algorithm, "Algorithm (see `nomaly algorithms`)")->required();
    add_data_options(c, o->data, true);
    c->add_option("--param,-p", o->params, "Parameter key=value (repeatable)");
    c->add_option("--contamination", o->contamination, "\"auto\" or a number in (0, 0.5]");
    c->add_option("--name", o->name, "Detector name (default: the algorithm)");
    auto* idopt = c->add_option("--id", o->id, "Detector id: 1-64 characters of [A-Za-z0-9_.-], not starting with '.', without '..' (default: a new UUID v4)");
    c->add_flag("--overwrite", o->overwrite, "Replace the model already saved under --id (refused otherwise)");
    c->add_flag("--json", o->json_out, "Print one JSON object (id, algorithm, parameters, features, model file)");
    c->callback([o, idopt] {
      run_train(*o, idopt->count() > 0);
    });
  }
  // save
  {
    auto store = std::make_shared<std::string>(default_store());
    auto id = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("native");
    auto strict = std::make_shared<bool>(false);
    auto meta = std::make_shared<std::vector<std::string>>();
    auto* c = app.add_subcommand("save", "Save a registered detector as native or ONNX; prints the model file");
    add_store_option(c, *store);
    c->add_option("id", *id, "Detector id")->required();
    c->add_option("--format,-f", *format, "native | onnx")->capture_default_str();
    c->add_flag("--strict-onnx", *strict, "Fail (OnnxExportError) instead of writing a stub when there is no ONNX converter");
    c->add_option("--meta", *meta, "Extra metadata key=value (repeatable)");
    c->callback([=] {
      Store s = existing_store(*store, *id);
      SaveOptions so;
      so.strict_onnx = *strict;
      std::cout << s.service->save_model(*id, *format, parse_param_list(*meta), so).string() << "\n";
    });
  }
  // load
  {
    auto store = std::make_shared<std::string>(default_store());
    auto id = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("native");
    auto as_json = std::make_shared<bool>(false);
    auto* c = app.add_subcommand("load", "Load a saved model, score a check batch and print a summary");
    add_store_option(c, *store);
    c->add_option("id", *id, "Detector id")->required();
    c->add_option("--format,-f", *format, "native | onnx")->capture_default_str();
    c->add_flag("--json", *as_json, "Print one JSON object");
    c->callback([=] {
      run_load(*store, *id, *format, *as_json);
    });
  }
  // export
  {
    auto store = std::make_shared<std::string>(default_store());
    auto id = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    auto eo = std::make_shared<ExportOptions>();
    auto as_json = std::make_shared<bool>(false);
    auto* c = app.add_subcommand("export", "Write a deployment bundle (ONNX, config, deploy scripts, golden vectors)");
    add_store_option(c, *store);
    c->add_option("id", *id, "Detector id")->required();
    c->add_option("dir", *dir, "Export directory")->required();
    c->add_flag("--triton", eo->triton, "Also write a Triton model repository under triton/<name>/");
    c->add_option("--triton-name", eo->triton_name, "Triton model name (default: the detector id)");
    c->add_option("--version", eo->triton_version, "Triton model version folder (default 1)");
    c->add_flag("--force", eo->force,
                "Write into a folder holding files nomaly did not write; they are kept, only nomaly's own files are replaced");
    c->add_flag("--json", *as_json, "Print one JSON object");
    c->callback([=] {
      Store s = existing_store(*store, *id);
      const auto files = s.service->export_model(*id, *dir, *eo);
      if (*as_json) {
        json f = json::array();
        for (const auto& [rel, path] : files) f.push_back(rel);
        std::cout << json{{"id", *id}, {"dir", *dir}, {"files", f}}.dump(2) << "\n";
        return;
      }
      std::cout << "exported " << *id << " to " << *dir << "\n";
      for (const auto& [rel, path] : files) std::cout << "  " << rel << "\n";
    });
  }
  // list
  {
    auto store = std::make_shared<std::string>(default_store());
    auto as_json = std::make_shared<bool>(false);
    auto* c = app.add_subcommand("list", "List saved models");
    add_store_option(c, *store);
    c->add_flag("--json", *as_json, "Print one JSON object: id -> metadata");
    c->callback([=] {
      // A missing (mistyped) store is not "no saved models": say it does not exist.
      if (!fs::is_directory(*store)) spdlog::warn("the model store {} does not exist (check --store or $NOMALY_STORE)", *store);
      Store s(*store);
      const auto models = s.service->list_saved_models();
      if (*as_json) {
        json out = json::object();
        for (const auto& [id, m] : models) out[id] = m;
        std::cout << out.dump(2) << "\n";
        return;
      }
      std::printf("%-38s %-20s %-10s %-7s %-5s %s\n", "ID", "NAME", "ALGORITHM", "FORMAT", "STUB", "SAVED AT");
      for (const auto& [id, m] : models)
        std::printf("%-38s %-20s %-10s %-7s %-5s %s\n", id.c_str(), m.value("detector_name", std::string()).c_str(),
                    m.value("algorithm", std::string()).c_str(), m.value("format", std::string()).c_str(),
                    m.value("stub", false) ? "yes" : "no", m.value("saved_at", std::string()).c_str());
      if (models.empty()) std::cout << "(no saved models in " << *store << ")\n";
    });
  }
  // delete
  {
    auto store = std::make_shared<std::string>(default_store());
    auto id = std::make_shared<std::string>();
    auto* c = app.add_subcommand("delete", "Delete a detector's saved models and its store record");
    add_store_option(c, *store);
    c->add_option("id", *id, "Detector id")->required();
    c->callback([=] {
      Store s = existing_store(*store, *id);
      const bool files = s.service->delete_model(*id);
      const bool record = s.repo->remove(*id);
      if (!files && !record) throw DetectorNotFound("Detector " + *id + " not found");
      std::cout << "deleted " << *id << "\n";
    });
  }
  // score
  {
    auto o = std::make_shared<ScoreOptions>();
    auto* c = app.add_subcommand("score", "Score a CSV with a stored id, a .onnx / .nomaly file, or an export directory");
    add_store_option(c, o->store);
    c->add_option("model", o->target, "Detector id, model file, or export directory")->required();
    add_data_options(c, o->data, false);
    c->add_option("--format,-f", o->format, "For a stored id: native | onnx (default: the last saved format)");
    c->add_option("--scores-out", o->scores_out,
                  "Write [id,]score,label CSV here ('-' = stdout; label = predicted, 1 where score > threshold)");
    c->add_flag("--json", o->json_out, "Print one JSON object");
    c->add_option("--batch-size", o->batch_size, "Rows per ONNX Runtime run (0 = all)")->check(non_negative_int("all rows"));
    c->add_option("--threads", o->threads, "ONNX Runtime intra-op threads (0 = all cores)")->check(non_negative_int("all cores"));
    c->add_flag("--positional", o->positional,
                "Score the CSV's columns in order when none of its header names match the model's features "
                "(it must have exactly the model's width)");
    c->callback([o] {
      run_score(*o);
    });
  }
}

}  // namespace nomaly::cli
