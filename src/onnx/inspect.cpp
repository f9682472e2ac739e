// describe_onnx: what a model file holds, read from the protobuf alone.
#include "nomaly/onnx/inspect.hpp"

#include <sstream>

#include "onnx/proto_util.hpp"

namespace nomaly {

InspectInfo inspect_onnx_bytes(const std::string& bytes, const std::string& name) {
  InspectInfo info;
  const ::onnx::ModelProto model = onnx_detail::parse_only(bytes, name, info.checker_error);
  info.name = name;
  info.size_bytes = bytes.size();
  info.ir_version = model.ir_version();
  info.producer_name = model.producer_name();
  info.producer_version = model.producer_version();
  info.doc_string = model.doc_string();
  for (const auto& op : model.opset_import()) info.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();

  const auto& g = model.graph();
  info.graph_name = g.name();
  info.inputs = onnx_detail::graph_inputs(g);
  info.outputs = onnx_detail::graph_outputs(g);
  for (const auto& io : info.inputs) {
    for (const auto& vi : g.input())
      if (vi.name() == io.name) info.input_dims.push_back(onnx_detail::dims_text(vi.type()));
  }
  for (const auto& vi : g.output()) info.output_dims.push_back(onnx_detail::dims_text(vi.type()));
  for (const auto& n : g.node()) {
    const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
    ++info.op_counts[default_domain ? n.op_type() : n.domain() + ":" + n.op_type()];
  }
  info.n_nodes = static_cast<std::size_t>(g.node_size());
  info.n_initializers = static_cast<std::size_t>(g.initializer_size());
  for (const auto& t : g.initializer()) {
    std::size_t n = 1;
    for (auto d : t.dims()) n *= static_cast<std::size_t>(d > 0 ? d : 0);
    info.initializer_elements += n;
  }
  for (const auto& p : model.metadata_props()) info.metadata[p.key()] = p.value();
  return info;
}

InspectInfo inspect_onnx(const std::string& path) {
  return inspect_onnx_bytes(onnx_detail::read_model_file(path), path);
}

std::string describe_onnx(const InspectInfo& info) {
  std::ostringstream os;
  os << "ONNX model: " << info.name << " (" << info.size_bytes << " bytes)\n";
  os << "  ir_version: " << info.ir_version << "\n";
  os << "  producer: " << (info.producer_name.empty() ? "(none)" : info.producer_name);
  if (!info.producer_version.empty()) os << " " << info.producer_version;
  os << "\n";
  os << "  opsets:";
  for (const auto& [domain, version] : info.opsets) os << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  os << "\n";
  if (!info.graph_name.empty()) os << "  graph: " << info.graph_name << "\n";
  if (!info.doc_string.empty()) os << "  doc: " << info.doc_string << "\n";
  os << "  checker: " << (info.checker_error.empty() ? "ok" : info.checker_error) << "\n";
  os << "inputs:\n";
  for (std::size_t i = 0; i < info.inputs.size(); ++i) {
    os << "  " << info.inputs[i].name << ": " << info.inputs[i].type << " " << info.input_dims[i] << "\n";
  }
  os << "outputs:\n";
  for (std::size_t i = 0; i < info.outputs.size(); ++i) {
    os << "  " << info.outputs[i].name << ": " << info.outputs[i].type << " " << info.output_dims[i] << "\n";
  }
  os << "nodes: " << info.n_nodes << "\n";
  for (const auto& [op, count] : info.op_counts) os << "  " << op << ": " << count << "\n";
  os << "initializers: " << info.n_initializers << " (" << info.initializer_elements << " values)\n";
  os << "metadata:" << (info.metadata.empty() ? " (none)" : "") << "\n";
  for (const auto& [key, value] : info.metadata) os << "  " << key << ": " << value << "\n";
  return os.str();
}

std::string describe_onnx(const std::string& path) { return describe_onnx(inspect_onnx(path)); }

std::string describe_onnx_bytes(const std::string& bytes, const std::string& name) {
  return describe_onnx(inspect_onnx_bytes(bytes, name));
}

}  // namespace nomaly
