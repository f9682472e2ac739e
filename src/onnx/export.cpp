// Converter registry and the nomaly ONNX model contract (docs/onnx-contract.md).
#include "nomaly/onnx/export.hpp"

#include <onnx/onnx_pb.h>

#include <charconv>
#include <map>
#include <mutex>
#include <system_error>

#include "nomaly/errors.hpp"
#include "onnx/converters.hpp"

namespace nomaly {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, OnnxConverter> converters;
};

Registry& registry() {
  static Registry r;
  return r;
}

// Set while the built-ins register themselves, so that their register_onnx_converter calls do not
// re-enter std::call_once (which would deadlock).
thread_local bool registering_builtins = false;

void ensure_builtins() {
  static std::once_flag once;
  std::call_once(once, [] {
    registering_builtins = true;
    try {
      detail::register_builtin_converters();
    } catch (...) {
      registering_builtins = false;
      throw;
    }
    registering_builtins = false;
  });
}

OnnxConverter find_converter(const std::string& algorithm) {
  ensure_builtins();
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.converters.find(algorithm);
  return it == r.converters.end() ? OnnxConverter{} : it->second;
}

std::string known_converters() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::string s;
  for (const auto& [name, _] : r.converters) s += (s.empty() ? "" : ", ") + name;
  return s.empty() ? "none" : s;
}

// Shortest text that parses back to the same float (what numpy prints for float32).
std::string float_text(float v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  if (res.ec != std::errc{}) return std::to_string(v);
  return std::string(buf, res.ptr);
}

std::string contamination_text(const json& c) {
  if (c.is_string()) return c.get<std::string>();
  return c.dump();
}

}  // namespace

void register_onnx_converter(const std::string& algorithm, OnnxConverter converter) {
  // A user converter registered before first use must not be overwritten by the built-ins later.
  if (!registering_builtins) ensure_builtins();
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.converters[algorithm] = std::move(converter);
}

bool has_onnx_converter(const std::string& algorithm) { return static_cast<bool>(find_converter(algorithm)); }

::onnx::ModelProto export_onnx_model(const Detector& detector, const ExportInfo& info) {
  const std::string& alg = detector.algorithm();
  if (!detector.is_fitted()) {
    throw NotFittedError(alg + ": the detector is not fitted; call fit before exporting to ONNX");
  }
  OnnxConverter converter = find_converter(alg);
  if (!converter) {
    throw OnnxExportError(alg + ": no ONNX converter for this algorithm (algorithms with converters: " +
                          known_converters() + "); use the native model format instead");
  }
  const auto d = static_cast<std::int64_t>(detector.n_features());
  std::vector<std::string> feature_names = info.feature_names;
  if (feature_names.empty()) {
    for (std::int64_t j = 0; j < d; ++j) feature_names.push_back("f" + std::to_string(j));
  } else if (static_cast<std::int64_t>(feature_names.size()) != d) {
    throw OnnxExportError(alg + ": " + std::to_string(feature_names.size()) + " feature names given for a detector with " +
                          std::to_string(d) + " features");
  }

  onnx_build::GraphBuilder g("nomaly_" + alg);
  const std::string x = g.input("X", onnx_build::Elem::Float, {std::string("N"), d});
  std::string score_doc;
  std::string scores;
  try {
    scores = converter(detector, g, x, score_doc);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw OnnxExportError(alg + ": ONNX converter failed: " + e.what());
  }
  if (scores != "scores") scores = g.node("Identity", {scores}, {}, "", "scores");
  const std::string threshold = g.scalar("threshold", detector.threshold());
  const std::string above = g.node("Greater", {scores, threshold});
  g.node("Cast", {above}, {{"to", std::int64_t{static_cast<int>(onnx_build::Elem::Int64)}}}, "", "label");
  g.output("scores", onnx_build::Elem::Float, {std::string("N")});
  g.output("label", onnx_build::Elem::Int64, {std::string("N")});

  if (score_doc.empty()) score_doc = "Anomaly score; higher = more anomalous.";
  g.metadata("nomaly.algorithm", alg);
  g.metadata("nomaly.params", detector.params().dump());
  g.metadata("nomaly.threshold", float_text(detector.threshold()));
  g.metadata("nomaly.contamination", contamination_text(detector.contamination()));
  g.metadata("nomaly.n_features", std::to_string(d));
  g.metadata("nomaly.feature_names", json(feature_names).dump());
  g.metadata("nomaly.score", score_doc);
  g.metadata("nomaly.version", NOMALY_VERSION);
  g.metadata("nomaly.detector_id", info.detector_id);
  g.metadata("nomaly.detector_name", info.detector_name);
  g.metadata("nomaly.trained_at", info.trained_at);
  g.producer("nomaly", NOMALY_VERSION);
  g.doc_string("nomaly " + alg + " anomaly detector: input X float [N, " + std::to_string(d) +
               "]; outputs scores float [N] (higher = more anomalous) and label int64 [N] (1 where scores > " +
               float_text(detector.threshold()) + ").");
  return g.finish(alg);
}

std::string export_onnx_bytes(const Detector& detector, const ExportInfo& info) {
  const ::onnx::ModelProto model = export_onnx_model(detector, info);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw OnnxExportError(detector.algorithm() + ": could not serialize the ONNX model");
  }
  return bytes;
}

}  // namespace nomaly
