#include "nomaly/registry.hpp"

#include <cctype>
#include <mutex>

#include "detectors/builtin.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"

namespace nomaly {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<AlgorithmInfo> algorithms;
};

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Registry& raw_registry() {
  static Registry r;
  return r;
}

void add(Registry& r, AlgorithmInfo info) {
  for (const auto& a : r.algorithms)
    if (a.name == info.name) throw ParameterError("algorithm '" + info.name + "' is already registered");
  r.algorithms.push_back(std::move(info));
}

// Built-ins register through the public hook on first use, so a static library needs no whole-archive tricks.
Registry& registry() {
  static std::once_flag once;
  std::call_once(once, [] {
    detail::register_iforest();
    detail::register_lof();
    detail::register_knn();
    detail::register_pca();
    detail::register_mcd();
    detail::register_hbos();
    detail::register_ecod();
    detail::register_copod();
    detail::register_ocsvm();
    detail::register_autoencoder();
    detail::register_deepsvdd();
  });
  return raw_registry();
}

}  // namespace

void register_algorithm(AlgorithmInfo info) {
  // Built-in hooks run inside call_once and must not re-enter registry().
  Registry& r = raw_registry();
  std::lock_guard lock(r.mu);
  add(r, std::move(info));
}

std::vector<AlgorithmInfo> list_algorithms() {
  Registry& r = registry();
  std::vector<AlgorithmInfo> out;
  {
    std::lock_guard lock(r.mu);
    out = r.algorithms;
  }
  // Read at call time, like every use of the flag: deep detectors cannot be created while it is off.
  if (!deep_learning_enabled())
    for (auto& a : out)
      if (a.deep && a.available) a.available = false, a.unavailable_reason = kDeepLearningDisabledMessage;
  return out;
}

AlgorithmInfo algorithm_info(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  // PyOD class names whose lower case is not the nomaly name (IForest, LOF, OCSVM, ... already are).
  const std::string key = lower(name) == "isolationforest" ? "iforest" : lower(name);
  std::string known;
  for (const auto& a : r.algorithms) {
    if (a.name == name || lower(a.name) == key) return a;
    known += (known.empty() ? "" : ", ") + a.name;
  }
  throw ParameterError("unknown algorithm '" + name + "'; known algorithms: " + known);
}

std::string contamination_auto_rule(const std::string& algorithm) {
  const std::string a = algorithm_info(algorithm).name;
  if (a == "iforest") return "threshold 0.5 on the score (scikit-learn's IsolationForest offset -0.5, Liu et al. 2008)";
  if (a == "lof") return "threshold 1.5 on the LOF score (scikit-learn's LocalOutlierFactor offset -1.5)";
  return "90th percentile of the training scores (PyOD's default contamination 0.1; no reference rule for auto)";
}

std::unique_ptr<Detector> create_detector(const std::string& name, const json& params) {
  AlgorithmInfo info = algorithm_info(name);
  if (info.deep) require_deep_learning();
  if (!info.available) throw DependencyMissing(name + ": " + info.unavailable_reason);
  return info.factory(merge_params(info.params, params, name));
}

std::unique_ptr<Detector> restore_detector(const json& state) {
  std::string name;
  json params;
  try {
    name = state.at("algorithm").get<std::string>();
    params = state.at("params");
  } catch (const json::exception& e) {
    throw CorruptModel(std::string("malformed model state: ") + e.what());
  }
  std::unique_ptr<Detector> d;
  try {
    d = create_detector(name, params);
  } catch (const ParameterError& e) {
    throw CorruptModel(std::string("model state has invalid parameters: ") + e.what());
  }
  d->restore(state);
  return d;
}

}  // namespace nomaly
