// ECOD and COPOD -> the step lookup of onnx/step_trees.hpp (binary search over the training values' float32 cut
// points, float64 sum over features); 1 target (per-feature rule) reshaped to [N], or 3 targets (left, right,
// skew-corrected sums; paper aggregation) followed by ReduceMax.
#include "nomaly/detectors/ecod.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly::detail {

std::string convert_ecdf_tail_detector(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x,
                                       std::string& doc) {
  const auto* e = dynamic_cast<const EcdfTailDetector*>(&det);
  if (!e) throw OnnxExportError(det.algorithm() + ": detector is not an ECDF tail detector");
  const std::string sums = add_step_lookup(g, x, e->step_thresholds(), e->step_values(), e->n_targets());
  using onnx_build::Attr;
  if (e->paper_aggregation()) {
    doc = det.algorithm() + " score max(sum_j -log F_left, sum_j -log F_right, sum_j U_skew) over training ECDFs; "
          "higher = more anomalous (Li et al., paper aggregation).";
    return g.node("ReduceMax", {sums}, {Attr{"axes", std::vector<std::int64_t>{1}}, Attr{"keepdims", std::int64_t{0}}});
  }
  doc = det.algorithm() + (e->max_rule() ? " score sum_j max(U_left_j, U_right_j, U_skew_j)" : " score sum_j max(U_skew_j, (U_left_j + U_right_j) / 2)") +
        " of -log training-ECDF tail probabilities; higher = more anomalous (Li et al., PyOD rule).";
  return g.node("Reshape", {sums, g.initializer_int64("flat_shape", {-1}, {1})});
}

void register_ecod_converter() { register_onnx_converter("ecod", convert_ecdf_tail_detector); }

}  // namespace nomaly::detail
