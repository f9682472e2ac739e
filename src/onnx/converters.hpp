// Registration hooks of the built-in ONNX converters (one file per detector), called once by export.cpp.
#pragma once

namespace nomaly::detail {

void register_builtin_converters();  // defined in converters.cpp: calls each hook below
void register_iforest_converter();
void register_lof_converter();  // zoo A: convert_lof/knn/pca/mcd.cpp
void register_knn_converter();
void register_pca_converter();
void register_mcd_converter();
void register_hbos_converter();  // zoo B: convert_hbos/ecod/copod/ocsvm.cpp
void register_ecod_converter();
void register_copod_converter();
void register_ocsvm_converter();
void register_deep_converters();  // convert_deep.cpp: autoencoder, deepsvdd

}  // namespace nomaly::detail
