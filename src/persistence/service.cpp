#include "nomaly/persistence/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "persistence/fs_util.hpp"
#include "persistence/store_internal.hpp"

namespace nomaly {

namespace fs = std::filesystem;
using namespace detail;

std::string format_name(Format format) {
  switch (format) {
    case Format::Native: return "native";
    case Format::Onnx: return "onnx";
  }
  throw UnknownFormat("Unknown format " + std::to_string(static_cast<int>(format)) + "; expected native or onnx");
}

Format parse_format(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "native") return Format::Native;
  if (n == "onnx") return Format::Onnx;
  throw UnknownFormat("Unknown format '" + name + "'; expected native or onnx");
}

bool is_onnx_stub(const std::string& bytes) { return parse_stub(bytes).has_value(); }

std::string describe_saved_model(const json& m) {
  auto str = [&](const char* k) { return m.is_object() && m.contains(k) && m[k].is_string() ? m[k].get<std::string>() : "?"; };
  return "algorithm " + str("algorithm") + ", saved_at " + str("saved_at") + ", fit " + str("fit_sha256").substr(0, 12);
}

namespace {

// Fields the service owns in metadata.json; caller metadata never overwrites them.
const std::set<std::string> kIntegrityFields = {
    "detector_id", "detector_name", "algorithm", "saved_at", "format", "is_fitted", "parameters", "contamination",
    "threshold", "n_features", "feature_names", "trained_at", "created_at", "nomaly_version", "sha256", "size",
    "model_file", "files", "save_id", "metadata_sha256", "opset", "opset_ml", "ir_version", "stub", "fit_sha256"};

std::string temp_name(const std::string& name, const std::string& save_id) { return "." + name + ".tmp-" + save_id; }

/// metadata.json (or the pending redo record), parsed and self-checked. CorruptModel naming the file.
json read_metadata(const fs::path& path) {
  json m = json::parse(read_file_bytes(path), nullptr, false);
  if (m.is_discarded() || !m.is_object()) throw CorruptModel(path.string() + ": not a JSON object (malformed metadata)");
  if (!m.contains("metadata_sha256") || !m["metadata_sha256"].is_string() ||
      m["metadata_sha256"].get<std::string>() != metadata_digest(m))
    throw CorruptModel(path.string() + ": checksum mismatch (metadata_sha256 does not match the content)");
  // A self-consistent but ill-typed record (found by fuzz/fuzz_metadata) must be CorruptModel, not a
  // json::type_error; save_id becomes part of temp file names, so it must not hold a path.
  auto bad = [&](const std::string& f) {
    return CorruptModel(path.string() + ": malformed metadata (field '" + f + "' has the wrong type or value)");
  };
  for (const char* f : {"sha256", "model_file", "format"})
    if (m.contains(f) && !m[f].is_string()) throw bad(f);
  if (m.contains("size") && !m["size"].is_number_unsigned()) throw bad("size");
  if (m.contains("save_id") && (!m["save_id"].is_string() || !is_valid_detector_id(m["save_id"].get<std::string>())))
    throw bad("save_id");
  if (m.contains("files")) {
    if (!m["files"].is_object()) throw bad("files");
    for (const auto& [name, info] : m["files"].items())
      if (!info.is_object() || (info.contains("sha256") && !info["sha256"].is_string()) ||
          (info.contains("size") && !info["size"].is_number_unsigned()))
        throw bad("files." + name);
  }
  return m;
}

bool is_model_file_name(const std::string& n) { return n == kNativeFile || n == kOnnxFile; }

/// Completes a save interrupted after its redo record (.metadata.json.pending) was written, or discards
/// a record that is incomplete. Caller holds the exclusive directory lock.
void recover_pending(const fs::path& dir) {
  const fs::path pending = dir / kPendingMetadata;
  if (!fs::exists(pending)) return;
  auto discard = [&] {
    std::error_code ec;
    fs::remove(pending, ec);
  };
  json p;
  try {
    p = read_metadata(pending);
  } catch (const Error&) {
    discard();  // killed while writing the record itself: nothing was published yet
    return;
  }
  const json& files = p.value("files", json::object());
  const std::string save_id = p.value("save_id", std::string());
  if (!files.is_object() || save_id.empty()) return discard();
  for (const auto& [name, info] : files.items()) {
    if (!is_model_file_name(name) || !info.is_object() || !info.contains("sha256")) return discard();
    const std::string want = info["sha256"].get<std::string>();
    const fs::path tmp = dir / temp_name(name, save_id);
    const fs::path fin = dir / name;
    if (fs::exists(tmp) && sha256_file_hex(tmp) == want) {
      rename_synced(tmp, fin);
    } else if (!(fs::exists(fin) && sha256_file_hex(fin) == want)) {
      spdlog::warn("{}: interrupted save cannot be completed ({} differs); keeping the previous metadata",
                   dir.string(), name);
      return discard();
    }
  }
  rename_synced(pending, dir / kMetadataFile);
  spdlog::info("{}: completed a save that was interrupted before metadata.json was renamed", dir.string());
}

bool dir_is_empty(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

}  // namespace

ModelPersistenceService::ModelPersistenceService(std::shared_ptr<DetectorRepository> repository, fs::path storage_root)
    : repo_(std::move(repository)), root_(std::move(storage_root)) {
  if (!repo_) throw ModelError("ModelPersistenceService: null repository");
}

std::shared_ptr<std::mutex> ModelPersistenceService::id_mutex(const std::string& id) const {
  std::lock_guard lock(map_mu_);
  auto& m = id_mutexes_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

DetectorEntity ModelPersistenceService::fitted_entity(const std::string& id) const {
  validate_detector_id(id);
  std::optional<DetectorEntity> e = repo_->find(id);
  if (!e) throw DetectorNotFound("Detector " + id + " not found");
  if (!e->is_fitted || !e->model || !e->model->is_fitted()) throw NotFitted("Detector " + e->name + " is not fitted");
  return *e;
}

fs::path ModelPersistenceService::save_model(const std::string& id, Format format, const json& metadata,
                                             const SaveOptions& options) {
  return save_entity(fitted_entity(id), format, metadata, options);
}

fs::path ModelPersistenceService::save_model(const std::string& id, const std::string& format, const json& metadata,
                                             const SaveOptions& options) {
  // The id and is_fitted are checked before the format name; the entity is read once (a damaged record
  // served from the saved model warns once).
  DetectorEntity e = fitted_entity(id);
  return save_entity(e, parse_format(format), metadata, options);
}

fs::path ModelPersistenceService::save_entity(const DetectorEntity& e, Format format, const json& metadata,
                                              const SaveOptions& options) {
  if (format != Format::Native && format != Format::Onnx) format_name(format);  // throws UnknownFormat
  if (format == Format::Onnx) require_onnx_allowed();
  if (!metadata.is_null() && !metadata.is_object()) throw ParameterError("save_model: metadata must be a JSON object");
  const auto mu = id_mutex(e.id);
  std::lock_guard lock(*mu);
  return save_locked(e, format, metadata, options);
}

fs::path ModelPersistenceService::save_locked(const DetectorEntity& e, Format format, const json& caller_meta,
                                              const SaveOptions& options) {
  // 1. Every byte is produced before the disk is touched, so export errors write nothing.
  std::map<std::string, std::string> out;
  OnnxArtifact art;
  // Identifies this fit: files saved from another fit (train onto an existing id) must not survive beside it.
  const std::string native_bytes = encode_native_entity(e);
  const std::string fit_sha256 = sha256_hex(native_bytes);
  if (format == Format::Native) {
    out[kNativeFile] = native_bytes;
  } else {
    art = make_onnx_artifact(e, options.strict_onnx);
    if (art.stub) {
      out[kNativeFile] = native_bytes;
      out[kOnnxFile] = make_stub_bytes(e, art.stub_reason, sha256_hex(out[kNativeFile]));
    } else {
      out[kOnnxFile] = std::move(art.bytes);
    }
  }
  const std::string model_name = format == Format::Native ? kNativeFile : kOnnxFile;

  // 2. Directory and lock. A concurrent delete may remove the directory while we wait: then retry.
  const fs::path dir = root_ / e.id;
  const bool created_root = !fs::exists(root_);
  bool created_dir = false;
  fs::create_directories(root_);
  std::optional<DirLock> lock;
  for (int attempt = 0; attempt < 100 && !(lock && lock->locked()); ++attempt) {
    lock.reset();
    created_dir = fs::create_directory(dir) || created_dir;
    lock.emplace(dir, DirLock::Mode::Exclusive);
  }
  if (!lock->locked()) throw ModelError("cannot lock " + dir.string());

  const std::string save_id = new_uuid_v4();
  bool published = false;
  try {
    recover_pending(dir);
    remove_temp_files(dir);

    json prev_files = json::object(), prev = json::object();
    bool same_fit = false;
    if (fs::exists(dir / kMetadataFile)) {
      try {
        prev = read_metadata(dir / kMetadataFile);
        prev_files = prev.value("files", json::object());
        // Stores written before fit_sha256 existed: the same fit has the same algorithm and training time.
        same_fit = prev.contains("fit_sha256") ? prev.value("fit_sha256", std::string()) == fit_sha256
                                               : prev.value("algorithm", std::string()) == e.algorithm &&
                                                     prev.value("trained_at", std::string()) == e.trained_at;
      } catch (const Error& ex) {
        spdlog::warn("{}: ignoring damaged previous metadata: {}", dir.string(), ex.what());
      }
    }
    json stale = json::object();  // the replaced fit's files, removed once the new metadata is published
    if (!same_fit && prev_files.is_object() && !prev_files.empty()) {
      if (!options.overwrite)
        throw RefusedOverwrite("detector id " + e.id + " already holds another model (" + describe_saved_model(prev) +
                               "); nothing was changed. Choose another id, or pass --overwrite (SaveOptions::overwrite)");
      spdlog::info("{}: a different fit replaces the saved one; its other files are removed", dir.string());
      stale = prev_files;
      prev_files = json::object();
    }
    // A native save keeps an existing stub of the same fit valid by pointing it at the new native file.
    if (format == Format::Native && same_fit && fs::exists(dir / kOnnxFile)) {
      if (auto stub = parse_stub(read_file_bytes(dir / kOnnxFile)))
        out[kOnnxFile] = make_stub_bytes(e, (*stub)["message"].is_string() ? (*stub)["message"].get<std::string>() : "stub",
                                         sha256_hex(out[kNativeFile]));
    }

    json files = json::object();
    for (const auto& [name, info] : prev_files.items()) {
      if (out.count(name) || !is_model_file_name(name) || !info.is_object() || !fs::exists(dir / name)) continue;
      if (info.value("sha256", std::string()) == sha256_file_hex(dir / name)) files[name] = info;
    }
    for (const auto& [name, bytes] : out) {
      json f{{"sha256", sha256_hex(bytes)}, {"size", bytes.size()}};
      f["format"] = name == kNativeFile ? "native" : "onnx";
      if (name == kOnnxFile) f["stub"] = parse_stub(bytes).has_value();
      files[name] = f;
    }

    json meta = json::object();
    if (caller_meta.is_object()) {
      for (const auto& [k, v] : caller_meta.items()) {
        if (!kIntegrityFields.count(k)) meta[k] = v;
        else spdlog::warn("save_model: caller metadata field '{}' is reserved and was ignored", k);
      }
    }
    const float thr = e.model->threshold();
    meta["detector_id"] = e.id;
    meta["detector_name"] = e.name;
    meta["algorithm"] = e.algorithm;
    meta["saved_at"] = utc_now_iso8601();
    meta["format"] = format_name(format);
    meta["is_fitted"] = true;
    meta["parameters"] = e.parameters;
    meta["contamination"] = e.contamination;
    meta["threshold"] = static_cast<double>(thr);
    meta["n_features"] = e.model->n_features();
    meta["feature_names"] = e.feature_names;
    meta["trained_at"] = e.trained_at;
    meta["created_at"] = e.created_at;
    meta["nomaly_version"] = NOMALY_VERSION;
    meta["model_file"] = model_name;
    meta["sha256"] = files[model_name]["sha256"];
    meta["size"] = files[model_name]["size"];
    meta["files"] = files;
    meta["save_id"] = save_id;
    meta["fit_sha256"] = fit_sha256;
    if (format == Format::Onnx) {
      meta["stub"] = art.stub;
      meta["opset"] = art.stub ? json(nullptr) : json(art.opset);
      meta["opset_ml"] = art.stub ? json(nullptr) : json(art.opset_ml);
      meta["ir_version"] = art.stub ? json(nullptr) : json(art.ir_version);
    }
    meta["metadata_sha256"] = metadata_digest(meta);

    // 3. Temp files, then the redo record: once it exists, every temp file is complete.
    for (const auto& [name, bytes] : out) write_synced(dir / temp_name(name, save_id), bytes);
    write_synced(dir / kPendingMetadata, meta.dump(2) + "\n");
    fsync_dir(dir);

    // 4. Publish: the native file first (a stub points to it), then model.onnx, then metadata.json.
    for (const auto& [name, bytes] : out) {
      if (before_rename_) before_rename_(dir / name);
      rename_synced(dir / temp_name(name, save_id), dir / name);
      published = true;
    }
    if (before_rename_) before_rename_(dir / kMetadataFile);
    rename_synced(dir / kPendingMetadata, dir / kMetadataFile);
    // The replaced fit's other files go (load_model already refuses files metadata.json does not list).
    for (const auto& [name, info] : stale.items()) {
      std::error_code ec;
      if (!out.count(name) && is_model_file_name(name)) fs::remove(dir / name, ec);
    }
  } catch (...) {
    std::error_code ec;
    if (!published) {
      // Nothing was renamed: the previous save stands untouched.
      fs::remove(dir / kPendingMetadata, ec);
      remove_temp_files(dir);
    }  // else the redo record stays: the next load or save completes this save.
    if (created_dir && dir_is_empty(dir)) fs::remove(dir, ec);
    lock.reset();
    if (created_root && dir_is_empty(root_)) fs::remove(root_, ec);
    throw;
  }
  return dir / model_name;
}

std::shared_ptr<Scorer> ModelPersistenceService::load_model(const std::string& id, Format format,
                                                            const OnnxOptions& onnx_options) const {
  validate_detector_id(id);
  const std::string fmt = format_name(format);
  const fs::path dir = root_ / id;
  const std::string none = "No saved model found for detector " + id;
  if (!fs::is_directory(dir)) throw NoSavedModel(none);
  std::optional<DirLock> lock;
  lock.emplace(dir, DirLock::Mode::Shared);
  if (!lock->locked()) throw NoSavedModel(none);
  if (fs::exists(dir / kPendingMetadata)) {
    lock.reset();
    lock.emplace(dir, DirLock::Mode::Exclusive);
    if (!lock->locked()) throw NoSavedModel(none);
    recover_pending(dir);
  }
  if (!fs::exists(dir / kMetadataFile)) throw NoSavedModel(none);
  const json meta = read_metadata(dir / kMetadataFile);
  const std::string name = format == Format::Native ? kNativeFile : kOnnxFile;
  const fs::path path = dir / name;
  if (!fs::exists(path)) throw NoSavedModel(none + " in format " + fmt);
  // A symlink could point outside the store (issue 8 §3): the store only loads files it wrote itself.
  for (const fs::path& p : {dir, dir / kMetadataFile, path})
    if (fs::is_symlink(p)) throw CorruptModel(p.string() + ": is a symbolic link; the model store loads only regular files");
  const std::string bytes = read_file_bytes(path);

  const json files = meta.value("files", json::object());
  if (files.is_object() && !files.contains(name))
    throw NoSavedModel(none + " in format " + fmt + " (" + path.string() +
                       " is not recorded in metadata.json: left over from an earlier model)");
  if (files.is_object() && files.contains(name) && files[name].is_object()) {
    const json& f = files[name];
    if (f.contains("size") && f["size"].is_number_unsigned() && f["size"].get<std::size_t>() != bytes.size())
      throw CorruptModel(path.string() + ": size mismatch (metadata.json records " + f["size"].dump() +
                         " bytes, the file has " + std::to_string(bytes.size()) + "; truncated or modified)");
    if (f.value("sha256", std::string()) != sha256_hex(bytes))
      throw CorruptModel(path.string() + ": checksum mismatch (SHA-256 differs from metadata.json)");
  }

  if (format == Format::Native) {
    DetectorEntity e = decode_native_entity(bytes, path.string());
    ModelInfo info = info_from_entity(e, "native", false);
    info.metadata = meta;
    return std::make_shared<NativeScorer>(e.model, std::move(info));
  }
  if (auto stub = parse_stub(bytes)) {
    DetectorEntity e = load_stub_native(*stub, dir, path.string());
    ModelInfo info = info_from_entity(e, "onnx", true);
    info.metadata = meta;
    return std::make_shared<NativeScorer>(e.model, std::move(info));
  }
  ModelInfo info = info_from_metadata(meta);
  info.metadata = meta;
  try {
    return std::make_shared<OnnxScorer>(OnnxModel::load_bytes(bytes, path.string(), onnx_options), std::move(info));
  } catch (const OnnxModelError& ex) {
    throw CorruptModel(path.string() + ": not a loadable ONNX model: " + ex.what());
  }
}

std::map<std::string, json> ModelPersistenceService::list_saved_models() const {
  std::map<std::string, json> out;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string id = it->path().filename().string();
    if (!is_valid_detector_id(id) || !it->is_directory()) continue;
    DirLock lock(it->path(), DirLock::Mode::Shared);
    if (!lock.locked() || !fs::exists(it->path() / kMetadataFile)) continue;
    try {
      out[id] = read_metadata(it->path() / kMetadataFile);
    } catch (const Error& ex) {
      spdlog::warn("list_saved_models: skipping {}: {}", id, ex.what());
    }
  }
  return out;
}

std::optional<json> ModelPersistenceService::saved_metadata(const std::string& id) const {
  validate_detector_id(id);
  const fs::path dir = root_ / id;
  if (!fs::is_directory(dir)) return std::nullopt;
  DirLock lock(dir, DirLock::Mode::Shared);
  if (!lock.locked() || !fs::exists(dir / kMetadataFile)) return std::nullopt;
  return read_metadata(dir / kMetadataFile);
}

bool ModelPersistenceService::delete_model(const std::string& id) {
  validate_detector_id(id);
  const fs::path dir = root_ / id;
  if (!fs::exists(dir)) return false;
  const auto mu = id_mutex(id);
  std::lock_guard guard(*mu);
  DirLock lock(dir, DirLock::Mode::Exclusive);
  if (!lock.locked()) return false;
  fs::remove_all(dir);
  fsync_dir(root_);
  return true;
}

}  // namespace nomaly
