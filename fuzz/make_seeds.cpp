// Writes the seed corpora of the fuzz targets into <out>/<target>/: small CSV files in the formats the
// reader accepts and rejects, native models of every built-in algorithm (file and bare payload), ONNX
// exports, an ONNX stub matching fuzz_stub's fixture, and metadata.json files from real saves.
// Usage: make_seeds <out-dir>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/persistence/repository.hpp"
#include "nomaly/persistence/service.hpp"
#include "persistence/store_internal.hpp"

namespace fs = std::filesystem;
using namespace nomaly;

namespace {

void put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  fuzz::write_file(dir / name, bytes);
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void csv_seeds(const fs::path& out) {
  const std::vector<std::string> seeds = {
      "f0,f1,label\n1,2,0\n3,4,1\n",
      "\xEF\xBB\xBF" "a,b\r\n1.5,-2e3\r\n+3,4\r\n\r\n",
      "id,\"x,y\",label\n7,\"1.0\",1\n8,\"2\"\"\",0\n",
      "a,b\n1,nan\ninf,-inf\n1e39,-1e-50\n",
      "a,a\n1,2\n",
      "a,b\n1\n1,2,3\n",
      "a,\"b\nc\"\n1,2\n",
      "a\n\n1\n",
      "x\n" + std::string(100, '9') + "\n",
      "f0,f1,f2\n0.1,0.2,0.3\n-1,-2,-3\n1e38,-1e38,0\n",
  };
  for (std::size_t i = 0; i < seeds.size(); ++i) put(out / "csv", "seed" + std::to_string(i) + ".csv", seeds[i]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <out-dir>\n";
    return 2;
  }
  const fs::path out = argv[1];
  csv_seeds(out);

  for (const std::string algo : {"iforest", "hbos", "knn", "lof", "pca", "ocsvm", "mcd", "ecod", "copod"}) {
    const DetectorEntity e = fuzz::fixture_entity(algo, fuzz::fixture_params(algo));
    const std::string file = encode_native_entity(e);
    put(out / "native", algo + ".nomaly", file);
    put(out / "native", algo + ".payload", file.substr(kNativeHeaderSize));
    try {
      put(out / "onnx", algo + ".onnx", export_onnx_bytes(*e.model, detail::export_info(e)));
    } catch (const OnnxExportError& ex) {
      std::cerr << "make_seeds: no ONNX seed for " << algo << ": " << ex.what() << "\n";
    }
  }

  // The stub fixture of fuzz_stub: the iforest native file, named by its sha256.
  const DetectorEntity fx = fuzz::fixture_entity("iforest", fuzz::fixture_params("iforest"));
  put(out / "stub", "stub.json", detail::make_stub_bytes(fx, "no ONNX converter", sha256_hex(encode_native_entity(fx))));
  put(out / "stub", "real.onnx", read(out / "onnx" / "iforest.onnx"));

  // metadata.json of real saves (native and ONNX) of the fixture used by fuzz_metadata.
  fuzz::ScratchDir tmp;
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  repo->save(fx);
  ModelPersistenceService service(repo, tmp.path());
  service.save_model(fx.id, Format::Native, json{{"owner", "fuzz"}});
  put(out / "metadata", "native.json", read(tmp.path() / fx.id / "metadata.json"));
  service.save_model(fx.id, Format::Onnx);
  put(out / "metadata", "onnx.json", read(tmp.path() / fx.id / "metadata.json"));
  std::cout << "seeds written to " << out << "\n";
  return 0;
}
