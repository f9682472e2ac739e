// The algorithm registry: every detector, built-in or user-registered, is created by name here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

struct AlgorithmInfo {
  std::string name;       ///< registry key, e.g. "iforest"
  std::string summary;    ///< one line for `nomaly algorithms`
  std::string reference;  ///< paper / library whose behaviour it follows
  std::vector<ParamSpec> params;  ///< must include "contamination"
  bool deep = false;       ///< gated by NOMALY_DEEP_LEARNING
  bool available = true;   ///< false when the build lacks a dependency (e.g. libtorch)
  std::string unavailable_reason;
  /// Creates an unfitted detector from full (already merged and validated) parameters.
  std::function<std::unique_ptr<Detector>(const json& params)> factory;
};

/// Registers an algorithm (e.g. a user's custom detector). Throws ParameterError on a duplicate name.
void register_algorithm(AlgorithmInfo info);

/// All registered algorithms, built-ins first, in registration order. With NOMALY_DEEP_LEARNING false the
/// deep detectors are listed unavailable, unavailable_reason = kDeepLearningDisabledMessage.
std::vector<AlgorithmInfo> list_algorithms();

/// The info for `name`, matched case-insensitively; PyOD's class names are accepted (IForest or
/// IsolationForest, LOF, KNN, PCA, MCD, HBOS, ECOD, COPOD, OCSVM, AutoEncoder, DeepSVDD). Throws
/// ParameterError listing the known names.
AlgorithmInfo algorithm_info(const std::string& name);

/// What contamination "auto" means for `algorithm`, in words: the reference library's rule where it defines one
/// (Isolation Forest: 0.5 as sklearn's offset -0.5; LOF: 1.5 as sklearn's offset -1.5), else the 90th
/// percentile of the training scores (PyOD's default contamination 0.1).
std::string contamination_auto_rule(const std::string& algorithm);

/// Creates an unfitted detector. Merges `params` over the defaults (ParameterError for unknown names or
/// bad values). Deep algorithms throw FeatureDisabled when NOMALY_DEEP_LEARNING is false, and
/// DependencyMissing when the build lacks libtorch.
std::unique_ptr<Detector> create_detector(const std::string& name, const json& params = json::object());

/// Recreates a fitted detector from Detector::state(). Throws CorruptModel on a malformed state.
std::unique_ptr<Detector> restore_detector(const json& state);

}  // namespace nomaly
