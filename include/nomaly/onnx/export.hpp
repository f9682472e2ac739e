// Exporting fitted detectors to real ONNX models that follow the nomaly model contract
// (docs/onnx-contract.md):
//   input  X      tensor(float) [N, d]   raw features (any preprocessing is inside the graph)
//   output scores tensor(float) [N]      higher = more anomalous, equal to native score_samples
//   output label  tensor(int64) [N]      1 where score > threshold (nomaly.threshold), else 0
// plus metadata_props nomaly.* (algorithm, params, threshold, contamination, n_features, feature_names,
// score, version, detector_id, detector_name, trained_at), producer_name/version and a doc_string.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"
#include "nomaly/onnx/graph_builder.hpp"

namespace onnx {
class ModelProto;
}

namespace nomaly {

/// Identity of the exported model, written to metadata_props.
struct ExportInfo {
  std::string detector_id;
  std::string detector_name;
  std::string trained_at;  ///< ISO-8601 UTC
  std::vector<std::string> feature_names;  ///< empty -> f0..f{d-1}
};

/// A converter adds nodes to `g` that turn the graph input `x` ([N, d] float) into a [N] float score
/// equal to the detector's score_samples, and returns that value's name. It also returns, through
/// `score_doc`, one sentence on what the score means.
using OnnxConverter = std::function<std::string(const Detector& detector, onnx_build::GraphBuilder& g,
                                                const std::string& x, std::string& score_doc)>;

/// Registers the converter for an algorithm (replaces any previous one).
void register_onnx_converter(const std::string& algorithm, OnnxConverter converter);
/// True when `algorithm` has a converter.
bool has_onnx_converter(const std::string& algorithm);

/// Builds, checks and returns the ONNX model of a fitted detector.
/// Throws NotFittedError before fit; OnnxExportError("<algorithm>: ...") when there is no converter or
/// the checker / shape inference rejects the graph.
::onnx::ModelProto export_onnx_model(const Detector& detector, const ExportInfo& info = {});
/// The same, serialized.
std::string export_onnx_bytes(const Detector& detector, const ExportInfo& info = {});

}  // namespace nomaly
