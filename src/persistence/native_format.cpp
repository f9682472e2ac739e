#include "nomaly/persistence/native_format.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "nomaly/errors.hpp"
#include "nomaly/registry.hpp"
#include "persistence/fs_util.hpp"

namespace nomaly {

namespace {

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(const std::string& in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

std::string sha256_raw(const char* data, std::size_t size) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data, size) != 1 || EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 || len != 32)
    throw ModelError("SHA-256 failed (OpenSSL EVP)");
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string to_hex(const std::string& raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (const char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    s += kHex[u >> 4];
    s += kHex[u & 15];
  }
  return s;
}

}  // namespace

std::string sha256_hex(const std::string& bytes) { return to_hex(sha256_raw(bytes.data(), bytes.size())); }

std::string sha256_file_hex(const std::filesystem::path& path) { return sha256_hex(detail::read_file_bytes(path)); }

std::string encode_native(const json& payload) {
  const std::vector<std::uint8_t> body = json::to_msgpack(payload);
  std::string out(kNativeMagic, sizeof kNativeMagic);
  put_le(out, kNativeFormatVersion, 4);
  put_le(out, body.size(), 8);
  out += sha256_raw(reinterpret_cast<const char*>(body.data()), body.size());
  out.append(reinterpret_cast<const char*>(body.data()), body.size());
  return out;
}

json decode_native(const std::string& bytes, const std::string& name) {
  auto corrupt = [&](const std::string& why) { return CorruptModel(name + ": " + why); };
  if (bytes.size() < sizeof kNativeMagic || std::memcmp(bytes.data(), kNativeMagic, sizeof kNativeMagic) != 0) {
    if (bytes.size() < sizeof kNativeMagic &&
        std::memcmp(bytes.data(), kNativeMagic, bytes.size()) == 0)
      throw corrupt("truncated header (" + std::to_string(bytes.size()) + " of " + std::to_string(kNativeHeaderSize) +
                    " bytes)");
    throw corrupt("not a nomaly native model (bad magic)");
  }
  if (bytes.size() < kNativeHeaderSize)
    throw corrupt("truncated header (" + std::to_string(bytes.size()) + " of " + std::to_string(kNativeHeaderSize) +
                  " bytes)");
  const auto version = static_cast<std::uint32_t>(get_le(bytes, 8, 4));
  if (version > kNativeFormatVersion)
    throw corrupt("format version " + std::to_string(version) + " is newer than supported " +
                  std::to_string(kNativeFormatVersion) + " (upgrade nomaly)");
  if (version == 0) throw corrupt("invalid format version 0");
  const std::uint64_t length = get_le(bytes, 12, 8);
  const std::uint64_t have = bytes.size() - kNativeHeaderSize;
  if (length > have)
    throw corrupt("truncated payload (" + std::to_string(have) + " of " + std::to_string(length) + " bytes)");
  if (length < have) throw corrupt("trailing bytes after the payload (" + std::to_string(have - length) + " bytes)");
  if (sha256_raw(bytes.data() + kNativeHeaderSize, length) != bytes.substr(20, 32))
    throw corrupt("checksum mismatch (payload SHA-256 differs from the header)");
  try {
    return json::from_msgpack(bytes.begin() + kNativeHeaderSize, bytes.end());
  } catch (const json::exception& e) {
    throw corrupt(std::string("malformed payload: ") + e.what());
  }
}

std::string encode_native_entity(const DetectorEntity& entity) {
  if (!entity.is_fitted || !entity.model || !entity.model->is_fitted())
    throw NotFitted("Detector " + entity.name + " is not fitted");
  return encode_native(json{{"format", "nomaly-native"}, {"entity", entity.to_json()}, {"state", entity.model->state()}});
}

DetectorEntity decode_native_entity(const std::string& bytes, const std::string& name) {
  const json payload = decode_native(bytes, name);
  if (!payload.is_object() || payload.value("format", json()) != "nomaly-native" || !payload.contains("entity") ||
      !payload.contains("state"))
    throw CorruptModel(name + ": payload is not a nomaly detector (missing format/entity/state)");
  DetectorEntity e;
  try {
    e = DetectorEntity::from_json(payload.at("entity"));
  } catch (const CorruptModel& ex) {
    throw CorruptModel(name + ": " + ex.what());
  }
  try {
    e.model = restore_detector(payload.at("state"));
  } catch (const CorruptModel& ex) {
    throw CorruptModel(name + ": " + ex.what());
  } catch (const ParameterError& ex) {
    throw CorruptModel(name + ": " + ex.what());
  }
  if (e.model->algorithm() != e.algorithm)
    throw CorruptModel(name + ": entity algorithm '" + e.algorithm + "' differs from the state's '" +
                       e.model->algorithm() + "'");
  e.is_fitted = true;
  return e;
}

DetectorEntity read_native_file(const std::filesystem::path& path) {
  return decode_native_entity(detail::read_file_bytes(path), path.string());
}

}  // namespace nomaly
