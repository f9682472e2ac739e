// Fuzz target: nomaly::read_csv from a stream (issue 8 §2). Any input must either parse into a
// consistent Dataset or throw nomaly::CsvError; every other exception, crash or sanitizer report is a bug.
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"

namespace {

void check(const nomaly::Dataset& ds, const nomaly::CsvOptions& o) {
  if (ds.rows == 0 || ds.cols == 0 || ds.X.size() != ds.rows * ds.cols || ds.feature_names.size() != ds.cols)
    __builtin_trap();
  if (ds.labels.has_value() != !o.label_column.empty()) __builtin_trap();
  if (ds.labels) {
    if (ds.labels->size() != ds.rows) __builtin_trap();
    for (int l : *ds.labels)
      if (l != 0 && l != 1) __builtin_trap();
  }
  if (o.reject_non_finite)
    for (float v : ds.X)
      if (!std::isfinite(v)) __builtin_trap();
}

void run(const std::string& bytes, const nomaly::CsvOptions& o) {
  std::istringstream in(bytes);
  try {
    check(nomaly::read_csv(in, "fuzz.csv", o), o);
  } catch (const nomaly::CsvError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  nomaly::CsvOptions plain;
  run(bytes, plain);
  // A tiny line limit, a label column, an ignored column and non-finite values allowed.
  nomaly::CsvOptions strict;
  strict.label_column = "label";
  strict.max_line_bytes = 64;
  strict.reject_non_finite = false;
  strict.ignore_columns = {"id"};
  run(bytes, strict);
  return 0;
}
