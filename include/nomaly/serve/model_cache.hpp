// The models `nomaly serve` holds: loaded from the store on first use, kept, and swapped for the new save
// when the stored model changes, without a restart and without a failed request during the swap.
//
// Change detection: each lookup stats <store>/<id>/metadata.json (the store renames a new one into place on
// every save). When its inode, size or mtime changed, metadata.json is read and the recorded SHA-256 of the
// served file (files[model.nomaly|model.onnx].sha256) is compared with the loaded one; only a different
// file is loaded. One thread loads while the others keep answering with the current model (shared_ptr
// swap). A load that fails (damaged or half-recovered files) keeps the last good model and is counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "nomaly/persistence/service.hpp"

namespace nomaly::serve {

/// One loaded model as served.
///  - version: the first 16 hex digits of the served file's SHA-256 (changes with every new fit saved).
///  - metadata: the store's metadata.json it was loaded under.
struct ServedModel {
  std::string id;
  std::string version;
  std::string sha256;
  std::shared_ptr<const Scorer> scorer;
  json metadata;
};

class ModelCache {
 public:
  /// `format`: which saved file to serve; `onnx`: ONNX Runtime session options for ONNX models.
  ModelCache(std::filesystem::path store, Format format, OnnxOptions onnx = {});

  /// The current model for `id`. Throws InvalidDetectorId (bad id), NoSavedModel (nothing saved, deleted, or
  /// no file of the served format; the cache entry is dropped), CorruptModel / ModelError when the model
  /// cannot be loaded and no earlier good version is held.
  std::shared_ptr<const ServedModel> get(const std::string& id);

  /// What `nomaly list --json` prints: id -> metadata.json.
  std::map<std::string, json> list() const { return service_.list_saved_models(); }

  Format format() const { return format_; }
  std::size_t loaded() const;
  std::uint64_t reloads() const { return reloads_.load(); }
  std::uint64_t load_failures() const { return failures_.load(); }

 private:
  struct Stamp {
    std::uint64_t ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Slot {
    std::mutex load_mu;  // one loader per id
    std::mutex mu;       // guards model and stamp
    std::shared_ptr<const ServedModel> model;
    Stamp stamp;
  };
  std::shared_ptr<Slot> slot(const std::string& id, bool create);
  void evict(const std::string& id);
  std::shared_ptr<const ServedModel> load(const std::string& id, Slot& s, const Stamp& stamp,
                                          std::shared_ptr<const ServedModel> current);

  std::filesystem::path root_;
  Format format_;
  OnnxOptions onnx_;
  ModelPersistenceService service_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;
  std::atomic<std::uint64_t> reloads_{0}, failures_{0};
};

}  // namespace nomaly::serve
