#include "nomaly/persistence/repository.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "nomaly/errors.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "persistence/fs_util.hpp"

namespace nomaly {

namespace fs = std::filesystem;

void InMemoryDetectorRepository::save(const DetectorEntity& entity) {
  validate_detector_id(entity.id);
  std::lock_guard lock(mu_);
  entities_[entity.id] = entity;
}

std::optional<DetectorEntity> InMemoryDetectorRepository::find(const std::string& id) const {
  validate_detector_id(id);
  std::lock_guard lock(mu_);
  const auto it = entities_.find(id);
  if (it == entities_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> InMemoryDetectorRepository::ids() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, e] : entities_) out.push_back(id);
  return out;
}

bool InMemoryDetectorRepository::remove(const std::string& id) {
  validate_detector_id(id);
  std::lock_guard lock(mu_);
  return entities_.erase(id) > 0;
}

// ---- store-backed -----------------------------------------------------------------------------------

namespace {
constexpr const char* kRecordDir = ".detectors";
constexpr const char* kRecordExt = ".nomaly";
constexpr const char* kUnfittedExt = ".json";
}  // namespace

StoreDetectorRepository::StoreDetectorRepository(fs::path root) : root_(std::move(root)) {}

fs::path StoreDetectorRepository::record_path(const std::string& id) const {
  validate_detector_id(id);
  return root_ / kRecordDir / (id + kRecordExt);
}

void StoreDetectorRepository::save(const DetectorEntity& entity) {
  const fs::path path = record_path(entity.id);
  // metadata.json and export bundles are JSON, which needs UTF-8 text: a name that cannot be dumped fails here,
  // before the (msgpack) record is written, instead of half-way through save_model.
  try {
    (void)entity.to_json().dump();
  } catch (const json::type_error& ex) {
    throw DataError("detector " + entity.id + ": cannot be saved: a name or metadata value is not valid UTF-8 (" +
                    ex.what() + ")");
  }
  const fs::path unfitted = root_ / kRecordDir / (entity.id + kUnfittedExt);
  std::lock_guard lock(mu_);
  fs::create_directories(path.parent_path());
  // A fitted entity is stored with its model (native envelope); an unfitted one only as its JSON fields.
  std::error_code ec;
  if (entity.is_fitted && entity.model && entity.model->is_fitted()) {
    detail::atomic_write(path, encode_native_entity(entity));
    fs::remove(unfitted, ec);
  } else {
    detail::atomic_write(unfitted, entity.to_json().dump(2));
    fs::remove(path, ec);
  }
}

std::optional<DetectorEntity> StoreDetectorRepository::find(const std::string& id) const {
  const fs::path path = record_path(id);
  const fs::path unfitted = root_ / kRecordDir / (id + kUnfittedExt);
  std::lock_guard lock(mu_);
  if (fs::exists(path)) {
    try {
      return read_native_file(path);
    } catch (const CorruptModel& ex) {
      // The service's saved native model holds the same entity and is verified by its own checksum.
      const fs::path saved = root_ / id / "model.nomaly";
      const std::string recover = "re-run `nomaly train --id " + id + "` to replace it, or `nomaly delete " + id +
                                  "` to remove the detector (or delete " + path.string() + ")";
      if (fs::is_regular_file(saved) && !fs::is_symlink(saved)) {
        try {
          DetectorEntity e = read_native_file(saved);
          if (e.id == id) {
            spdlog::warn("damaged detector record {} ({}); using the saved model {} instead. To repair the record, {}",
                         path.string(), ex.what(), saved.string(), recover);
            return e;
          }
        } catch (const Error&) {
          // fall through: report the damaged record itself
        }
      }
      throw CorruptModel("damaged detector record " + path.string() + " (" + ex.what() + ") and no intact saved model at " +
                         saved.string() + "; " + recover);
    }
  }
  if (fs::exists(unfitted)) {
    json j;
    try {
      j = json::parse(detail::read_file_bytes(unfitted));
    } catch (const json::exception& e) {
      throw CorruptModel(unfitted.string() + ": " + e.what());
    }
    DetectorEntity e = DetectorEntity::from_json(j);
    e.is_fitted = false;  // the model is not stored for unfitted entities
    return e;
  }
  return std::nullopt;
}

std::vector<std::string> StoreDetectorRepository::ids() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(root_ / kRecordDir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    const std::string stem = it->path().stem().string();
    const std::string ext = it->path().extension().string();
    if (detail::is_temp_name(file) || (ext != kRecordExt && ext != kUnfittedExt) || !is_valid_detector_id(stem)) continue;
    out.push_back(stem);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool StoreDetectorRepository::remove(const std::string& id) {
  const fs::path path = record_path(id);
  const fs::path unfitted = root_ / kRecordDir / (id + kUnfittedExt);
  std::lock_guard lock(mu_);
  const bool a = fs::remove(path);
  const bool b = fs::remove(unfitted);
  if (a || b) detail::fsync_dir(path.parent_path());
  return a || b;
}

}  // namespace nomaly
