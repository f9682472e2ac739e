// Build without libtorch: the deep detectors stay listed, marked unavailable (create_detector then throws
// DependencyMissing). Nothing here needs libtorch.
#include "detectors/builtin.hpp"
#include "detectors/deep_info.hpp"
#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace {

void register_unavailable(AlgorithmInfo info) {
  info.available = false;
  info.unavailable_reason = kNoTorchReason;
  const std::string name = info.name;
  info.factory = [name](const json&) -> std::unique_ptr<Detector> {
    throw DependencyMissing(name + ": " + kNoTorchReason);
  };
  register_algorithm(std::move(info));
}

}  // namespace

void register_autoencoder() { register_unavailable(autoencoder_info()); }
void register_deepsvdd() { register_unavailable(deepsvdd_info()); }

}  // namespace nomaly::detail
