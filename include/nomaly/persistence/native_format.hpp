// nomaly's native model file (`model.nomaly`): a versioned binary envelope around a MessagePack payload.
//
// Layout (all integers little-endian):
//   offset  size  field
//   0       8     magic "NOMALY\0\x01"
//   8       4     format version (uint32), currently kNativeFormatVersion
//   12      8     payload length in bytes (uint64)
//   20      32    SHA-256 of the payload
//   52      n     payload: nlohmann::json::to_msgpack of
//                 {"format": "nomaly-native", "entity": DetectorEntity::to_json(), "state": Detector::state()}
// The payload keeps float arrays as msgpack bin blobs, so a loaded detector scores bit-for-bit like
// the saved one. The file ends exactly after the payload (trailing bytes are corruption).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "nomaly/params.hpp"
#include "nomaly/persistence/entity.hpp"

namespace nomaly {

inline constexpr char kNativeMagic[8] = {'N', 'O', 'M', 'A', 'L', 'Y', '\0', '\x01'};
inline constexpr std::uint32_t kNativeFormatVersion = 1;
inline constexpr std::size_t kNativeHeaderSize = 52;

/// Lower-case hex SHA-256 of `bytes` (OpenSSL EVP).
std::string sha256_hex(const std::string& bytes);
/// Lower-case hex SHA-256 of a file's content. Throws ModelError when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

/// Wraps a JSON payload into the envelope (bytes of the whole file).
std::string encode_native(const json& payload);
/// Verifies and decodes an envelope. `name` (usually the file path) is used in messages.
/// Throws CorruptModel("<name>: <reason>") for: fewer bytes than the header ("truncated header"),
/// wrong magic ("not a nomaly native model (bad magic)"), a newer version ("format version V is newer
/// than supported 1"), a length that disagrees with the file ("truncated payload" / "trailing bytes"),
/// a checksum mismatch ("checksum mismatch"), or a MessagePack parse error ("malformed payload: ...").
json decode_native(const std::string& bytes, const std::string& name);

/// Entity + fitted model -> file bytes. Throws NotFitted when the entity is not fitted.
std::string encode_native_entity(const DetectorEntity& entity);
/// File bytes -> entity with its restored (fitted) model. CorruptModel as decode_native, and when the
/// payload lacks the entity or a valid state.
DetectorEntity decode_native_entity(const std::string& bytes, const std::string& name);
/// Reads and decodes a `.nomaly` file (CorruptModel naming the path; ModelError when unreadable).
DetectorEntity read_native_file(const std::filesystem::path& path);

}  // namespace nomaly
