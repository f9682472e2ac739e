// Fixtures shared by the fuzz targets and the seed generator. Everything here is deterministic (fixed
// seeds, fixed timestamps), so a seed written by make_seeds (e.g. a stub naming a native file's sha256)
// still matches the fixture the fuzz target rebuilds at start-up.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "nomaly/dataset.hpp"
#include "nomaly/persistence/entity.hpp"
#include "nomaly/registry.hpp"

namespace nomaly::fuzz {

/// Store warnings (e.g. "skipping a damaged metadata.json") would be printed for most inputs.
inline void quiet_logs() { spdlog::set_level(spdlog::level::off); }

/// n x d uniform values in [-3, 3] with a fixed seed (no std::normal_distribution: its output is
/// implementation-defined).
inline Dataset small_data(std::size_t n = 48, std::size_t d = 3, unsigned seed = 7) {
  std::mt19937 rng(seed);
  Dataset ds;
  ds.rows = n;
  ds.cols = d;
  ds.X.resize(n * d);
  for (float& v : ds.X) v = static_cast<float>(static_cast<double>(rng()) / 4294967296.0 * 6.0 - 3.0);
  for (std::size_t j = 0; j < d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  return ds;
}

/// A fitted entity with fixed id and timestamps.
inline DetectorEntity fixture_entity(const std::string& algorithm = "iforest", const json& params = json::object()) {
  std::shared_ptr<Detector> det = create_detector(algorithm, params);
  const Dataset ds = small_data();
  det->fit(ds.view());
  DetectorEntity e = DetectorEntity::make(det, "fuzz-" + algorithm, "fuzz_" + algorithm);
  e.created_at = "2024-01-01T00:00:00Z";
  e.trained_at = "2024-01-01T00:00:00Z";
  e.feature_names = ds.feature_names;
  return e;
}

inline json fixture_params(const std::string& algorithm) {
  if (algorithm == "iforest") return {{"n_estimators", 4}, {"max_samples", 16}, {"random_state", 1}};
  if (algorithm == "knn" || algorithm == "lof") return {{"n_neighbors", 5}};
  if (algorithm == "mcd") return {{"random_state", 1}};
  return json::object();
}

/// A per-process scratch directory under $TMPDIR, removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() / ("nomaly-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace nomaly::fuzz
