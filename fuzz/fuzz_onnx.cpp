// Fuzz target: ONNX bytes -> OnnxModel::load_bytes (ONNX protobuf parse + checker, then ONNX Runtime),
// then a small scoring run when the model loads. Only nomaly::Error may escape.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/onnx_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  nomaly::OnnxOptions o;
  o.intra_op_threads = 1;
  try {
    const nomaly::OnnxModel m = nomaly::OnnxModel::load_bytes(bytes, "fuzz.onnx", o);
    const std::size_t d = m.n_features() ? m.n_features() : 3;
    if (d > 256) return 0;
    std::vector<float> X(4 * d);
    for (std::size_t i = 0; i < X.size(); ++i) X[i] = static_cast<float>(i % 5) - 2.0f;
    const nomaly::OnnxScore s = m.score({X.data(), 4, d});
    if (s.scores.size() != 4 || s.labels.size() != 4) __builtin_trap();
  } catch (const nomaly::Error&) {
  }
  return 0;
}
