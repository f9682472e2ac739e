// Feature-column selection by name: the one rule that the CLI, the server and the Python package use to match
// user data to a fitted model's features (scikit-learn's feature_names_in_ check, but selecting instead of
// refusing when the data has extra columns).
#pragma once

#include <string>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly {

/// Matches a dataset's columns to a model's feature names (scoring must never silently use the wrong columns).
///  - `model_features` is empty, or equals data.feature_names: the data is returned as it is.
///  - data has every model feature: those columns are selected and put in the model's order (extra columns
///    are dropped; labels follow).
///  - Otherwise DataError naming `source` and the missing features, except when `positional` is set, data has
///    exactly the model's width and none of its names is a model feature (a renamed header, not a partly
///    matching one): then the columns are taken in order.
/// Shapes: data is n x c; the result is n x model_features.size() (or n x c when returned as it is).
Dataset select_features(Dataset data, const std::vector<std::string>& model_features, bool positional,
                        const std::string& source);

}  // namespace nomaly
