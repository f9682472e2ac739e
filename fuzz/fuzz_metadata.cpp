// Fuzz target: metadata.json parsing in the model store. The input becomes <store>/<id>/metadata.json next
// to a valid native model, then load_model, list_saved_models and open_model_path(dir) read it. Because
// metadata.json carries a self-checksum (metadata_sha256), an input that is a JSON object is also tried
// with a correct checksum, and as the redo record of an interrupted save (.metadata.json.pending), so the
// fuzzer reaches the field handling behind the checksum. Only nomaly::Error may escape.
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/repository.hpp"
#include "nomaly/persistence/service.hpp"
#include "persistence/store_internal.hpp"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  bool quiet = (nomaly::fuzz::quiet_logs(), true);
  nomaly::fuzz::ScratchDir root;
  nomaly::DetectorEntity entity = nomaly::fuzz::fixture_entity("iforest", nomaly::fuzz::fixture_params("iforest"));
  std::string native = nomaly::encode_native_entity(entity);
  nomaly::ModelPersistenceService service{std::make_shared<nomaly::InMemoryDetectorRepository>(), root.path()};
  fs::path dir = root.path() / entity.id;
};

void reset(Fixture& fx) {
  std::error_code ec;
  fs::remove_all(fx.dir, ec);
  fs::create_directories(fx.dir);
  nomaly::fuzz::write_file(fx.dir / "model.nomaly", fx.native);
}

void exercise(Fixture& fx) {
  try {
    (void)fx.service.load_model(fx.entity.id, nomaly::Format::Native);
  } catch (const nomaly::Error&) {
  }
  try {
    (void)fx.service.load_model(fx.entity.id, nomaly::Format::Onnx);
  } catch (const nomaly::Error&) {
  }
  try {
    (void)nomaly::open_model_path(fx.dir);
  } catch (const nomaly::Error&) {
  }
  (void)fx.service.list_saved_models();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  reset(fx);
  nomaly::fuzz::write_file(fx.dir / "metadata.json", bytes);
  exercise(fx);

  nomaly::json m = nomaly::json::parse(bytes, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return 0;
  m["metadata_sha256"] = nomaly::detail::metadata_digest(m);
  const std::string fixed = m.dump(2);
  reset(fx);
  nomaly::fuzz::write_file(fx.dir / "metadata.json", fixed);
  exercise(fx);
  reset(fx);
  nomaly::fuzz::write_file(fx.dir / ".metadata.json.pending", fixed);
  exercise(fx);
  return 0;
}
