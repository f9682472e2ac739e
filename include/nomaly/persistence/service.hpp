// ModelPersistenceService: save, load, export, list and delete fitted detectors (issue 4), in the
// native format (native_format.hpp) and as ONNX (onnx/export.hpp), in a store laid out as
//
//   <root>/<id>/model.nomaly      native envelope (Format::Native, and beside an ONNX stub)
//   <root>/<id>/model.onnx        real ONNX, or a JSON stub for detectors without a converter
//   <root>/<id>/metadata.json     written last; see save_model
//
// Safety: every file is written to a temp file in the same directory, fsynced, renamed and the
// directory fsynced; metadata.json is renamed last. Saves to one id are serialised by an in-process
// mutex and an advisory flock(2) on the detector directory (cross-process); loads take a shared flock.
// A save killed at any point leaves the previous model loadable: a kill between the model's rename and
// metadata.json's rename is rolled forward on load from the fully written `.metadata.json.pending`.
// Leftover temp files are removed by the next save. Errors never leave an empty directory behind.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "nomaly/params.hpp"
#include "nomaly/persistence/entity.hpp"
#include "nomaly/persistence/repository.hpp"
#include "nomaly/persistence/scorer.hpp"

namespace nomaly {

enum class Format { Native, Onnx };

/// "native" / "onnx".
std::string format_name(Format format);
/// Parses "native" / "onnx" (case-insensitive). Throws UnknownFormat("Unknown format '...'; expected native or onnx").
Format parse_format(const std::string& name);

struct SaveOptions {
  /// ONNX save of a detector without a converter throws OnnxExportError instead of writing a stub.
  bool strict_onnx = false;
  /// Replace a different fit already saved under this id (another algorithm, other data). When false, such a
  /// save throws RefusedOverwrite naming the saved model (algorithm, saved_at, fit) and writes nothing.
  /// Saving the same fit again (e.g. native, then ONNX) never needs it. The default (true) keeps Pynomaly's
  /// save_model(detector_id) semantics, where a refitted detector is saved again under its id; `nomaly train`
  /// passes false unless --overwrite, so the CLI never replaces a model the user did not name.
  bool overwrite = true;
};

struct ExportOptions {
  /// Also write a Triton model repository: triton/<name>/config.pbtxt and triton/<name>/<version>/model.onnx.
  bool triton = false;
  /// Export into a folder that holds files nomaly did not write (or changed since): they are kept, only
  /// nomaly's own files (those listed in the previous bundle's SHA256SUMS) are replaced. A file of the user's
  /// at a bundle path is never replaced, even with force (RefusedOverwrite).
  bool force = false;
  /// Triton model name (default: the detector id) and version directory (>= 1).
  std::string triton_name{};
  int triton_version = 1;
};

/// One line naming a saved model from its metadata.json: "algorithm iforest, saved_at 2026-...Z, fit 1a2b3c4d5e6f"
/// (fit = the first 12 hex digits of fit_sha256). Used when a save or train refuses or replaces a model.
std::string describe_saved_model(const json& metadata);

/// Names of the stub format (content of a model.onnx written for detectors without an ONNX converter).
inline constexpr const char* kOnnxStubFormat = "nomaly-onnx-stub/1";

/// True when `bytes` are a nomaly ONNX stub (JSON with model_type "stub" and format kOnnxStubFormat).
/// Recognition is by content: a real ONNX protobuf never parses as such a JSON object.
bool is_onnx_stub(const std::string& bytes);

/// Opens a model for scoring from a path: a `.nomaly` native file, an ONNX file (real or stub, told
/// apart by content; a stub is served by its native file, checked against native_sha256), or an export
/// directory (its model.onnx, or model.nomaly for stub exports). Throws CorruptModel / OnnxModelError /
/// ModelError("... is not a nomaly model file or export directory").
std::shared_ptr<Scorer> open_model_path(const std::filesystem::path& path, const OnnxOptions& options = {});

class ModelPersistenceService {
 public:
  /// `storage_root` is created on first save.
  ModelPersistenceService(std::shared_ptr<DetectorRepository> repository, std::filesystem::path storage_root);

  /// Saves the detector's fitted model; returns the model file's path.
  /// Checks, in order: id syntax (InvalidDetectorId); unknown id -> DetectorNotFound("Detector {id} not
  /// found"); not fitted -> NotFitted("Detector {name} is not fitted"); an unknown format ->
  /// UnknownFormat; Format::Onnx with NOMALY_DEEP_LEARNING false -> FeatureDisabled (nothing written);
  /// a different fit saved under the id without options.overwrite -> RefusedOverwrite (nothing written).
  /// metadata.json: detector_id, detector_name, algorithm, saved_at (ISO-8601 UTC), format, is_fitted,
  /// parameters, contamination, threshold, n_features, feature_names, nomaly_version, sha256 and size of
  /// the model file, `files` (sha256/size of every model file of the directory), and for ONNX
  /// {opset, ir_version, stub}. `metadata` (an object) is merged in without overwriting those fields.
  /// ONNX for a detector without a converter: model.onnx is a JSON stub, model.nomaly is saved beside
  /// it, "stub": true, a warning is logged; with options.strict_onnx -> OnnxExportError instead.
  std::filesystem::path save_model(const std::string& detector_id, Format format = Format::Native,
                                   const json& metadata = json::object(), const SaveOptions& options = {});
  /// The same with the format by name (checked third, after the id and is_fitted).
  std::filesystem::path save_model(const std::string& detector_id, const std::string& format,
                                   const json& metadata = json::object(), const SaveOptions& options = {});

  /// Loads a saved model as a fitted scorer.
  /// No directory -> NoSavedModel("No saved model found for detector {id}"); no file of that format ->
  /// NoSavedModel("No saved model found for detector {id} in format {format}"). A checksum mismatch
  /// against metadata.json, truncation, wrong magic, a newer version -> CorruptModel naming file and reason.
  /// Format::Onnx on a stub returns the fitted native detector (info().stub = true).
  /// `onnx_options` (threads, batch size) apply to ONNX sessions.
  std::shared_ptr<Scorer> load_model(const std::string& detector_id, Format format = Format::Native,
                                     const OnnxOptions& onnx_options = {}) const;

  /// Writes a deployment bundle to `export_dir` and returns relative path -> absolute path for every file:
  /// model.onnx, model.json, config.json, requirements.txt, deploy.py, deploy.mjs, golden/input.csv,
  /// golden/expected.csv, SHA256SUMS, README.md (+ model.nomaly for stubs; + triton/<name>/config.pbtxt,
  /// triton/<name>/1/model.onnx with options.triton). The bundle is built in a sibling temp directory and
  /// renamed into place; an existing earlier nomaly export at `export_dir` is replaced, any other non-empty
  /// directory is refused (ModelError). Golden scores are the native scores of the reference rows; the
  /// export checks that ONNX Runtime reproduces them within 1e-5 relative (OnnxExportError otherwise).
  /// DetectorNotFound / NotFitted as save_model; FeatureDisabled when NOMALY_DEEP_LEARNING is false.
  std::map<std::string, std::filesystem::path> export_model(const std::string& detector_id,
                                                            const std::filesystem::path& export_dir,
                                                            const ExportOptions& options = {});

  /// id -> content of metadata.json for every saved model (directories without a readable
  /// metadata.json are skipped with a warning).
  std::map<std::string, json> list_saved_models() const;

  /// The content of <root>/<id>/metadata.json for one id, or nullopt when nothing is saved for it. Reads
  /// only that entry, so damaged unrelated entries are neither read nor reported. InvalidDetectorId;
  /// CorruptModel naming the file when the metadata is damaged.
  std::optional<json> saved_metadata(const std::string& detector_id) const;

  /// Removes <root>/<id> with everything in it; false when there was nothing saved.
  bool delete_model(const std::string& detector_id);

  const std::filesystem::path& storage_root() const { return root_; }
  DetectorRepository& repository() { return *repo_; }

  /// Test hook for fault injection: called with each final path just before its temp file is renamed
  /// over it (an exception thrown here aborts the save like a crash would). Empty by default.
  void set_before_rename_hook(std::function<void(const std::filesystem::path&)> hook) { before_rename_ = std::move(hook); }

 private:
  DetectorEntity fitted_entity(const std::string& id) const;
  std::shared_ptr<std::mutex> id_mutex(const std::string& id) const;
  std::filesystem::path save_entity(const DetectorEntity& e, Format format, const json& metadata, const SaveOptions& o);
  std::filesystem::path save_locked(const DetectorEntity& e, Format format, const json& metadata, const SaveOptions& o);

  std::shared_ptr<DetectorRepository> repo_;
  std::filesystem::path root_;
  mutable std::mutex map_mu_;
  mutable std::map<std::string, std::shared_ptr<std::mutex>> id_mutexes_;
  std::function<void(const std::filesystem::path&)> before_rename_;
};

}  // namespace nomaly
