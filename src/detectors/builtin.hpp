// Registration hooks of the built-in detectors (one per algorithm file), called once by the registry.
#pragma once

#include "nomaly/registry.hpp"

namespace nomaly::detail {

void register_iforest();
void register_lof();  // zoo A: lof.cpp, knn.cpp, pca.cpp, mcd.cpp
void register_knn();
void register_pca();
void register_mcd();
void register_hbos();  // zoo B: hbos.cpp, ecod.cpp, copod.cpp, ocsvm.cpp
void register_ecod();
void register_copod();
void register_ocsvm();
void register_autoencoder();  // deep/deep_torch.cpp, or nodeep/deep_stub.cpp without libtorch
void register_deepsvdd();
// Detector-zoo and deep detectors add their hooks here and call them in registry.cpp's register_builtins().

}  // namespace nomaly::detail
