// OnnxModel: an ONNX Runtime session with nomaly's I/O resolution (docs/onnx-contract.md).
#include "nomaly/onnx/onnx_model.hpp"

#include <cmath>
#include <onnx/onnx_pb.h>
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <array>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "nomaly/errors.hpp"
#include "onnx/proto_util.hpp"

namespace nomaly {

namespace {

// The cap on ONNX Runtime's CPU memory: NOMALY_ONNX_MAX_MEMORY_MB, else the machine's physical memory.
std::size_t ort_memory_cap() {
  if (const char* v = std::getenv("NOMALY_ONNX_MAX_MEMORY_MB"); v && *v) {
    std::size_t mb = 0;
    const auto res = std::from_chars(v, v + std::strlen(v), mb);
    if (res.ec == std::errc{} && *res.ptr == '\0' && mb > 0) return mb << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : std::size_t{0};
}

// One process-wide environment. A function-local static is constructed before the first session and,
// being destroyed in reverse order of construction, outlives any static that holds a session.
// Second line of defence behind check_sizes (proto_util.hpp): every session allocates from one env arena capped
// at ort_memory_cap(), so a graph that computes an absurd size (which no constant check can foresee) gets an
// ORT error ("Available memory of ... is smaller than requested bytes"), an OnnxModelError, not an OOM kill.
Ort::Env& ort_env() {
  static Ort::Env env = [] {
    Ort::Env e(ORT_LOGGING_LEVEL_WARNING, "nomaly");
    const Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    const Ort::ArenaCfg cfg(ort_memory_cap(), -1, -1, -1);
    e.CreateAndRegisterAllocator(cpu, cfg);
    return e;
  }();
  return env;
}

std::string describe_io(const std::vector<OnnxIoInfo>& ios) {
  std::string s;
  for (const auto& io : ios) {
    if (!s.empty()) s += ", ";
    s += io.name + ": " + io.type + " " + onnx_detail::shape_text(io.shape);
  }
  return s.empty() ? "none" : s;
}

const OnnxIoInfo* find_io(const std::vector<OnnxIoInfo>& ios, const std::string& name) {
  for (const auto& io : ios)
    if (io.name == name) return &io;
  return nullptr;
}

bool is_float_tensor(const OnnxIoInfo& io) { return io.type == "tensor(float)" || io.type == "tensor(double)"; }
bool is_int_tensor(const OnnxIoInfo& io) { return io.type == "tensor(int64)" || io.type == "tensor(int32)"; }
// [N] or [N, 1]: one value per row.
bool is_column(const OnnxIoInfo& io) { return io.shape.size() == 1 || (io.shape.size() == 2 && io.shape[1] == 1); }

OnnxMetadata parse_metadata(const ::onnx::ModelProto& model, const std::string& name) {
  OnnxMetadata m;
  m.producer_name = model.producer_name();
  m.producer_version = model.producer_version();
  m.doc_string = model.doc_string();
  m.ir_version = model.ir_version();
  for (const auto& op : model.opset_import()) m.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  for (const auto& p : model.metadata_props()) m.props[p.key()] = p.value();

  auto get = [&](const char* key, std::string& out) {
    if (auto it = m.props.find(key); it != m.props.end()) out = it->second;
  };
  get("nomaly.algorithm", m.algorithm);
  get("nomaly.params", m.params_json);
  get("nomaly.detector_id", m.detector_id);
  get("nomaly.detector_name", m.detector_name);
  get("nomaly.trained_at", m.trained_at);
  get("nomaly.version", m.version);
  get("nomaly.score", m.score_doc);
  get("nomaly.contamination", m.contamination);

  auto bad = [&](const std::string& key, const std::string& value, const std::string& why) {
    return OnnxModelError(name + ": metadata " + key + " = '" + value + "' is malformed: " + why);
  };
  if (auto it = m.props.find("nomaly.threshold"); it != m.props.end()) {
    const std::string& v = it->second;
    double t = 0;
    auto res = std::from_chars(v.data(), v.data() + v.size(), t);
    if (res.ec != std::errc{} || res.ptr != v.data() + v.size()) throw bad(it->first, v, "not a number");
    m.threshold = t;
  }
  if (auto it = m.props.find("nomaly.n_features"); it != m.props.end()) {
    const std::string& v = it->second;
    std::size_t n = 0;
    auto res = std::from_chars(v.data(), v.data() + v.size(), n);
    if (res.ec != std::errc{} || res.ptr != v.data() + v.size()) throw bad(it->first, v, "not a non-negative integer");
    m.n_features = n;
  }
  if (auto it = m.props.find("nomaly.feature_names"); it != m.props.end()) {
    const auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) throw bad(it->first, it->second, "not a JSON array");
    for (const auto& e : j) {
      if (!e.is_string()) throw bad(it->first, it->second, "not an array of strings");
      m.feature_names.push_back(e.get<std::string>());
    }
  }
  return m;
}

}  // namespace

struct OnnxModel::Impl {
  std::string name;
  OnnxOptions options;
  OnnxMetadata metadata;
  OnnxStyle style = OnnxStyle::Nomaly;
  std::vector<OnnxIoInfo> inputs, outputs;
  std::size_t n_features = 0;
  double load_seconds = 0;
  std::string input_name, scores_name, label_name;  // label_name empty for SingleOutput
  bool scores_double = false, label_int32 = false;
  Ort::Session session{nullptr};

  void resolve_io();
  void run_batch(MatrixView X, OnnxScore& out);
};

void OnnxModel::Impl::resolve_io() {
  auto layout_error = [&](const std::string& why) {
    return OnnxModelError(name + ": " + why + ". Model inputs: " + describe_io(inputs) +
                          "; outputs: " + describe_io(outputs) +
                          ". Supported layouts: nomaly (X -> scores [N] float, label [N] int64), skl2onnx "
                          "(label, scores [N,1]) or a single float output");
  };

  // Input: "X", else the only input; it must be a float [N, d] tensor.
  const OnnxIoInfo* in = find_io(inputs, "X");
  if (inputs.size() == 1) in = &inputs[0];
  if (!in || inputs.size() != 1) throw layout_error("expected exactly one input (named X)");
  if (in->type != "tensor(float)" || in->shape.size() != 2) throw layout_error("input must be tensor(float) [N, d]");
  input_name = in->name;
  n_features = in->shape[1] > 0 ? static_cast<std::size_t>(in->shape[1]) : 0;

  const OnnxIoInfo* scores = find_io(outputs, "scores");
  const OnnxIoInfo* label = find_io(outputs, "label");
  if (scores && label) {
    if (!is_float_tensor(*scores) || !is_column(*scores)) throw layout_error("output 'scores' must be float [N] or [N,1]");
    if (!is_int_tensor(*label) || !is_column(*label)) throw layout_error("output 'label' must be int64 [N] or [N,1]");
    // skl2onnx's outlier detectors emit decision_function as [N,1]; nomaly always emits [N].
    const bool skl = metadata.producer_name == "skl2onnx" || scores->shape.size() == 2;
    style = skl ? OnnxStyle::Skl2onnx : OnnxStyle::Nomaly;
    scores_name = scores->name;
    label_name = label->name;
    scores_double = scores->type == "tensor(double)";
    label_int32 = label->type == "tensor(int32)";
    return;
  }
  if (outputs.size() == 1 && is_float_tensor(outputs[0]) && is_column(outputs[0])) {
    style = OnnxStyle::SingleOutput;
    scores_name = outputs[0].name;
    scores_double = outputs[0].type == "tensor(double)";
    return;
  }
  throw layout_error("unrecognised output layout");
}

void OnnxModel::Impl::run_batch(MatrixView X, OnnxScore& out) {
  const Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const std::array<std::int64_t, 2> shape{static_cast<std::int64_t>(X.rows), static_cast<std::int64_t>(X.cols)};
  // ORT's API takes a mutable pointer but never writes to an input tensor.
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(X.data), X.rows * X.cols, shape.data(),
                                                     shape.size());
  const char* in_names[] = {input_name.c_str()};
  std::vector<const char*> out_names{scores_name.c_str()};
  if (!label_name.empty()) out_names.push_back(label_name.c_str());
  std::vector<Ort::Value> results =
      session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names.data(), out_names.size());

  auto check_count = [&](const Ort::Value& v, const std::string& what) {
    const std::size_t n = v.GetTensorTypeAndShapeInfo().GetElementCount();
    if (n != X.rows) {
      throw OnnxModelError(name + ": output '" + what + "' has " + std::to_string(n) + " values for " +
                           std::to_string(X.rows) + " rows");
    }
  };
  check_count(results[0], scores_name);
  const float sign = style == OnnxStyle::Skl2onnx ? -1.0f : 1.0f;  // decision_function: lower = more anomalous
  if (scores_double) {
    const double* s = results[0].GetTensorData<double>();
    for (std::size_t i = 0; i < X.rows; ++i) out.scores.push_back(sign * static_cast<float>(s[i]));
  } else {
    const float* s = results[0].GetTensorData<float>();
    for (std::size_t i = 0; i < X.rows; ++i) out.scores.push_back(sign * s[i]);
  }

  if (label_name.empty()) {
    // No label output: threshold from nomaly.threshold when present, else every row is labelled 0.
    for (std::size_t i = out.labels.size(); i < out.scores.size(); ++i) {
      out.labels.push_back(metadata.threshold && static_cast<double>(out.scores[i]) > *metadata.threshold ? 1 : 0);
    }
    return;
  }
  check_count(results[1], label_name);
  for (std::size_t i = 0; i < X.rows; ++i) {
    const std::int64_t v = label_int32 ? results[1].GetTensorData<std::int32_t>()[i]
                                       : results[1].GetTensorData<std::int64_t>()[i];
    if (style == OnnxStyle::Skl2onnx) {
      // sklearn outlier detectors predict -1 for outliers and 1 for inliers.
      if (v != -1 && v != 1) {
        throw OnnxModelError(name + ": skl2onnx label output holds " + std::to_string(v) + " (expected -1 or 1)");
      }
      out.labels.push_back(v == -1 ? 1 : 0);
    } else {
      if (v != 0 && v != 1) {
        throw OnnxModelError(name + ": label output holds " + std::to_string(v) + " (expected 0 or 1)");
      }
      out.labels.push_back(static_cast<int>(v));
    }
  }
}

OnnxModel::OnnxModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OnnxModel::~OnnxModel() = default;
OnnxModel::OnnxModel(OnnxModel&&) noexcept = default;
OnnxModel& OnnxModel::operator=(OnnxModel&&) noexcept = default;

OnnxModel OnnxModel::load_file(const std::string& path, const OnnxOptions& options) {
  return load_bytes(onnx_detail::read_model_file(path), path, options);
}

OnnxModel OnnxModel::load_bytes(const std::string& bytes, const std::string& name, const OnnxOptions& options) {
  // Parse and check before ORT sees anything, so corrupt input fails with a clear, typed error.
  const ::onnx::ModelProto proto = onnx_detail::parse_and_check(bytes, name);

  auto impl = std::make_unique<Impl>();
  impl->name = name;
  impl->options = options;
  impl->metadata = parse_metadata(proto, name);
  impl->inputs = onnx_detail::graph_inputs(proto.graph());
  impl->outputs = onnx_detail::graph_outputs(proto.graph());
  impl->resolve_io();
  if (impl->metadata.n_features && impl->n_features && *impl->metadata.n_features != impl->n_features) {
    throw OnnxModelError(name + ": metadata nomaly.n_features = " + std::to_string(*impl->metadata.n_features) +
                         " but input " + impl->input_name + " has " + std::to_string(impl->n_features) + " columns");
  }

  try {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(std::max(0, options.intra_op_threads));
    so.SetInterOpNumThreads(1);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    so.AddConfigEntry("session.use_env_allocators", "1");  // the capped arena of ort_env()
    const auto t0 = std::chrono::steady_clock::now();
    impl->session = Ort::Session(ort_env(), bytes.data(), bytes.size(), so);
    impl->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception& e) {  // Ort::Exception derives from std::exception
    throw OnnxModelError(name + ": ONNX Runtime cannot load the model: " + e.what());
  }
  return OnnxModel(std::move(impl));
}

const OnnxMetadata& OnnxModel::metadata() const { return impl_->metadata; }
OnnxStyle OnnxModel::style() const { return impl_->style; }
const std::vector<OnnxIoInfo>& OnnxModel::inputs() const { return impl_->inputs; }
const std::vector<OnnxIoInfo>& OnnxModel::outputs() const { return impl_->outputs; }
std::size_t OnnxModel::n_features() const { return impl_->n_features; }
double OnnxModel::load_seconds() const { return impl_->load_seconds; }

OnnxScore OnnxModel::score(MatrixView X, std::size_t batch_size) const {
  Impl& m = *impl_;
  if (m.n_features != 0 && X.cols != m.n_features) {
    throw DataError(m.name + ": expected " + std::to_string(m.n_features) + " features, got " + std::to_string(X.cols));
  }
  OnnxScore out;
  if (X.rows == 0) return out;
  if (X.cols == 0 || X.data == nullptr) throw DataError(m.name + ": input matrix has no columns or no data");
  std::size_t bs = batch_size ? batch_size : m.options.batch_size;
  if (bs == 0) bs = X.rows;
  out.scores.reserve(X.rows);
  out.labels.reserve(X.rows);
  try {
    for (std::size_t begin = 0; begin < X.rows; begin += bs) {
      m.run_batch(X.slice(begin, std::min(bs, X.rows - begin)), out);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw OnnxModelError(m.name + ": ONNX Runtime failed to run the model: " + e.what());
  }
  // A NaN score has no rank: it would pass as "not anomalous" (label 0) or reach ROC-AUC as bad data. No nomaly
  // graph computes one from finite input, so it means a damaged or foreign model (inf is kept: kNN can overflow).
  for (std::size_t i = 0; i < out.scores.size(); ++i)
    if (std::isnan(out.scores[i]))
      throw OnnxModelError(m.name + ": the model produced a NaN score for row " + std::to_string(i) +
                           " (finite input); the model is damaged or does not compute an anomaly score");
  return out;
}

}  // namespace nomaly
