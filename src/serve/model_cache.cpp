#include "nomaly/serve/model_cache.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "nomaly/errors.hpp"

namespace nomaly::serve {

namespace fs = std::filesystem;

ModelCache::ModelCache(fs::path store, Format format, OnnxOptions onnx)
    : root_(std::move(store)), format_(format), onnx_(onnx),
      service_(std::make_shared<StoreDetectorRepository>(root_), root_) {}

std::size_t ModelCache::loaded() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (const auto& [id, s] : slots_) {
    std::lock_guard sl(s->mu);
    n += s->model != nullptr;
  }
  return n;
}

std::shared_ptr<ModelCache::Slot> ModelCache::slot(const std::string& id, bool create) {
  std::lock_guard lk(mu_);
  auto it = slots_.find(id);
  if (it != slots_.end()) return it->second;
  if (!create) return nullptr;
  return slots_.emplace(id, std::make_shared<Slot>()).first->second;
}

void ModelCache::evict(const std::string& id) {
  std::lock_guard lk(mu_);
  slots_.erase(id);
}

std::shared_ptr<const ServedModel> ModelCache::get(const std::string& id) {
  validate_detector_id(id);  // before the id touches a path
  const fs::path dir = root_ / id;
  const std::string none = "No saved model found for detector " + id;
  struct stat st {};
  Stamp stamp;
  if (::stat((dir / "metadata.json").c_str(), &st) == 0) {
    stamp = {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
             static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  } else if (::stat(dir.c_str(), &st) != 0) {
    evict(id);  // deleted (or never saved)
    throw NoSavedModel(none);
  }  // else: a directory without metadata.json yet (a first save in progress): load_model decides

  const std::shared_ptr<Slot> s = slot(id, true);
  std::shared_ptr<const ServedModel> cur;
  {
    std::lock_guard lk(s->mu);
    cur = s->model;
    if (cur && s->stamp == stamp) return cur;
  }
  // Changed (or first use). With a model in hand, never wait for another thread's load: answer with it.
  std::unique_lock load_lk(s->load_mu, std::defer_lock);
  if (cur) {
    if (!load_lk.try_lock()) return cur;
  } else {
    load_lk.lock();
  }
  {
    std::lock_guard lk(s->mu);
    cur = s->model;
    if (cur && s->stamp == stamp) return cur;
  }
  return load(id, *s, stamp, cur);
}

std::shared_ptr<const ServedModel> ModelCache::load(const std::string& id, Slot& s, const Stamp& stamp,
                                                    std::shared_ptr<const ServedModel> cur) {
  const std::string file = format_ == Format::Native ? "model.nomaly" : "model.onnx";
  try {
    if (cur) {
      // A save that did not change the served file (e.g. the other format) needs no reload.
      const auto meta = service_.saved_metadata(id);
      if (!meta) throw NoSavedModel("No saved model found for detector " + id);
      const json files = meta->value("files", json::object());
      if (files.is_object() && files.contains(file) && files[file].is_object() &&
          files[file].value("sha256", std::string()) == cur->sha256) {
        std::lock_guard lk(s.mu);
        s.stamp = stamp;
        return cur;
      }
    }
    std::shared_ptr<const Scorer> scorer = service_.load_model(id, format_, onnx_);
    auto m = std::make_shared<ServedModel>();
    m->id = id;
    m->scorer = scorer;
    m->metadata = scorer->info().metadata;
    const json files = m->metadata.value("files", json::object());
    m->sha256 = files.is_object() && files.contains(file) && files[file].is_object()
                    ? files[file].value("sha256", std::string())
                    : m->metadata.value("sha256", std::string());
    m->version = m->sha256.substr(0, 16);
    if (m->version.empty()) m->version = "1";
    std::lock_guard lk(s.mu);
    s.model = m;
    s.stamp = stamp;
    if (cur) reloads_.fetch_add(1);
    spdlog::info("serve: loaded {} ({} {}, version {})", id, scorer->info().algorithm, format_name(format_), m->version);
    return m;
  } catch (const NoSavedModel&) {
    evict(id);
    throw;
  } catch (const std::exception& e) {
    failures_.fetch_add(1);
    if (!cur) throw;
    // Keep serving the last good model; a later save changes the stamp and is tried again.
    spdlog::warn("serve: reloading {} failed, still serving version {}: {}", id, cur->version, e.what());
    std::lock_guard lk(s.mu);
    s.stamp = stamp;
    return cur;
  }
}

}  // namespace nomaly::serve
