// An output file that is never left half-written under the user's name: written to a temp file beside it and
// renamed over it by commit() (an interrupted or failed write leaves the old file, or none). Devices and FIFOs
// (/dev/full, a pipe) are written in place: they cannot be renamed over. A symlink is written through: its
// target is replaced, the link stays. Not a public header.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace nomaly::detail {

class OutFile {
 public:
  /// Opens the temp file (or the device); IoError (exit 5) naming `path` when it cannot.
  explicit OutFile(const std::string& path);
  ~OutFile();  // removes the temp file unless committed
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  std::ofstream& stream() { return out_; }
  /// Flushes, closes and renames into place; IoError on any failure (the temp file is removed).
  void commit();
  [[noreturn]] void fail(int err);

 private:
  std::string path_;
  std::filesystem::path final_, temp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace nomaly::detail
