#include "core/out_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace fs = std::filesystem;

OutFile::OutFile(const std::string& path) : path_(path) {
  std::error_code ec;
  final_ = fs::path(path);
  const auto st = fs::status(final_, ec);  // follows symlinks: /dev/stdout is a pipe or a terminal
  const bool in_place = fs::exists(st) && !fs::is_regular_file(st);  // a device or a FIFO
  if (!in_place && fs::is_symlink(final_, ec)) {
    const fs::path target = fs::canonical(final_, ec);  // replace the link's file, keep the link
    if (!ec) final_ = target;
  }
  if (!in_place) {
    std::random_device rd;
    temp_ = final_.parent_path() / ("." + final_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(rd() % 1000000));
  }
  errno = 0;
  out_.open(in_place ? final_ : temp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(errno);
}

OutFile::~OutFile() {
  if (committed_ || temp_.empty()) return;
  std::error_code ec;
  out_.close();
  fs::remove(temp_, ec);
}

void OutFile::commit() {
  errno = 0;
  out_.flush();
  if (!out_) fail(errno);
  out_.close();
  if (!out_) fail(errno);
  if (!temp_.empty()) {
    std::error_code ec;
    fs::rename(temp_, final_, ec);
    if (ec) fail(ec.value());
  }
  committed_ = true;
}

void OutFile::fail(int err) {
  std::error_code ec;
  if (!temp_.empty()) {
    out_.close();
    fs::remove(temp_, ec);
    temp_.clear();
  }
  throw IoError("cannot write '" + path_ + "': " + (err ? std::strerror(err) : "I/O error"));
}

}  // namespace nomaly::detail
