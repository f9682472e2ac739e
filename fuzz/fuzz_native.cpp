// Fuzz target: the native model loader (model.nomaly). Each input is tried twice:
//  1. as a whole file (envelope checks: magic, version, length, SHA-256);
//  2. as a MessagePack payload wrapped in a valid envelope, so that the fuzzer gets past the checksum
//     and reaches the entity and detector-state restore code (a hostile file can carry a valid SHA-256).
// A model that loads is then scored on a few rows: a state that restore() accepted must be safe to use.
// Only nomaly::Error may escape the loader; anything else is a bug.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"

namespace {

std::string envelope(const std::string& payload) {
  std::string out(nomaly::kNativeMagic, sizeof nomaly::kNativeMagic);
  auto put = [&](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put(nomaly::kNativeFormatVersion, 4);
  put(payload.size(), 8);
  const std::string hex = nomaly::sha256_hex(payload);
  for (std::size_t i = 0; i < 64; i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out + payload;
}

void exercise(const nomaly::DetectorEntity& e) {
  const nomaly::Detector& det = *e.model;
  const std::size_t d = det.n_features();
  if (d == 0 || d > 256) return;  // score only plausible widths; a huge d is still a loadable model
  std::vector<float> X(4 * d);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = static_cast<float>(i % 7) - 3.0f;
  try {
    const auto s = det.score_samples({X.data(), 4, d});
    const auto l = det.labels_for(s);
    if (s.size() != 4 || l.size() != 4) __builtin_trap();
  } catch (const nomaly::Error&) {
  }
}

void load(const std::string& bytes) {
  try {
    exercise(nomaly::decode_native_entity(bytes, "fuzz.nomaly"));
  } catch (const nomaly::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  load(bytes);
  load(envelope(bytes));
  return 0;
}
