// Fuzz target: the ONNX stub loader. The input is written as model.onnx next to a valid native fixture
// (model.nomaly) and opened with open_model_path, which tells stubs from real ONNX by content and serves a
// stub with the native model it names (checked against native_sha256). Only nomaly::Error may escape.
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/service.hpp"

namespace {

struct Fixture {
  bool quiet = (nomaly::fuzz::quiet_logs(), true);
  nomaly::fuzz::ScratchDir dir;
  std::string native = nomaly::encode_native_entity(
      nomaly::fuzz::fixture_entity("iforest", nomaly::fuzz::fixture_params("iforest")));
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)nomaly::is_onnx_stub(bytes);
  nomaly::fuzz::write_file(fx.dir.path() / "model.nomaly", fx.native);
  nomaly::fuzz::write_file(fx.dir.path() / "model.onnx", bytes);
  nomaly::OnnxOptions o;
  o.intra_op_threads = 1;
  try {
    auto scorer = nomaly::open_model_path(fx.dir.path() / "model.onnx", o);
    if (!scorer) __builtin_trap();
  } catch (const nomaly::Error&) {
  }
  return 0;
}
