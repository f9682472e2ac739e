// Helpers shared by the persistence tests: a tiny custom detector with no ONNX converter (the stub path),
// temp directories, fitted entities, env guards.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"
#include "nomaly/registry.hpp"
#include "test_util.hpp"

namespace nomaly::test {

/// Squared distance to the training mean: a user-registered detector with no ONNX converter.
class CentroidDetector final : public Detector {
 public:
  explicit CentroidDetector(json params) : Detector("persist_test_centroid", std::move(params)) {}

 protected:
  std::vector<float> fit_impl(MatrixView X) override {
    mean_.assign(X.cols, 0.0f);
    for (std::size_t i = 0; i < X.rows; ++i)
      for (std::size_t j = 0; j < X.cols; ++j) mean_[j] += X(i, j) / static_cast<float>(X.rows);
    std::vector<float> s(X.rows);
    score_impl(X, s.data());
    return s;
  }
  void score_impl(MatrixView X, float* out) const override {
    for (std::size_t i = 0; i < X.rows; ++i) {
      float d = 0.0f;
      for (std::size_t j = 0; j < X.cols; ++j) d += (X(i, j) - mean_[j]) * (X(i, j) - mean_[j]);
      out[i] = d;
    }
  }
  json model_state() const override { return json{{"mean", to_blob(mean_)}}; }
  void load_model_state(const json& s) override { mean_ = floats_from_blob(s, "mean"); }

 private:
  std::vector<float> mean_;
};

inline const char* kCentroid = "persist_test_centroid";

inline void ensure_centroid_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    AlgorithmInfo info;
    info.name = kCentroid;
    info.summary = "test-only: squared distance to the training mean (no ONNX converter)";
    info.reference = "tests/test_persistence_util.hpp";
    info.params = {{"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected outlier share"}};
    info.factory = [](const json& p) { return std::make_unique<CentroidDetector>(p); };
    register_algorithm(std::move(info));
  });
}

/// A fresh directory under the system temp dir, removed on destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("nomaly-persist-" + new_uuid_v4());
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// Sets (or unsets, when value is nullopt) an environment variable for a scope.
struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  EnvGuard(std::string n, const std::optional<std::string>& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    if (value) ::setenv(name.c_str(), value->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

/// Fits `algorithm` on `data` and wraps it in an entity.
inline DetectorEntity fitted_entity(const std::string& algorithm, const Dataset& data, const json& params,
                                    const std::string& name, const std::string& id = "") {
  if (algorithm == kCentroid) ensure_centroid_registered();
  std::shared_ptr<Detector> det = create_detector(algorithm, params);
  det->fit(data.view());
  DetectorEntity e = DetectorEntity::make(det, name, id);
  e.feature_names = data.feature_names;
  return e;
}

/// A small, fast Isolation Forest (ONNX converter available).
inline json small_iforest_params() { return json{{"n_estimators", 10}, {"max_samples", 64}, {"random_state", 7}}; }

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// Files whose name marks them as leftovers of an interrupted save.
inline std::vector<std::string> leftover_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    const std::string n = f.path().filename().string();
    if (n.find(".tmp-") != std::string::npos || n.find(".pending") != std::string::npos) out.push_back(n);
  }
  return out;
}

/// onnxruntime-node installed by scripts/setup.sh into ~/.cache/nomaly/node-ort (NOMALY_NODE_ORT overrides).
inline std::filesystem::path node_ort_dir() {
  if (const char* d = std::getenv("NOMALY_NODE_ORT")) return d;
  const char* home = std::getenv("HOME");
  const char* cache = std::getenv("NOMALY_CACHE");
  const std::filesystem::path base =
      cache ? std::filesystem::path(cache) : std::filesystem::path(home ? home : "/root") / ".cache" / "nomaly";
  return base / "node-ort";
}

}  // namespace nomaly::test
