// GraphBuilder over onnx::ModelProto (libonnx-dev 1.12, ONNX_ML=1).
#include "nomaly/onnx/graph_builder.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <bit>
#include <cstring>
#include <set>
#include <type_traits>

#include "nomaly/errors.hpp"

namespace nomaly::onnx_build {

namespace {

// ONNX raw_data is little endian whatever the host is.
template <typename T>
std::string little_endian_bytes(const std::vector<T>& data) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::string out(data.size() * sizeof(T), '\0');
  if (!data.empty()) std::memcpy(out.data(), data.data(), out.size());
  if constexpr (std::endian::native == std::endian::big) {
    for (std::size_t i = 0; i < out.size(); i += sizeof(T)) {
      for (std::size_t a = 0, b = sizeof(T) - 1; a < b; ++a, --b) std::swap(out[i + a], out[i + b]);
    }
  }
  return out;
}

void set_tensor_type(::onnx::ValueInfoProto& vi, Elem elem, const std::vector<Dim>& dims) {
  auto* tensor = vi.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(static_cast<int>(elem));
  auto* shape = tensor->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (const auto* v = std::get_if<std::int64_t>(&d)) {
      dim->set_dim_value(*v);
    } else {
      dim->set_dim_param(std::get<std::string>(d));
    }
  }
}

void set_attr(::onnx::AttributeProto& a, const Attr& attr) {
  a.set_name(attr.name);
  std::visit(
      [&a](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::int64_t>) {
          a.set_type(::onnx::AttributeProto::INT);
          a.set_i(v);
        } else if constexpr (std::is_same_v<V, float>) {
          a.set_type(::onnx::AttributeProto::FLOAT);
          a.set_f(v);
        } else if constexpr (std::is_same_v<V, std::string>) {
          a.set_type(::onnx::AttributeProto::STRING);
          a.set_s(v);
        } else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) {
          a.set_type(::onnx::AttributeProto::INTS);
          for (auto x : v) a.add_ints(x);
        } else if constexpr (std::is_same_v<V, std::vector<float>>) {
          a.set_type(::onnx::AttributeProto::FLOATS);
          for (auto x : v) a.add_floats(x);
        } else if constexpr (std::is_same_v<V, Subgraph>) {
          a.set_type(::onnx::AttributeProto::GRAPH);
          *a.mutable_g() = *v.graph;
        } else {
          a.set_type(::onnx::AttributeProto::STRINGS);
          for (const auto& x : v) a.add_strings(x);
        }
      },
      attr.value);
}

std::int64_t element_count(const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (auto d : dims) {
    if (d < 0) throw OnnxExportError("initializer has a negative dimension");
    n *= d;
  }
  return n;
}

}  // namespace

struct GraphBuilder::Impl {
  ::onnx::ModelProto model;
  std::set<std::string> names;          // every value name in use (inputs, initializers, node outputs)
  std::set<std::string> metadata_keys;
  std::size_t counter = 0;
  std::size_t node_counter = 0;

  explicit Impl(const std::string& graph_name) { model.mutable_graph()->set_name(graph_name); }

  // Claims `name` when free, else a fresh variant of it; initializers never collide with user names.
  std::string claim_or_fresh(const std::string& name) {
    if (!name.empty() && names.insert(name).second) return name;
    return fresh(name.empty() ? std::string("v") : name);
  }
  std::string fresh(const std::string& prefix) {
    for (;;) {
      std::string candidate = prefix + "_" + std::to_string(counter++);
      if (names.insert(candidate).second) return candidate;
    }
  }

  ::onnx::TensorProto& new_initializer(const std::string& name, int elem, const std::vector<std::int64_t>& dims,
                                       std::size_t data_size, std::string& out_name) {
    if (element_count(dims) != static_cast<std::int64_t>(data_size)) {
      throw OnnxExportError("initializer '" + name + "': " + std::to_string(data_size) +
                            " values do not match its dims (" + std::to_string(element_count(dims)) + " elements)");
    }
    out_name = claim_or_fresh(name);
    auto* t = model.mutable_graph()->add_initializer();
    t->set_name(out_name);
    t->set_data_type(elem);
    for (auto d : dims) t->add_dims(d);
    return *t;
  }
};

GraphBuilder::GraphBuilder(std::string graph_name) : impl_(std::make_unique<Impl>(graph_name)) {}
GraphBuilder::~GraphBuilder() = default;
GraphBuilder::GraphBuilder(GraphBuilder&&) noexcept = default;
GraphBuilder& GraphBuilder::operator=(GraphBuilder&&) noexcept = default;

std::string GraphBuilder::input(const std::string& name, Elem elem, const std::vector<Dim>& dims) {
  if (!impl_->names.insert(name).second) throw OnnxExportError("graph input '" + name + "' is already defined");
  auto* vi = impl_->model.mutable_graph()->add_input();
  vi->set_name(name);
  set_tensor_type(*vi, elem, dims);
  return name;
}

void GraphBuilder::output(const std::string& name, Elem elem, const std::vector<Dim>& dims) {
  auto* vi = impl_->model.mutable_graph()->add_output();
  vi->set_name(name);
  set_tensor_type(*vi, elem, dims);
}

std::string GraphBuilder::initializer(const std::string& name, const std::vector<float>& data,
                                      const std::vector<std::int64_t>& dims) {
  std::string out;
  auto& t = impl_->new_initializer(name, ::onnx::TensorProto::FLOAT, dims, data.size(), out);
  t.set_raw_data(little_endian_bytes(data));
  return out;
}

std::string GraphBuilder::initializer_int64(const std::string& name, const std::vector<std::int64_t>& data,
                                            const std::vector<std::int64_t>& dims) {
  std::string out;
  auto& t = impl_->new_initializer(name, ::onnx::TensorProto::INT64, dims, data.size(), out);
  t.set_raw_data(little_endian_bytes(data));
  return out;
}

std::string GraphBuilder::initializer_double(const std::string& name, const std::vector<double>& data,
                                             const std::vector<std::int64_t>& dims) {
  std::string out;
  auto& t = impl_->new_initializer(name, ::onnx::TensorProto::DOUBLE, dims, data.size(), out);
  t.set_raw_data(little_endian_bytes(data));
  return out;
}

std::string GraphBuilder::scalar(const std::string& name, float value) { return initializer(name, {value}, {}); }

std::size_t GraphBuilder::begin_subgraph() const { return static_cast<std::size_t>(impl_->model.graph().node_size()); }

Subgraph GraphBuilder::end_subgraph(std::size_t mark, const std::string& name, const std::vector<SubgraphValue>& inputs,
                                    const std::vector<SubgraphValue>& outputs) {
  auto* nodes = impl_->model.mutable_graph()->mutable_node();
  if (mark > static_cast<std::size_t>(nodes->size())) throw OnnxExportError("subgraph '" + name + "': bad mark");
  auto sub = std::make_shared<::onnx::GraphProto>();
  sub->set_name(name);
  for (int i = static_cast<int>(mark); i < nodes->size(); ++i) *sub->add_node() = nodes->Get(i);
  nodes->DeleteSubrange(static_cast<int>(mark), nodes->size() - static_cast<int>(mark));
  const auto declare = [](::onnx::ValueInfoProto& vi, const SubgraphValue& v) {
    vi.set_name(v.name);
    if (v.dims) {
      set_tensor_type(vi, v.elem, *v.dims);
    } else {
      vi.mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int>(v.elem));
    }
  };
  for (const auto& in : inputs) declare(*sub->add_input(), in);
  for (const auto& out : outputs) declare(*sub->add_output(), out);
  return Subgraph{std::move(sub)};
}

std::string GraphBuilder::node(const std::string& op_type, const std::vector<std::string>& inputs,
                               const std::vector<Attr>& attrs, const std::string& domain, const std::string& output) {
  std::string out = output.empty() ? fresh(op_type) : output;
  if (!output.empty() && !impl_->names.insert(output).second) {
    throw OnnxExportError("node " + op_type + ": output name '" + output + "' is already defined");
  }
  auto* n = impl_->model.mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(op_type + "_node_" + std::to_string(impl_->node_counter++));
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(out);
  for (const auto& a : attrs) set_attr(*n->add_attribute(), a);
  return out;
}

std::vector<std::string> GraphBuilder::node_multi(const std::string& op_type, const std::vector<std::string>& inputs,
                                                  const std::vector<std::string>& outputs,
                                                  const std::vector<Attr>& attrs, const std::string& domain) {
  for (const auto& o : outputs) {
    if (o.empty()) continue;  // an omitted optional output
    if (!impl_->names.insert(o).second) {
      throw OnnxExportError("node " + op_type + ": output name '" + o + "' is already defined");
    }
  }
  auto* n = impl_->model.mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(op_type + "_node_" + std::to_string(impl_->node_counter++));
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& o : outputs) n->add_output(o);
  for (const auto& a : attrs) set_attr(*n->add_attribute(), a);
  return outputs;
}

std::vector<std::string> GraphBuilder::node_fresh(const std::string& op_type, const std::vector<std::string>& inputs,
                                                  std::size_t n_outputs, const std::vector<Attr>& attrs) {
  std::vector<std::string> outputs;
  for (std::size_t i = 0; i < n_outputs; ++i) outputs.push_back(impl_->fresh(op_type));
  auto* n = impl_->model.mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(op_type + "_node_" + std::to_string(impl_->node_counter++));
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& o : outputs) n->add_output(o);
  for (const auto& a : attrs) set_attr(*n->add_attribute(), a);
  return outputs;
}

void GraphBuilder::metadata(const std::string& key, const std::string& value) {
  if (!impl_->metadata_keys.insert(key).second) throw OnnxExportError("duplicate metadata key '" + key + "'");
  auto* p = impl_->model.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

void GraphBuilder::doc_string(const std::string& doc) { impl_->model.set_doc_string(doc); }

void GraphBuilder::producer(const std::string& name, const std::string& version) {
  impl_->model.set_producer_name(name);
  impl_->model.set_producer_version(version);
}

std::string GraphBuilder::fresh(const std::string& prefix) { return impl_->fresh(prefix); }

::onnx::ModelProto GraphBuilder::finish(const std::string& context) {
  const std::string graph_name = impl_->model.graph().name();
  ::onnx::ModelProto model = std::move(impl_->model);
  impl_ = std::make_unique<Impl>(graph_name);  // "left empty", still usable

  model.set_ir_version(kIrVersion);
  model.clear_opset_import();
  auto* onnx_opset = model.add_opset_import();
  onnx_opset->set_domain("");
  onnx_opset->set_version(kOpsetOnnx);
  auto* ml_opset = model.add_opset_import();
  ml_opset->set_domain(kMlDomain);
  ml_opset->set_version(kOpsetOnnxMl);

  check_model_size(model.ByteSizeLong(), context);
  check_model(model, context);
  return model;
}

void check_model_size(std::size_t bytes, const std::string& context, std::size_t limit) {
  if (bytes <= limit) return;
  const auto mib = [](std::size_t b) { return std::to_string(b / (1024 * 1024)); };
  throw OnnxExportError(context + ": the ONNX model would be " + mib(bytes) + " MiB, above the " + mib(limit) +
                        " MiB that protobuf can write as one file (fit on fewer rows, or keep the native format)");
}

void check_model(::onnx::ModelProto& model, const std::string& context) {
  try {
    ::onnx::checker::check_model(model);
    // check_type + error_mode 1: any node-level inference failure or declared/inferred mismatch throws,
    // so a converter returning [N,1] where the contract says [N] is caught here rather than in ORT.
    ::onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw OnnxExportError(context + ": " + e.what());
  }
}

}  // namespace nomaly::onnx_build
