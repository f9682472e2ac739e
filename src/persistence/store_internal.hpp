// Shared pieces of the persistence service (service.cpp, export_bundle.cpp, open_path.cpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/persistence/entity.hpp"
#include "nomaly/persistence/scorer.hpp"

namespace nomaly::detail {

inline constexpr const char* kNativeFile = "model.nomaly";
inline constexpr const char* kOnnxFile = "model.onnx";
inline constexpr const char* kMetadataFile = "metadata.json";
inline constexpr const char* kPendingMetadata = ".metadata.json.pending";

/// The ONNX artefact of a fitted entity: real ONNX bytes, or (when export failed) a stub reason.
struct OnnxArtifact {
  bool stub = false;
  std::string bytes;          ///< serialized ONNX (empty for stubs)
  std::string stub_reason;    ///< OnnxExportError message when stub
  std::int64_t opset = 0, opset_ml = 0, ir_version = 0;
  ParityReport parity;        ///< ONNX Runtime vs native on parity_check_rows (real ONNX only)
};

/// Exports the entity to ONNX; on OnnxExportError returns a stub artifact (or rethrows when strict). A real
/// export is then scored by ONNX Runtime on parity_check_rows and must match the native scores under the parity
/// rule (nomaly/onnx/parity.hpp), else OnnxExportError even when not strict: a model that scores differently is
/// never saved or exported.
OnnxArtifact make_onnx_artifact(const DetectorEntity& e, bool strict);

/// Rows for that check, row-major: the detector's reference rows, then kParityRandomRows rows drawn uniformly
/// (fixed seed) in the box the reference rows span. 32 rows missed a 20,000-tree forest's 1.2e-5 drift.
inline constexpr std::size_t kParityRandomRows = 256;
std::vector<float> parity_check_rows(const Detector& det);

/// ExportInfo of an entity (id, name, trained_at, feature names).
ExportInfo export_info(const DetectorEntity& e);

/// The stub JSON bytes for an entity whose native file has the given sha256.
std::string make_stub_bytes(const DetectorEntity& e, const std::string& reason, const std::string& native_sha256);

/// Parsed stub, or nullopt when `bytes` is not a stub.
std::optional<json> parse_stub(const std::string& bytes);

/// Loads the native model a stub points to (`dir`/native_model), checking its sha256 against the stub.
/// CorruptModel naming `stub_name` when the native file is missing or differs.
DetectorEntity load_stub_native(const json& stub, const std::filesystem::path& dir, const std::string& stub_name);

/// ModelInfo from an entity (native scorers).
ModelInfo info_from_entity(const DetectorEntity& e, const std::string& format, bool stub);

/// ModelInfo from a metadata.json / config.json object (ONNX scorers); missing fields stay default.
ModelInfo info_from_metadata(const json& meta);

/// The minimum ONNX Runtime version that implements the given opsets (ORT's version matrix).
std::string min_onnxruntime_version(std::int64_t opset, std::int64_t opset_ml);

/// metadata.json self-checksum: sha256 of the object's dump() without "metadata_sha256".
std::string metadata_digest(const json& meta);

}  // namespace nomaly::detail
