// HBOS -> the step lookup of onnx/step_trees.hpp (binary search over the float32 bin cut points, float64 sum of
// the -log2(density + alpha) leaves) -> Reshape to [N].
#include "nomaly/detectors/hbos.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"
#include "onnx/step_trees.hpp"

namespace nomaly::detail {

namespace {

std::string convert(const Detector& det, onnx_build::GraphBuilder& g, const std::string& x, std::string& doc) {
  const auto* hbos = dynamic_cast<const Hbos*>(&det);
  if (!hbos) throw OnnxExportError("hbos: detector is not an Hbos");
  const std::string sums = add_step_lookup(g, x, hbos->step_thresholds(), hbos->step_values(), 1);
  doc = "HBOS score -sum_j log2(histogram density_j + alpha); higher = more anomalous (Goldstein & Dengel 2012, PyOD).";
  return g.node("Reshape", {sums, g.initializer_int64("flat_shape", {-1}, {1})});
}

}  // namespace

void register_hbos_converter() { register_onnx_converter("hbos", convert); }

}  // namespace nomaly::detail
