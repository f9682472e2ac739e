#include "nomaly/columns.hpp"

#include <algorithm>

#include "core/csv_records.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

Dataset select_features(Dataset data, const std::vector<std::string>& names, bool positional, const std::string& file) {
  if (names.empty() || names == data.feature_names) return data;
  std::vector<std::size_t> idx;
  std::vector<std::string> missing;
  for (const auto& n : names) {
    const auto it = std::find(data.feature_names.begin(), data.feature_names.end(), n);
    if (it == data.feature_names.end()) missing.push_back(n);
    else idx.push_back(static_cast<std::size_t>(it - data.feature_names.begin()));
  }
  if (missing.empty()) {
    Dataset out;
    out.rows = data.rows;
    out.cols = idx.size();
    out.feature_names = names;
    out.labels = data.labels;
    out.X.resize(out.rows * out.cols);
    for (std::size_t i = 0; i < out.rows; ++i)
      for (std::size_t j = 0; j < out.cols; ++j) out.X[i * out.cols + j] = data.X[i * data.cols + idx[j]];
    return out;
  }
  const bool none_match = idx.empty();
  const bool same_width = data.cols == names.size();
  if (positional && none_match && same_width) return data;
  std::string list;
  const std::size_t shown = std::min<std::size_t>(missing.size(), 10);
  for (std::size_t k = 0; k < shown; ++k) list += (k ? ", " : "") + detail::escape_text(missing[k]);
  if (missing.size() > shown) list += ", ... (" + std::to_string(missing.size()) + " in all)";
  std::string msg = file + ": missing feature column" + (missing.size() > 1 ? "s " : " ") + list +
                    " (the model was trained on " + std::to_string(names.size()) + " named features; the data has " +
                    std::to_string(data.cols) + " feature column" + (data.cols == 1 ? ")" : "s)");
  if (positional)
    msg += none_match ? "; --positional needs exactly " + std::to_string(names.size()) + " feature columns"
                      : "; --positional applies only when no header name matches a model feature";
  else if (none_match && same_width)
    msg += "; pass --positional to score the columns in order";
  throw DataError(msg);
}

}  // namespace nomaly
