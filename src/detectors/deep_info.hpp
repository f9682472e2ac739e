// Registry entries of the deep detectors without their factories, shared by the libtorch build
// (src/detectors/deep/) and the torch-less stub (src/detectors/nodeep/), so `nomaly algorithms` lists the
// same parameters in both configurations.
#pragma once

#include "nomaly/registry.hpp"

namespace nomaly::detail {

/// "autoencoder": name, summary, reference, PyOD 2 default parameters, deep = true; no factory.
AlgorithmInfo autoencoder_info();
/// "deepsvdd": the same for Deep SVDD.
AlgorithmInfo deepsvdd_info();

/// The reason the deep detectors are unavailable in a build without libtorch.
inline constexpr const char* kNoTorchReason = "built without libtorch; install libtorch-dev and rebuild";

}  // namespace nomaly::detail
