// Scoring ONNX models with ONNX Runtime: nomaly's own exports and third-party anomaly models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly {

/// How the model's outputs were resolved.
enum class OnnxStyle {
  Nomaly,       ///< X -> scores [N], label [N] (higher = more anomalous)
  Skl2onnx,     ///< label [N] or [N,1] and scores [N,1] = decision_function (lower = more anomalous; negated)
  SingleOutput  ///< one float output, taken as scores (higher = more anomalous)
};

/// metadata_props and model header, parsed.
struct OnnxMetadata {
  std::map<std::string, std::string> props;  ///< all metadata_props
  std::string producer_name, producer_version, doc_string;
  std::int64_t ir_version = 0;
  std::map<std::string, std::int64_t> opsets;  ///< domain ("" = ai.onnx) -> version
  // nomaly.* fields when present:
  std::string algorithm, params_json, detector_id, detector_name, trained_at, version, score_doc;
  std::optional<double> threshold;
  std::string contamination;  ///< "auto" or the number as written
  std::optional<std::size_t> n_features;
  std::vector<std::string> feature_names;
};

struct OnnxIoInfo {
  std::string name;
  std::string type;                 ///< e.g. "tensor(float)"
  std::vector<std::int64_t> shape;  ///< -1 for symbolic dims
};

struct OnnxScore {
  std::vector<float> scores;  ///< higher = more anomalous
  std::vector<int> labels;    ///< from the model's label output, or score > threshold when it has none
};

struct OnnxOptions {
  int intra_op_threads = 0;      ///< 0 = ORT default (all cores)
  std::size_t batch_size = 0;    ///< rows per Run; 0 = all at once
};

/// An ONNX Runtime session with nomaly's I/O resolution. Thread-safe: score() may be called concurrently.
/// Load errors (empty, truncated or non-ONNX bytes, a model no ORT can run, an unrecognised I/O layout)
/// throw OnnxModelError; the message lists the model's inputs and outputs when the layout is the problem.
/// Bytes are validated with the ONNX protobuf parser and checker before they reach ONNX Runtime.
class OnnxModel {
 public:
  static OnnxModel load_file(const std::string& path, const OnnxOptions& options = {});
  static OnnxModel load_bytes(const std::string& bytes, const std::string& name = "<bytes>",
                              const OnnxOptions& options = {});
  ~OnnxModel();
  OnnxModel(OnnxModel&&) noexcept;
  OnnxModel& operator=(OnnxModel&&) noexcept;

  const OnnxMetadata& metadata() const;
  OnnxStyle style() const;
  const std::vector<OnnxIoInfo>& inputs() const;
  const std::vector<OnnxIoInfo>& outputs() const;
  /// Input width d, or 0 when the model leaves it symbolic.
  std::size_t n_features() const;
  /// Session creation time in seconds.
  double load_seconds() const;

  /// Scores X (rows x n_features float32). DataError when the width differs (expected vs actual);
  /// OnnxModelError when ONNX Runtime fails or a score is NaN (a damaged or foreign model; inf is returned as is).
  /// batch_size 0 uses the options' batch size.
  OnnxScore score(MatrixView X, std::size_t batch_size = 0) const;

 private:
  struct Impl;
  explicit OnnxModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nomaly
