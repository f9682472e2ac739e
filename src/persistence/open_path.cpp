// open_model_path: scoring straight from a file or an export directory (the CLI's `nomaly score PATH`).
#include <cstring>

#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"
#include "persistence/fs_util.hpp"
#include "persistence/store_internal.hpp"

namespace nomaly {

namespace fs = std::filesystem;
using namespace detail;

namespace {

std::shared_ptr<Scorer> open_file(const fs::path& path, const OnnxOptions& options, const json& sidecar) {
  const std::string bytes = read_file_bytes(path);
  if (bytes.size() >= 6 && std::memcmp(bytes.data(), kNativeMagic, 6) == 0) {
    DetectorEntity e = decode_native_entity(bytes, path.string());
    ModelInfo info = info_from_entity(e, "native", false);
    info.metadata = sidecar;
    return std::make_shared<NativeScorer>(e.model, std::move(info));
  }
  if (auto stub = parse_stub(bytes)) {
    DetectorEntity e = load_stub_native(*stub, path.parent_path(), path.string());
    ModelInfo info = info_from_entity(e, "onnx", true);
    info.metadata = sidecar;
    return std::make_shared<NativeScorer>(e.model, std::move(info));
  }
  ModelInfo info = info_from_metadata(sidecar);
  info.metadata = sidecar;
  return std::make_shared<OnnxScorer>(OnnxModel::load_bytes(bytes, path.string(), options), std::move(info));
}

json read_json_or_empty(const fs::path& p) {
  if (!fs::exists(p)) return json::object();
  json j = json::parse(read_file_bytes(p), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw CorruptModel(p.string() + ": not a JSON object");
  return j;
}

}  // namespace

std::shared_ptr<Scorer> open_model_path(const fs::path& path, const OnnxOptions& options) {
  if (!fs::exists(path)) throw ModelError(path.string() + ": no such file or directory");
  if (!fs::is_directory(path)) return open_file(path, options, json::object());

  // An export bundle (config.json) or a store directory (metadata.json).
  json side = read_json_or_empty(path / "config.json");
  if (side.contains("nomaly_export")) {
    if (side.contains("input") && side["input"].is_object() && side["input"].contains("feature_names"))
      side["feature_names"] = side["input"]["feature_names"];
    return open_file(path / kOnnxFile, options, side);
  }
  side = read_json_or_empty(path / kMetadataFile);
  if (side.contains("model_file") && side["model_file"].is_string()) {
    const std::string f = side["model_file"].get<std::string>();
    if (f != kNativeFile && f != kOnnxFile) throw CorruptModel((path / kMetadataFile).string() + ": invalid model_file");
    return open_file(path / f, options, side);
  }
  throw ModelError(path.string() + " is not a nomaly model file or export directory");
}

}  // namespace nomaly
