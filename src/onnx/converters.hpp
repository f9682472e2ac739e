// Registration hooks of the built-in ONNX converters (one file per detector), called once by export.cpp.
#pragma once

namespace nomaly::detail {

void register_builtin_converters();  // defined in converters.cpp: calls each hook below
void register_iforest_converter();

}  // namespace nomaly::detail
