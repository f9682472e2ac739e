// COPOD: PyOD computes it exactly as ECOD, so it shares EcdfTailDetector (src/detectors/ecod.cpp).
#include "nomaly/detectors/copod.hpp"

#include "detectors/builtin.hpp"
#include "nomaly/registry.hpp"

namespace nomaly {

Copod::Copod(const json& params) : EcdfTailDetector("copod", params) {}

namespace detail {
void register_copod() {
  register_algorithm(AlgorithmInfo{
      "copod", "COPOD: empirical-copula tail probabilities (computed as ECOD, as in PyOD)",
      "Li et al. (2020), COPOD, IEEE ICDM; PyOD COPOD semantics, ECDFs from training data only", ecdf_tail_params(),
      false, true, "", [](const json& p) { return std::make_unique<Copod>(p); }});
}
}  // namespace detail

}  // namespace nomaly
