#include "nomaly/persistence/entity.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "nomaly/errors.hpp"

namespace nomaly {

std::string new_uuid_v4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw ModelError("cannot generate a detector id: OpenSSL RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char s[37];
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}

bool is_valid_detector_id(const std::string& id) {
  // A UUID v4 is 36 chars of hex and '-', so it already matches the user-id pattern below.
  // '.' is allowed inside ids (my.model.v2), but never first and never "..": an id names a folder in the
  // store, so "..", "." and hidden names (.detectors, temp files) stay impossible.
  if (id.empty() || id.size() > 64 || id.front() == '.' || id.find("..") != std::string::npos) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void validate_detector_id(const std::string& id) {
  if (is_valid_detector_id(id)) return;
  std::string shown;
  for (const char c : id.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      shown += buf;
    } else {
      shown += c;
    }
  }
  if (id.size() > 80) shown += "...";
  throw InvalidDetectorId("invalid detector id '" + shown + "': expected a UUID v4 or 1-64 characters of "
                          "[A-Za-z0-9_.-], not starting with '.' and without '..'");
}

std::string utc_now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json DetectorEntity::to_json() const {
  return json{{"id", id},
              {"name", name},
              {"algorithm", algorithm},
              {"contamination", contamination},
              {"parameters", parameters},
              {"metadata", metadata},
              {"created_at", created_at},
              {"trained_at", trained_at},
              {"is_fitted", is_fitted},
              {"feature_names", feature_names}};
}

DetectorEntity DetectorEntity::from_json(const json& j) {
  DetectorEntity e;
  try {
    e.id = j.at("id").get<std::string>();
    e.name = j.at("name").get<std::string>();
    e.algorithm = j.at("algorithm").get<std::string>();
    e.contamination = j.at("contamination");
    e.parameters = j.at("parameters");
    e.metadata = j.value("metadata", json::object());
    e.created_at = j.value("created_at", std::string());
    e.trained_at = j.value("trained_at", std::string());
    e.is_fitted = j.at("is_fitted").get<bool>();
    e.feature_names = j.value("feature_names", std::vector<std::string>{});
  } catch (const json::exception& ex) {
    throw CorruptModel(std::string("malformed detector entity: ") + ex.what());
  }
  validate_detector_id(e.id);
  return e;
}

DetectorEntity DetectorEntity::make(std::shared_ptr<Detector> detector, const std::string& name, const std::string& id) {
  if (!detector) throw ModelError("DetectorEntity::make: null detector");
  DetectorEntity e;
  e.id = id.empty() ? new_uuid_v4() : id;
  validate_detector_id(e.id);
  e.algorithm = detector->algorithm();
  e.name = name.empty() ? e.algorithm : name;
  e.parameters = detector->params();
  e.contamination = detector->contamination();
  e.is_fitted = detector->is_fitted();
  e.created_at = utc_now_iso8601();
  if (e.is_fitted) e.trained_at = e.created_at;
  e.model = std::move(detector);
  return e;
}

}  // namespace nomaly
