#include "onnx/converters.hpp"

namespace nomaly::detail {

void register_builtin_converters() {
  register_iforest_converter();
}

}  // namespace nomaly::detail
