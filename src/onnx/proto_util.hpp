// Internal helpers over onnx::ModelProto shared by OnnxModel and describe_onnx (not installed).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nomaly/onnx/onnx_model.hpp"

namespace nomaly::onnx_detail {

/// Reads a whole model file. Throws OnnxModelError when it is missing or unreadable.
std::string read_model_file(const std::string& path);

/// Parses serialized ONNX bytes and validates them with onnx::checker::check_model.
/// Models newer than the linked libonnx (higher IR version or opsets) get a structural check only, so that
/// ONNX Runtime, which knows newer opsets, can still run them. Throws OnnxModelError naming `name`
/// for empty, unparsable, truncated or invalid bytes.
::onnx::ModelProto parse_and_check(const std::string& bytes, const std::string& name);

/// Like parse_and_check but returns the checker's complaint in `checker_error` instead of throwing
/// (parse failures still throw). Used by describe_onnx.
::onnx::ModelProto parse_only(const std::string& bytes, const std::string& name, std::string& checker_error);

/// Empty, or why an ai.onnx.ml TreeEnsemble node is unsafe to run: a branch to a node its tree lacks, a
/// duplicate node id, or a cycle (ONNX Runtime would loop forever). Part of parse_and_check.
std::string check_tree_ensembles(const ::onnx::ModelProto& model);

/// Empty, or why a constant would make ONNX Runtime allocate an unbounded size (size_check.cpp): an integer
/// constant read as a shape, repeat count, pad, k, depth or Loop trip count beyond 2^28 elements in any graph,
/// or, in nomaly's row-chunk kNN/LOF graph, any integer constant other than the one the writer puts there (chunk
/// size bounded by nomaly.chunk_rows and the training-set size). Names the node or initializer. Part of
/// parse_and_check.
std::string check_sizes(const ::onnx::ModelProto& model);

/// "tensor(float)", "seq(map(int64,tensor(float)))", ...
std::string type_text(const ::onnx::TypeProto& type);
/// Dims of a tensor type: the value, or -1 for symbolic/unknown dims. Empty when there is no shape.
std::vector<std::int64_t> tensor_dims(const ::onnx::TypeProto& type);
/// "[N, 4]" style text, with symbolic names kept.
std::string dims_text(const ::onnx::TypeProto& type);
/// "[-1, 4]" -> "[?, 4]".
std::string shape_text(const std::vector<std::int64_t>& shape);

/// Graph inputs that are not initializers (IR < 4 lists initializers as inputs too).
std::vector<OnnxIoInfo> graph_inputs(const ::onnx::GraphProto& graph);
std::vector<OnnxIoInfo> graph_outputs(const ::onnx::GraphProto& graph);

}  // namespace nomaly::onnx_detail
