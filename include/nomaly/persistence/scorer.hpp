// A fitted scoring detector, whatever its file format: what ModelPersistenceService::load_model and
// open_model_path return. Two implementations: a native Detector (bit-exact with the saved one) and
// an ONNX Runtime session (nomaly::OnnxModel).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"
#include "nomaly/detector.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/params.hpp"

namespace nomaly {

/// What a loaded model knows about itself. For ONNX models these come from metadata.json and the
/// model's nomaly.* metadata_props (Pynomaly lost them on load).
struct ModelInfo {
  std::string detector_id;
  std::string name;
  std::string algorithm;
  json parameters = json::object();
  json contamination = "auto";
  float threshold = 0.0f;        ///< decision threshold on scores (float32-exact)
  std::size_t n_features = 0;    ///< input width d; 0 when an ONNX model leaves it symbolic
  std::vector<std::string> feature_names;
  std::string trained_at;
  std::string format;            ///< "native" or "onnx"
  bool stub = false;             ///< loaded from an ONNX stub, served by the native model beside it
  /// The store's metadata.json (with the caller's merged fields) when loaded through the service;
  /// an export's config.json when opened from an export directory; else an empty object.
  json metadata = json::object();
};

/// Scores and labels of n rows: scores higher = more anomalous, labels 1 = anomaly (score > threshold).
struct ScoreResult {
  std::vector<float> scores;
  std::vector<int> labels;
};

/// A fitted scoring detector. Thread-safe: score() may be called concurrently.
class Scorer {
 public:
  virtual ~Scorer() = default;
  const ModelInfo& info() const { return info_; }
  /// Scores X (rows x n_features). DataError on a wrong width or non-finite values (native) / wrong
  /// width (ONNX). batch_size > 0 scores in chunks (ONNX: rows per Run; native: rows per call).
  virtual ScoreResult score(MatrixView X, std::size_t batch_size = 0) const = 0;
  /// The native detector when this scorer is one, else nullptr.
  virtual const Detector* native() const { return nullptr; }
  /// The ONNX session when this scorer is one, else nullptr.
  virtual const OnnxModel* onnx() const { return nullptr; }

 protected:
  explicit Scorer(ModelInfo info) : info_(std::move(info)) {}
  ModelInfo info_;
};

/// Scores with a native Detector (fitted).
class NativeScorer final : public Scorer {
 public:
  NativeScorer(std::shared_ptr<const Detector> detector, ModelInfo info);
  ScoreResult score(MatrixView X, std::size_t batch_size = 0) const override;
  const Detector* native() const override { return detector_.get(); }

 private:
  std::shared_ptr<const Detector> detector_;
};

/// Scores with ONNX Runtime. Threshold: the model's nomaly.threshold (labels come from the model's
/// own label output when it has one).
class OnnxScorer final : public Scorer {
 public:
  OnnxScorer(OnnxModel model, ModelInfo info);
  ScoreResult score(MatrixView X, std::size_t batch_size = 0) const override;
  const OnnxModel* onnx() const override { return &model_; }

 private:
  OnnxModel model_;
};

}  // namespace nomaly
