// Human-readable description of an ONNX model file, for `nomaly inspect`. Reads the protobuf only
// (no ONNX Runtime session), so it also describes models that nomaly cannot score.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nomaly/onnx/onnx_model.hpp"

namespace nomaly {

/// What describe_onnx prints, as data.
struct InspectInfo {
  std::string name;  ///< file path or the name given for bytes
  std::size_t size_bytes = 0;
  std::int64_t ir_version = 0;
  std::string producer_name, producer_version, doc_string, graph_name;
  std::map<std::string, std::int64_t> opsets;  ///< domain ("" = ai.onnx) -> version
  std::vector<OnnxIoInfo> inputs, outputs;      ///< shape dims are -1 when symbolic
  std::vector<std::string> input_dims, output_dims;  ///< the same shapes as text, symbolic names kept ("[N, 4]")
  std::map<std::string, std::size_t> op_counts;      ///< "Add", "ai.onnx.ml:TreeEnsembleRegressor" -> count
  std::size_t n_nodes = 0;
  std::size_t n_initializers = 0;
  std::size_t initializer_elements = 0;  ///< total values held by initializers
  std::map<std::string, std::string> metadata;  ///< metadata_props
  std::string checker_error;                    ///< empty when onnx::checker accepts the model
};

/// Parses ONNX bytes. Throws OnnxModelError for empty, truncated or non-ONNX bytes; a model the ONNX
/// checker rejects is still described (checker_error says why).
InspectInfo inspect_onnx_bytes(const std::string& bytes, const std::string& name = "<bytes>");
/// Reads and parses a file. Throws OnnxModelError when it is missing, unreadable or not ONNX.
InspectInfo inspect_onnx(const std::string& path);

/// Multi-line text: IR version, producer, opsets, inputs and outputs with types and shapes, node counts by
/// op_type, initializers, metadata_props and the checker verdict. Same errors as inspect_onnx.
std::string describe_onnx(const InspectInfo& info);
std::string describe_onnx(const std::string& path);
std::string describe_onnx_bytes(const std::string& bytes, const std::string& name = "<bytes>");

}  // namespace nomaly
