#include "persistence/store_internal.hpp"

#include <onnx/onnx_pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"
#include "persistence/fs_util.hpp"

namespace nomaly::detail {

namespace fs = std::filesystem;

ExportInfo export_info(const DetectorEntity& e) {
  ExportInfo info;
  info.detector_id = e.id;
  info.detector_name = e.name;
  info.trained_at = e.trained_at;
  info.feature_names = e.feature_names;
  return info;
}

OnnxArtifact make_onnx_artifact(const DetectorEntity& e, bool strict) {
  OnnxArtifact a;
  try {
    ::onnx::ModelProto proto = export_onnx_model(*e.model, export_info(e));
    if (!proto.SerializeToString(&a.bytes)) throw OnnxExportError(e.algorithm + ": could not serialize the ONNX model");
    a.ir_version = proto.ir_version();
    for (const auto& op : proto.opset_import()) {
      if (op.domain().empty() || op.domain() == "ai.onnx") a.opset = op.version();
      if (op.domain() == "ai.onnx.ml") a.opset_ml = op.version();
    }
  } catch (const OnnxExportError& ex) {
    if (strict) throw;
    a.stub = true;
    a.stub_reason = ex.what();
    spdlog::warn("detector {} ({}): no ONNX export ({}); writing an ONNX stub that points to the native model",
                 e.id, e.algorithm, ex.what());
    return a;
  }
  const Detector& det = *e.model;
  const std::vector<float> rows = parity_check_rows(det);
  const std::size_t d = det.n_features(), n = d ? rows.size() / d : 0;
  const MatrixView X{rows.data(), n, d};
  const OnnxModel ort = OnnxModel::load_bytes(a.bytes, "model.onnx");
  const std::vector<float> native = det.score_samples(X);
  std::vector<float> got;
  constexpr std::size_t kBatch = 32;  // bounds ORT's per-run memory for graphs that scale with rows x training rows
  for (std::size_t i = 0; i < n; i += kBatch) {
    const OnnxScore s = ort.score(X.slice(i, std::min(kBatch, n - i)));
    got.insert(got.end(), s.scores.begin(), s.scores.end());
  }
  a.parity = parity_report(got, native, parity_floor(det));
  if (!a.parity.ok())
    throw OnnxExportError(e.algorithm + ": ONNX Runtime differs from the native scores on " + std::to_string(n) +
                          " check rows (max |diff| / max(|native|, " + std::to_string(a.parity.floor) + ") = " +
                          std::to_string(a.parity.max_rel) + " at row " + std::to_string(a.parity.worst_row + 1) +
                          " > 1e-5)");
  return a;
}

std::vector<float> parity_check_rows(const Detector& det) {
  std::vector<float> rows = det.reference_rows();
  const std::size_t d = det.n_features();
  if (d == 0 || rows.empty()) return rows;
  const std::size_t n = rows.size() / d;
  std::vector<float> lo(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(d)), hi = lo;
  for (std::size_t i = 1; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      lo[j] = std::min(lo[j], rows[i * d + j]);
      hi[j] = std::max(hi[j], rows[i * d + j]);
    }
  std::mt19937_64 rng(0x6e6f6d616c79ULL);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  rows.reserve(rows.size() + kParityRandomRows * d);
  for (std::size_t i = 0; i < kParityRandomRows; ++i)
    for (std::size_t j = 0; j < d; ++j)
      rows.push_back(static_cast<float>(lo[j] + u(rng) * (static_cast<double>(hi[j]) - lo[j])));
  return rows;
}

std::string make_stub_bytes(const DetectorEntity& e, const std::string& reason, const std::string& native_sha256) {
  const json stub{{"model_type", "stub"},
                  {"format", kOnnxStubFormat},
                  {"detector_id", e.id},
                  {"detector_name", e.name},
                  {"algorithm", e.algorithm},
                  {"parameters", e.parameters},
                  {"message", "No ONNX converter for this detector (" + reason +
                                  "); the fitted model is the native file named in native_model."},
                  {"native_model", kNativeFile},
                  {"native_sha256", native_sha256}};
  return stub.dump(2) + "\n";
}

std::optional<json> parse_stub(const std::string& bytes) {
  // A serialized ONNX ModelProto starts with a protobuf tag byte (0x08 ir_version, 0x12, 0x1a, ...), never '{'.
  std::size_t i = 0;
  while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t')) ++i;
  if (i == bytes.size() || bytes[i] != '{') return std::nullopt;
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  if (j.value("model_type", json()) != "stub" || j.value("format", json()) != kOnnxStubFormat) return std::nullopt;
  return j;
}

DetectorEntity load_stub_native(const json& stub, const fs::path& dir, const std::string& stub_name) {
  const json nm = stub.value("native_model", json());
  const json sha = stub.value("native_sha256", json());
  // Only the fixed file name is accepted: a stub must not point anywhere else on disk.
  if (nm != kNativeFile || !sha.is_string())
    throw CorruptModel(stub_name + ": ONNX stub has an invalid native_model/native_sha256 (expected \"" +
                       std::string(kNativeFile) + "\")");
  const fs::path native = dir / kNativeFile;
  if (!fs::exists(native))
    throw CorruptModel(stub_name + ": ONNX stub points to " + native.string() + ", which is missing");
  const std::string bytes = read_file_bytes(native);
  if (sha256_hex(bytes) != sha.get<std::string>())
    throw CorruptModel(native.string() + ": checksum mismatch (differs from native_sha256 in " + stub_name + ")");
  return decode_native_entity(bytes, native.string());
}

ModelInfo info_from_entity(const DetectorEntity& e, const std::string& format, bool stub) {
  ModelInfo i;
  i.detector_id = e.id;
  i.name = e.name;
  i.algorithm = e.algorithm;
  i.parameters = e.parameters;
  i.contamination = e.contamination;
  i.feature_names = e.feature_names;
  i.trained_at = e.trained_at;
  i.format = format;
  i.stub = stub;
  return i;
}

ModelInfo info_from_metadata(const json& m) {
  ModelInfo i;
  if (!m.is_object()) return i;
  auto str = [&](const char* k) { return m.contains(k) && m[k].is_string() ? m[k].get<std::string>() : std::string(); };
  i.detector_id = str("detector_id");
  i.name = str("detector_name");
  i.algorithm = str("algorithm");
  i.trained_at = str("trained_at");
  if (m.contains("parameters") && m["parameters"].is_object()) i.parameters = m["parameters"];
  if (m.contains("contamination")) i.contamination = m["contamination"];
  if (m.contains("threshold") && m["threshold"].is_number()) i.threshold = m["threshold"].get<float>();
  if (m.contains("n_features") && m["n_features"].is_number_unsigned()) i.n_features = m["n_features"].get<std::size_t>();
  if (m.contains("feature_names") && m["feature_names"].is_array())
    for (const auto& f : m["feature_names"])
      if (f.is_string()) i.feature_names.push_back(f.get<std::string>());
  i.format = "onnx";
  return i;
}

std::string min_onnxruntime_version(std::int64_t opset, std::int64_t opset_ml) {
  // From ONNX Runtime's version matrix (docs/Versioning.md): the first release implementing each opset.
  auto onnx_min = [](std::int64_t v) -> int {
    if (v <= 11) return 0;
    if (v == 12) return 3;
    if (v == 13) return 6;
    if (v == 14) return 8;
    if (v == 15) return 9;
    if (v <= 17) return 13;
    if (v == 18) return 14;
    if (v == 19) return 15;
    if (v == 20) return 17;
    if (v == 21) return 18;
    if (v == 22) return 21;
    return 22;
  };
  auto ml_min = [](std::int64_t v) -> int {
    if (v <= 2) return 0;
    if (v == 3) return 13;
    if (v == 4) return 17;
    return 22;
  };
  return "1." + std::to_string(std::max(onnx_min(opset), ml_min(opset_ml))) + ".0";
}

std::string metadata_digest(const json& meta) {
  json copy = meta;
  copy.erase("metadata_sha256");
  return sha256_hex(copy.dump());
}

}  // namespace nomaly::detail
