#include "nomaly/persistence/scorer.hpp"

#include "nomaly/errors.hpp"

namespace nomaly {

NativeScorer::NativeScorer(std::shared_ptr<const Detector> detector, ModelInfo info)
    : Scorer(std::move(info)), detector_(std::move(detector)) {
  if (!detector_ || !detector_->is_fitted()) throw NotFittedError("NativeScorer needs a fitted detector");
  info_.threshold = detector_->threshold();
  info_.n_features = detector_->n_features();
  info_.algorithm = detector_->algorithm();
  info_.parameters = detector_->params();
  info_.contamination = detector_->contamination();
}

ScoreResult NativeScorer::score(MatrixView X, std::size_t batch_size) const {
  ScoreResult r;
  if (batch_size == 0 || batch_size >= X.rows) {
    r.scores = detector_->score_samples(X);
  } else {
    if (X.cols != detector_->n_features()) r.scores = detector_->score_samples(X);  // throws the width error
    r.scores.reserve(X.rows);
    for (std::size_t b = 0; b < X.rows; b += batch_size) {
      const auto part = detector_->score_samples(X.slice(b, std::min(batch_size, X.rows - b)));
      r.scores.insert(r.scores.end(), part.begin(), part.end());
    }
  }
  r.labels = detector_->labels_for(r.scores);
  return r;
}

OnnxScorer::OnnxScorer(OnnxModel model, ModelInfo info) : Scorer(std::move(info)), model_(std::move(model)) {
  const OnnxMetadata& m = model_.metadata();
  if (m.threshold) info_.threshold = static_cast<float>(*m.threshold);
  if (model_.n_features()) info_.n_features = model_.n_features();
  if (info_.algorithm.empty()) info_.algorithm = m.algorithm;
  if (info_.name.empty()) info_.name = m.detector_name;
  if (info_.detector_id.empty()) info_.detector_id = m.detector_id;
  if (info_.trained_at.empty()) info_.trained_at = m.trained_at;
  if (info_.feature_names.empty()) info_.feature_names = m.feature_names;
  if ((info_.parameters.is_null() || info_.parameters.empty()) && !m.params_json.empty())
    info_.parameters = json::parse(m.params_json, nullptr, false);
  if (info_.parameters.is_discarded()) info_.parameters = json::object();
  if (!m.contamination.empty() && info_.contamination == "auto") {
    const json c = json::parse(m.contamination, nullptr, false);
    info_.contamination = c.is_discarded() ? json(m.contamination) : c;
  }
  info_.format = "onnx";
}

ScoreResult OnnxScorer::score(MatrixView X, std::size_t batch_size) const {
  OnnxScore s = model_.score(X, batch_size);
  return ScoreResult{std::move(s.scores), std::move(s.labels)};
}

}  // namespace nomaly
