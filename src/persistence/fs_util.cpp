#include "persistence/fs_util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string random_suffix() {
  // Uniqueness only (not security): temp names must not collide between threads and processes.
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  auto v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) s += kHex[v & 15];
  return s;
}

void write_all_fd(int fd, const std::string& bytes, const fs::path& path) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write " + path.string() + ": " + errno_text());
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw IoError("cannot fsync " + path.string() + ": " + errno_text());
}

}  // namespace

std::string read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ModelError("cannot read " + path.string());
  return std::move(ss).str();
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_synced(const fs::path& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot create " + path.string() + ": " + errno_text());
  try {
    write_all_fd(fd, bytes, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw IoError("cannot close " + path.string() + ": " + errno_text());
}

void rename_synced(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw IoError("cannot rename " + from.string() + " to " + to.string() + ": " + errno_text());
  fsync_dir(to.parent_path());
}

bool is_temp_name(const std::string& filename) {
  return !filename.empty() && filename[0] == '.' && filename.find(".tmp-") != std::string::npos;
}

void atomic_write(const fs::path& path, const std::string& bytes,
                  const std::function<void(const fs::path&)>& before_rename) {
  const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + random_suffix());
  try {
    write_synced(tmp, bytes);
    if (before_rename) before_rename(path);
    rename_synced(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void remove_temp_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_temp_name(name)) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
}

DirLock::DirLock(const fs::path& dir, Mode mode) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return;
      throw ModelError("cannot open " + dir.string() + ": " + errno_text());
    }
    int rc;
    do rc = ::flock(fd, mode == Mode::Exclusive ? LOCK_EX : LOCK_SH);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const std::string why = errno_text();
      ::close(fd);
      throw ModelError("cannot lock " + dir.string() + ": " + why);
    }
    // The directory may have been deleted (and maybe recreated) while we waited for the lock.
    struct stat held {}, now {};
    if (::fstat(fd, &held) == 0 && ::stat(dir.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      fd_ = fd;
      return;
    }
    ::close(fd);
    if (::stat(dir.c_str(), &now) != 0) return;  // removed: nothing to lock
  }
  throw ModelError("cannot lock " + dir.string() + ": directory keeps being replaced");
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace nomaly::detail
