// COPOD is computed exactly as ECOD (as in PyOD), so it exports through the same step-tree converter.
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly::detail {

void register_copod_converter() { register_onnx_converter("copod", convert_ecdf_tail_detector); }

}  // namespace nomaly::detail
