#include "onnx/converters.hpp"

namespace nomaly::detail {

void register_builtin_converters() {
  register_iforest_converter();
  register_lof_converter();
  register_knn_converter();
  register_pca_converter();
  register_mcd_converter();
  register_hbos_converter();
  register_ecod_converter();
  register_copod_converter();
  register_ocsvm_converter();
  register_deep_converters();
}

}  // namespace nomaly::detail
