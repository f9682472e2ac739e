// Tabular data in memory: an n x d row-major float32 matrix with feature names and optional labels.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace nomaly {

/// A read-only view of an n x d row-major float32 matrix. Does not own its data.
struct MatrixView {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  const float* row(std::size_t i) const { return data + i * cols; }
  float operator()(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
  /// Rows [begin, begin+count) as a view.
  MatrixView slice(std::size_t begin, std::size_t count) const { return {data + begin * cols, count, cols}; }
};

/// An owned dataset.
///  - X: rows x cols values, row-major, float32.
///  - feature_names: cols names (f0.. when the source had none).
///  - labels: optional, one 0/1 per row; 1 = anomaly.
struct Dataset {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> X;
  std::vector<std::string> feature_names;
  std::optional<std::vector<int>> labels;

  MatrixView view() const { return {X.data(), rows, cols}; }
  /// A new dataset holding the given rows, in the given order (labels follow).
  Dataset subset(const std::vector<std::size_t>& row_indices) const;
};

}  // namespace nomaly
