// COPOD shares ECOD's tables (only the per-feature rule differs), so it exports through the same step lookup.
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly::detail {

void register_copod_converter() { register_onnx_converter("copod", convert_ecdf_tail_detector); }

}  // namespace nomaly::detail
