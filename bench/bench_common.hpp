// Shared pieces of the speed benchmarks: the synthetic data (bit-for-bit reproducible in numpy, so
// bench/sklearn_speed.py times scikit-learn on the same rows), the size plan per detector family, and
// peak-RSS probes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly::bench {

/// splitmix64 (Steele et al. 2014): a counter-based generator, so numpy can vectorise the same stream.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Uniform [0, 1) double from stream `seed`, counter `i` (53 random bits).
inline double unit(std::uint64_t seed, std::uint64_t i) {
  return static_cast<double>(splitmix64((seed << 40) + i) >> 11) * 0x1.0p-53;
}

/// rows x cols row-major float32: standard normal inliers (Box-Muller), every 100th row (r % 100 == 99) an
/// outlier drawn uniformly from [-6, 6]^cols. Mirrors synthetic() in bench/sklearn_speed.py.
inline std::vector<float> synthetic(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::vector<float> X(rows * cols);
  constexpr double kTwoPi = 6.283185307179586;
  for (std::size_t r = 0; r < rows; ++r) {
    const bool outlier = r % 100 == 99;
    for (std::size_t j = 0; j < cols; ++j) {
      const std::uint64_t idx = r * cols + j;
      const double u1 = unit(seed, 2 * idx), u2 = unit(seed, 2 * idx + 1);
      X[idx] = static_cast<float>(outlier ? -6.0 + 12.0 * u1 : std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(kTwoPi * u2));
    }
  }
  return X;
}

inline constexpr std::size_t kCols = 10;
inline constexpr std::uint64_t kTrainSeed = 1, kTestSeed = 2;
/// Scoring uses at most this many held-out rows; it is also the "100k" batch size.
inline constexpr std::size_t kBulkRows = 100000;
/// Exported models above this size are not loaded into ONNX Runtime (the session needs several times it).
inline constexpr std::size_t kMaxOrtModelBytes = std::size_t{256} << 20;

/// Training sizes per detector (issue 7): 100k and 1M for the tree and fast statistical detectors whose
/// model size does not grow with n (iforest, hbos, pca); 100k for MCD (FastMCD's C-steps dominate the fit) and
/// for ECOD/COPOD, whose exported model embeds every training value (~1 GB at 1M x 10, more than ONNX Runtime
/// can load in the bench's memory budget); 20k for neighbour detectors and the networks; 10k for OCSVM
/// (libsvm's SMO is quadratic in n, and with nu = 0.5 half the rows become support vectors).
/// An algorithm this table does not know (a newly registered one) gets 20k, which is safe for any family.
inline std::vector<std::size_t> train_sizes(const std::string& algorithm) {
  if (algorithm == "iforest" || algorithm == "hbos" || algorithm == "pca") return {100000, 1000000};
  if (algorithm == "mcd" || algorithm == "ecod" || algorithm == "copod") return {100000};
  if (algorithm == "ocsvm") return {10000};
  return {20000};
}

/// Current and peak resident set size of this process, in MiB, from /proc/self/status.
inline double proc_status_mib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;  // value is in kB
  return 0.0;
}

/// Resets the peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0, "5" to clear_refs), so a later
/// peak_rss_mib() reports the peak of the code in between. Returns false where that is not allowed;
/// the peak is then the process-wide getrusage-style maximum.
inline bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}
inline double rss_mib() { return proc_status_mib("VmRSS"); }
inline double peak_rss_mib() { return proc_status_mib("VmHWM"); }

}  // namespace nomaly::bench
