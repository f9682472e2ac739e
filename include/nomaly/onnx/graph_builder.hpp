// A small layer over onnx::ModelProto (libonnx-dev) so that converters never hand-assemble protobuf.
//
// Models are IR version 8 with opsets ai.onnx 17 and ai.onnx.ml 3. finish() runs
// onnx::checker::check_model and ONNX shape inference; failures throw OnnxExportError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace onnx {
class ModelProto;
class GraphProto;
}

namespace nomaly::onnx_build {

inline constexpr std::int64_t kIrVersion = 8;
inline constexpr std::int64_t kOpsetOnnx = 17;
inline constexpr std::int64_t kOpsetOnnxMl = 3;
inline constexpr const char* kMlDomain = "ai.onnx.ml";

/// A subgraph (the body of Loop, a branch of If) as an attribute value; made by GraphBuilder::end_subgraph.
struct Subgraph {
  std::shared_ptr<const ::onnx::GraphProto> graph;
};

/// A node attribute value.
using AttrValue = std::variant<std::int64_t, float, std::string, std::vector<std::int64_t>, std::vector<float>,
                               std::vector<std::string>, Subgraph>;
struct Attr {
  std::string name;
  AttrValue value;
};

/// ONNX element types used by nomaly (values of onnx::TensorProto_DataType).
enum class Elem : int { Float = 1, Int64 = 7, Bool = 9, Double = 11 };

/// A dimension: a fixed size or a symbolic name (e.g. "N").
using Dim = std::variant<std::int64_t, std::string>;

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string graph_name);
  ~GraphBuilder();
  GraphBuilder(GraphBuilder&&) noexcept;
  GraphBuilder& operator=(GraphBuilder&&) noexcept;

  /// Declares a graph input; returns its name.
  std::string input(const std::string& name, Elem elem, const std::vector<Dim>& dims);
  /// Declares a graph output on an existing value `name`.
  void output(const std::string& name, Elem elem, const std::vector<Dim>& dims);

  /// Adds a float initializer with the given dims; returns its (unique) name.
  std::string initializer(const std::string& name, const std::vector<float>& data, const std::vector<std::int64_t>& dims);
  std::string initializer_int64(const std::string& name, const std::vector<std::int64_t>& data,
                                const std::vector<std::int64_t>& dims);
  /// Adds a float64 initializer (exact double constants, e.g. 1 / n_trees); returns its (unique) name.
  std::string initializer_double(const std::string& name, const std::vector<double>& data,
                                 const std::vector<std::int64_t>& dims);
  /// Scalar float constant (0-d initializer).
  std::string scalar(const std::string& name, float value);

  /// A subgraph input or output: a name (from fresh() for inputs), its element type and its dims (an empty
  /// vector = a scalar; nullopt = shape left to inference).
  struct SubgraphValue {
    std::string name;
    Elem elem;
    std::optional<std::vector<Dim>> dims;
  };
  /// Nodes added after begin_subgraph() go into the subgraph that end_subgraph(mark, ...) returns (they are
  /// removed from the graph being built). Subgraphs may nest; they read outer values and initializers by name.
  std::size_t begin_subgraph() const;
  Subgraph end_subgraph(std::size_t mark, const std::string& name, const std::vector<SubgraphValue>& inputs,
                        const std::vector<SubgraphValue>& outputs);

  /// Adds a node with one output; returns the output's name (`output` if given, else a fresh unique name).
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {},
                   const std::string& domain = "", const std::string& output = "");
  /// Adds a node with several outputs (names given); returns them.
  std::vector<std::string> node_multi(const std::string& op_type, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs, const std::vector<Attr>& attrs = {},
                                      const std::string& domain = "");

  /// Adds a node with n_outputs outputs under fresh names; returns them.
  std::vector<std::string> node_fresh(const std::string& op_type, const std::vector<std::string>& inputs,
                                      std::size_t n_outputs, const std::vector<Attr>& attrs = {});

  /// Adds metadata_props[key] = value. Throws OnnxExportError on a duplicate key.
  void metadata(const std::string& key, const std::string& value);
  void doc_string(const std::string& doc);
  void producer(const std::string& name, const std::string& version);

  /// A fresh value name with the given prefix.
  std::string fresh(const std::string& prefix);

  /// Sets IR version and opsets, runs the checker and shape inference, returns the model.
  /// Throws OnnxExportError("<context>: <reason>") on failure. The builder is left empty.
  ::onnx::ModelProto finish(const std::string& context);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs onnx::checker::check_model and strict shape inference on a model; throws OnnxExportError naming `context`.
void check_model(::onnx::ModelProto& model, const std::string& context);

/// Protobuf cannot serialize (or parse) one message above 2 GiB - 1 bytes, so neither can ONNX in a single file.
inline constexpr std::size_t kMaxModelBytes = 2147483647u;

/// Throws OnnxExportError("<context>: the ONNX model would be N MiB, above ... 2 GiB ...") when bytes > limit.
/// finish() calls it with the model's ByteSizeLong() before the checker (whose own size error is less clear).
void check_model_size(std::size_t bytes, const std::string& context, std::size_t limit = kMaxModelBytes);

}  // namespace nomaly::onnx_build
