#include "onnx/proto_util.hpp"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "nomaly/errors.hpp"

namespace nomaly::onnx_detail {

namespace {

std::string elem_text(int elem) {
  switch (elem) {
    case ::onnx::TensorProto::FLOAT: return "float";
    case ::onnx::TensorProto::UINT8: return "uint8";
    case ::onnx::TensorProto::INT8: return "int8";
    case ::onnx::TensorProto::UINT16: return "uint16";
    case ::onnx::TensorProto::INT16: return "int16";
    case ::onnx::TensorProto::INT32: return "int32";
    case ::onnx::TensorProto::INT64: return "int64";
    case ::onnx::TensorProto::STRING: return "string";
    case ::onnx::TensorProto::BOOL: return "bool";
    case ::onnx::TensorProto::FLOAT16: return "float16";
    case ::onnx::TensorProto::DOUBLE: return "double";
    case ::onnx::TensorProto::UINT32: return "uint32";
    case ::onnx::TensorProto::UINT64: return "uint64";
    case ::onnx::TensorProto::BFLOAT16: return "bfloat16";
    default: return "elem" + std::to_string(elem);
  }
}

// True when the model uses an IR version or opset that the linked libonnx does not know yet.
bool newer_than_libonnx(const ::onnx::ModelProto& model) {
  if (model.ir_version() > ::onnx::IR_VERSION) return true;
  const auto& ranges = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& op : model.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    auto it = ranges.find(domain);
    if (it != ranges.end() && op.version() > it->second.second) return true;
  }
  return false;
}

// What can be checked without schemas: a graph with outputs, nodes with op types, unique output names.
void structural_check(const ::onnx::ModelProto& model) {
  const auto& g = model.graph();
  if (g.output_size() == 0) throw std::runtime_error("the graph has no outputs");
  if (model.opset_import_size() == 0) throw std::runtime_error("the model imports no opset");
  std::set<std::string> produced;
  for (const auto& in : g.input()) produced.insert(in.name());
  for (const auto& t : g.initializer()) produced.insert(t.name());
  for (const auto& n : g.node()) {
    if (n.op_type().empty()) throw std::runtime_error("a node has no op_type");
    for (const auto& o : n.output()) {
      if (!o.empty() && !produced.insert(o).second) throw std::runtime_error("value '" + o + "' is produced twice");
    }
  }
  for (const auto& o : g.output()) {
    if (!produced.count(o.name())) throw std::runtime_error("graph output '" + o.name() + "' is never produced");
  }
}

::onnx::ModelProto parse(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) throw OnnxModelError(name + ": empty input (0 bytes) is not an ONNX model");
  // The native format's magic (nomaly/persistence/native_format.hpp): say what the file is, not what protobuf thinks.
  if (bytes.compare(0, 7, std::string("NOMALY\0", 7)) == 0)
    throw OnnxModelError(name + ": is a nomaly native model (.nomaly), not ONNX: score it with `nomaly score " + name +
                         "`, or compare it with its ONNX export via `nomaly verify MODEL.onnx --native " + name + "`");
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw OnnxModelError(name + ": not an ONNX model: the protobuf parser rejected " + std::to_string(bytes.size()) +
                         " bytes (truncated or corrupt file?)");
  }
  if (model.ir_version() <= 0 || !model.has_graph()) {
    throw OnnxModelError(name + ": not an ONNX model: no ir_version or no graph in " + std::to_string(bytes.size()) +
                         " bytes");
  }
  return model;
}

std::string check(const ::onnx::ModelProto& model) {
  try {
    if (newer_than_libonnx(model)) {
      structural_check(model);
    } else {
      ::onnx::checker::check_model(model);
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  if (std::string err = check_tree_ensembles(model); !err.empty()) return err;
  return check_sizes(model);
}

OnnxIoInfo io_info(const ::onnx::ValueInfoProto& vi) {
  return {vi.name(), type_text(vi.type()), tensor_dims(vi.type())};
}

}  // namespace

std::string read_model_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw OnnxModelError(path + ": is a folder, not an ONNX model file (an export bundle holds model.onnx: " +
                         (std::filesystem::path(path) / "model.onnx").string() + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OnnxModelError(path + ": cannot open ONNX model file (missing or unreadable)");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw OnnxModelError(path + ": error while reading the ONNX model file");
  return ss.str();
}

::onnx::ModelProto parse_and_check(const std::string& bytes, const std::string& name) {
  ::onnx::ModelProto model = parse(bytes, name);
  if (std::string err = check(model); !err.empty()) {
    throw OnnxModelError(name + ": invalid ONNX model: " + err);
  }
  return model;
}

::onnx::ModelProto parse_only(const std::string& bytes, const std::string& name, std::string& checker_error) {
  ::onnx::ModelProto model = parse(bytes, name);
  checker_error = check(model);
  return model;
}

std::string type_text(const ::onnx::TypeProto& type) {
  switch (type.value_case()) {
    case ::onnx::TypeProto::kTensorType: return "tensor(" + elem_text(type.tensor_type().elem_type()) + ")";
    case ::onnx::TypeProto::kSequenceType: return "seq(" + type_text(type.sequence_type().elem_type()) + ")";
    case ::onnx::TypeProto::kMapType:
      return "map(" + elem_text(type.map_type().key_type()) + "," + type_text(type.map_type().value_type()) + ")";
    case ::onnx::TypeProto::kOptionalType: return "optional(" + type_text(type.optional_type().elem_type()) + ")";
    case ::onnx::TypeProto::kSparseTensorType:
      return "sparse_tensor(" + elem_text(type.sparse_tensor_type().elem_type()) + ")";
    default: return "unknown";
  }
}

std::vector<std::int64_t> tensor_dims(const ::onnx::TypeProto& type) {
  std::vector<std::int64_t> dims;
  if (type.value_case() != ::onnx::TypeProto::kTensorType || !type.tensor_type().has_shape()) return dims;
  for (const auto& d : type.tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

std::string dims_text(const ::onnx::TypeProto& type) {
  if (type.value_case() != ::onnx::TypeProto::kTensorType) return "";
  if (!type.tensor_type().has_shape()) return "[unknown rank]";
  std::string s = "[";
  bool first = true;
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (!first) s += ", ";
    first = false;
    if (d.has_dim_value()) {
      s += std::to_string(d.dim_value());
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      s += d.dim_param();
    } else {
      s += "?";
    }
  }
  return s + "]";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<OnnxIoInfo> graph_inputs(const ::onnx::GraphProto& graph) {
  std::set<std::string> inits;
  for (const auto& t : graph.initializer()) inits.insert(t.name());
  std::vector<OnnxIoInfo> out;
  for (const auto& vi : graph.input())
    if (!inits.count(vi.name())) out.push_back(io_info(vi));
  return out;
}

std::vector<OnnxIoInfo> graph_outputs(const ::onnx::GraphProto& graph) {
  std::vector<OnnxIoInfo> out;
  for (const auto& vi : graph.output()) out.push_back(io_info(vi));
  return out;
}

}  // namespace nomaly::onnx_detail
