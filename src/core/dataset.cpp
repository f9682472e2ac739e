// Dataset helpers.
#include "nomaly/dataset.hpp"

#include <algorithm>

#include "nomaly/errors.hpp"

namespace nomaly {

Dataset Dataset::subset(const std::vector<std::size_t>& row_indices) const {
  if (X.size() != rows * cols)
    throw DataError("Dataset::subset: X holds " + std::to_string(X.size()) + " values, expected " +
                    std::to_string(rows) + " x " + std::to_string(cols));
  if (labels && labels->size() != rows)
    throw DataError("Dataset::subset: " + std::to_string(labels->size()) + " labels for " + std::to_string(rows) +
                    " rows");
  Dataset out;
  out.rows = row_indices.size();
  out.cols = cols;
  out.feature_names = feature_names;
  out.X.resize(out.rows * cols);
  std::vector<int> out_labels;
  if (labels) out_labels.reserve(out.rows);
  for (std::size_t k = 0; k < row_indices.size(); ++k) {
    const std::size_t i = row_indices[k];
    if (i >= rows)
      throw DataError("Dataset::subset: row index " + std::to_string(i) + " is out of range for a dataset of " +
                      std::to_string(rows) + " rows");
    std::copy_n(X.data() + i * cols, cols, out.X.data() + k * cols);
    if (labels) out_labels.push_back((*labels)[i]);
  }
  if (labels) out.labels = std::move(out_labels);
  return out;
}

}  // namespace nomaly
