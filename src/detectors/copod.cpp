// COPOD: the same ECDF tails as ECOD with COPOD's per-feature rule, so it shares EcdfTailDetector (src/detectors/ecod.cpp).
#include "nomaly/detectors/copod.hpp"

#include "detectors/builtin.hpp"
#include "nomaly/registry.hpp"

namespace nomaly {

Copod::Copod(const json& params) : EcdfTailDetector("copod", params) {}

namespace detail {
void register_copod() {
  register_algorithm(AlgorithmInfo{
      "copod", "COPOD: sum over features of max(skew-corrected tail, mean of the two -log tails)",
      "Li et al. (2020), COPOD, IEEE ICDM; PyOD pyod/models/copod.py decision_function (commit 44c0ad79: "
      "O = max(U_skew, (U_l + U_r) / 2) per feature, summed), ECDFs from training data only", ecdf_tail_params(),
      false, true, "", [](const json& p) { return std::make_unique<Copod>(p); }});
}
}  // namespace detail

}  // namespace nomaly
