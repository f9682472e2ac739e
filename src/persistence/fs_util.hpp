// Crash-safe file primitives for the model store: atomic writes and advisory directory locks.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace nomaly::detail {

/// Whole file into a string. Throws ModelError naming the path when it cannot be read.
std::string read_file_bytes(const std::filesystem::path& path);

/// Writes `bytes` to `<dir>/.<name>.tmp-<random>`, fsyncs it, calls `before_rename` (if set) with the final
/// path, renames over `path` and fsyncs the directory. On any error the temp file is removed and the error
/// rethrown; `path` then still holds its previous content. Throws ModelError on I/O errors.
void atomic_write(const std::filesystem::path& path, const std::string& bytes,
                  const std::function<void(const std::filesystem::path&)>& before_rename = {});

/// Writes to `path` (no rename), fsynced: for a file that is itself only published by a later rename.
/// Write, fsync, close and rename failures (read-only store, disk full) throw IoError (exit 5), not ModelError.
void write_synced(const std::filesystem::path& path, const std::string& bytes);

/// rename(2) + fsync of the directory. Throws ModelError.
void rename_synced(const std::filesystem::path& from, const std::filesystem::path& to);

/// fsync of a directory (errors ignored: some filesystems refuse it).
void fsync_dir(const std::filesystem::path& dir);

/// True for names written by atomic_write as temp files.
bool is_temp_name(const std::string& filename);

/// Removes temp files left by an interrupted save in `dir`.
void remove_temp_files(const std::filesystem::path& dir);

/// An advisory flock(2) on a directory, released on destruction (and by the kernel when the process dies).
class DirLock {
 public:
  enum class Mode { Shared, Exclusive };
  /// Locks `dir`, which must exist. After locking, checks the directory was not removed and recreated
  /// meanwhile (then it retries on the new one). Returns an unlocked DirLock when `dir` does not exist.
  DirLock(const std::filesystem::path& dir, Mode mode);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace nomaly::detail
