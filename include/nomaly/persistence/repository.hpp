// Where detector entities live between calls: in memory (one process) or in the model store (across
// processes, so that `nomaly train` in one process and `nomaly save` in the next see the same detector).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nomaly/persistence/entity.hpp"

namespace nomaly {

/// Repository of DetectorEntity by id. Implementations are thread-safe. Every method validates the id
/// first (InvalidDetectorId).
class DetectorRepository {
 public:
  virtual ~DetectorRepository() = default;
  /// Inserts or replaces the entity with this id.
  virtual void save(const DetectorEntity& entity) = 0;
  /// The entity, or nullopt when absent. Store-backed: CorruptModel when the record is damaged.
  virtual std::optional<DetectorEntity> find(const std::string& id) const = 0;
  /// All ids, sorted.
  virtual std::vector<std::string> ids() const = 0;
  /// Removes the entity; false when it was absent.
  virtual bool remove(const std::string& id) = 0;
};

/// Entities held in a map; models are shared, not copied.
class InMemoryDetectorRepository final : public DetectorRepository {
 public:
  void save(const DetectorEntity& entity) override;
  std::optional<DetectorEntity> find(const std::string& id) const override;
  std::vector<std::string> ids() const override;
  bool remove(const std::string& id) override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, DetectorEntity> entities_;
};

/// Entities stored under `<root>/.detectors/<id>.nomaly`, each a native envelope (see native_format.hpp)
/// whose payload holds the entity and, when fitted, the complete detector state. Writes are atomic
/// (temp file, fsync, rename), so a reader in another process sees the old or the new record, never a
/// part. The `.detectors` folder starts with a dot, so it can never collide with a detector id.
///
/// Damaged records: find() throws CorruptModel naming the record file and how to recover, unless the
/// service's saved native model `<root>/<id>/model.nomaly` is intact (its own SHA-256 envelope verifies):
/// then that entity is returned instead, with a warning naming the damaged record. The fallback may be
/// older than the record (a record updated after the last native save); a later save() of the entity
/// rewrites the record. A damaged record never blocks `remove`.
class StoreDetectorRepository final : public DetectorRepository {
 public:
  explicit StoreDetectorRepository(std::filesystem::path root);
  void save(const DetectorEntity& entity) override;
  std::optional<DetectorEntity> find(const std::string& id) const override;
  std::vector<std::string> ids() const override;
  bool remove(const std::string& id) override;
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path record_path(const std::string& id) const;
  std::filesystem::path root_;
  mutable std::mutex mu_;
};

}  // namespace nomaly
