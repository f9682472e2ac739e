// CSV writers, the WDBC reader, and read_csv (a thin wrapper over read_table, the one reader of user data).
#include "nomaly/csv.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <deque>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/csv_records.hpp"
#include "core/out_file.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/table.hpp"

namespace nomaly {

using namespace detail;

namespace {

// ---- writing --------------------------------------------------------------------------------------

/// Buffered writer that reports any I/O failure as IoError naming the path; "-" writes to standard output.
class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path) {
    if (path == "-") {
      out_ = &std::cout;
    } else {
      file_.emplace(path);  // a temp file renamed into place by close(): no half-written output under `path`
      out_ = &file_->stream();
    }
    buf_.reserve(kChunkBytes + 4096);
  }
  void put(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= kChunkBytes) flush();
  }
  void put(char c) { buf_ += c; }
  /// Shortest decimal that parses back to the same float32.
  void put(float v) {
    std::array<char, 64> tmp{};
    auto r = std::to_chars(tmp.data(), tmp.data() + tmp.size(), v);
    put(std::string_view(tmp.data(), static_cast<std::size_t>(r.ptr - tmp.data())));
  }
  void put_name(const std::string& n) {
    const bool needs_quotes = n.find_first_of(",\"\r\n") != std::string::npos ||
                              (!n.empty() && (is_blank_char(n.front()) || is_blank_char(n.back())));
    if (!needs_quotes) return put(std::string_view(n));
    put('"');
    for (char c : n) {
      if (c == '"') put('"');
      put(c);
    }
    put('"');
  }
  void close() {
    flush();
    if (file_) return file_->commit();
    out_->flush();
    if (!*out_) fail();
  }

 private:
  void flush() {
    out_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    if (!*out_) fail();
    buf_.clear();
  }
  [[noreturn]] void fail() {
    if (file_) file_->fail(errno);
    const int err = errno;
    throw IoError(std::string("cannot write to standard output: ") + (err ? std::strerror(err) : "I/O error"));
  }
  std::optional<OutFile> file_;
  std::ostream* out_ = nullptr;
  std::string buf_;
};

// scikit-learn's load_breast_cancer().feature_names with blanks replaced by underscores.
const std::array<const char*, 30> kBreastCancerNames = {
    "mean_radius",          "mean_texture",         "mean_perimeter",          "mean_area",
    "mean_smoothness",      "mean_compactness",     "mean_concavity",          "mean_concave_points",
    "mean_symmetry",        "mean_fractal_dimension", "radius_error",          "texture_error",
    "perimeter_error",      "area_error",           "smoothness_error",        "compactness_error",
    "concavity_error",      "concave_points_error", "symmetry_error",          "fractal_dimension_error",
    "worst_radius",         "worst_texture",        "worst_perimeter",         "worst_area",
    "worst_smoothness",     "worst_compactness",    "worst_concavity",         "worst_concave_points",
    "worst_symmetry",       "worst_fractal_dimension"};

std::size_t parse_count(std::string_view s, const std::string& file, std::size_t col, const char* what) {
  s = trim(s);
  std::size_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
    throw CsvError(file, 1, col, std::string("expected the ") + what + " count as an integer, got " + quote_cell(s));
  return v;
}

}  // namespace

// ---- public API -----------------------------------------------------------------------------------

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream f = open_input(path);
  return read_csv(f, path, options);
}

Dataset read_csv(std::istream& in, const std::string& name, const CsvOptions& options) {
  TableOptions t;
  t.label_column = options.label_column;  // explicit: "" means no label column
  t.drop = options.ignore_columns;
  t.reject_non_finite = options.reject_non_finite;
  t.max_line_bytes = options.max_line_bytes;
  return read_table(in, name, t).data;
}

Dataset read_sklearn_breast_cancer(const std::string& path) {
  std::ifstream f = open_input(path);
  RecordReader rr(f, path, 1u << 20);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;  // deque: growing it keeps earlier views valid

  split_fields(read_header(rr, path), ',', fields, scratch, path, 1);
  if (fields.size() < 2)
    throw CsvError(path, 1, 0, "expected the scikit-learn header \"n_samples,n_features,class names...\"");
  const std::size_t n = parse_count(fields[0], path, 1, "sample");
  const std::size_t d = parse_count(fields[1], path, 2, "feature");
  if (d != kBreastCancerNames.size())
    throw CsvError(path, 1, 2,
                   "expected " + std::to_string(kBreastCancerNames.size()) + " features (WDBC), the header says " +
                       std::to_string(d));

  Dataset ds;
  ds.cols = d;
  ds.feature_names.assign(kBreastCancerNames.begin(), kBreastCancerNames.end());
  ds.feature_names.push_back("target");  // only for error messages; popped below
  ds.X.reserve(n * d);
  std::vector<int> labels;
  labels.reserve(n);
  DataRecords records(rr, path);
  std::string_view rec;
  std::size_t line = 0;
  while (records.next(rec, line)) {
    split_fields(rec, ',', fields, scratch, path, line);
    if (fields.size() != d + 1) ragged(path, line, d + 1, fields.size(), ds.feature_names);
    for (std::size_t c = 0; c < d; ++c) ds.X.push_back(parse_cell(fields[c], true, path, line, c + 1, ds.feature_names[c]));
    // sklearn's target is 0 = malignant; nomaly's anomaly class (label 1) is malignant.
    labels.push_back(1 - parse_label(fields[d], path, line, d + 1, "target"));
    ++ds.rows;
  }
  ds.feature_names.pop_back();
  if (ds.rows != n)
    throw CsvError(path, 0, 0,
                   "the header announces " + std::to_string(n) + " rows but the file holds " + std::to_string(ds.rows));
  ds.labels = std::move(labels);
  return ds;
}

void write_scores_csv(const std::string& path, const std::vector<float>& scores, const std::vector<int>& labels,
                      const std::vector<std::string>& ids, const std::string& id_name) {
  // No label column only when there are scores but no labels (0 scores and 0 labels still write "score,label").
  const bool with_labels = labels.size() == scores.size();
  if (!labels.empty() && !with_labels)
    throw DataError("write_scores_csv: " + std::to_string(scores.size()) + " scores but " +
                    std::to_string(labels.size()) + " labels");
  if (!ids.empty() && ids.size() != scores.size())
    throw DataError("write_scores_csv: " + std::to_string(scores.size()) + " scores but " + std::to_string(ids.size()) +
                    " ids");
  CsvWriter w(path);
  if (!ids.empty()) {
    w.put_name(id_name);
    w.put(',');
  }
  w.put(with_labels ? std::string_view("score,label\n") : std::string_view("score\n"));
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!ids.empty()) {
      w.put_name(ids[i]);
      w.put(',');
    }
    w.put(scores[i]);
    if (with_labels) {
      w.put(',');
      w.put(std::string_view(std::to_string(labels[i])));
    }
    w.put('\n');
  }
  w.close();
}

void write_csv(const std::string& path, const Dataset& data) {
  if (data.X.size() != data.rows * data.cols)
    throw DataError("write_csv: X holds " + std::to_string(data.X.size()) + " values, expected rows x cols = " +
                    std::to_string(data.rows) + " x " + std::to_string(data.cols));
  if (!data.feature_names.empty() && data.feature_names.size() != data.cols)
    throw DataError("write_csv: " + std::to_string(data.feature_names.size()) + " feature names for " +
                    std::to_string(data.cols) + " columns");
  if (data.labels && data.labels->size() != data.rows)
    throw DataError("write_csv: " + std::to_string(data.labels->size()) + " labels for " + std::to_string(data.rows) +
                    " rows");
  CsvWriter w(path);
  for (std::size_t j = 0; j < data.cols; ++j) {
    if (j) w.put(',');
    w.put_name(data.feature_names.empty() ? "f" + std::to_string(j) : data.feature_names[j]);
  }
  if (data.labels) w.put(data.cols ? std::string_view(",label") : std::string_view("label"));
  w.put('\n');
  for (std::size_t i = 0; i < data.rows; ++i) {
    const float* r = data.X.data() + i * data.cols;
    for (std::size_t j = 0; j < data.cols; ++j) {
      if (j) w.put(',');
      w.put(r[j]);
    }
    if (data.labels) {
      if (data.cols) w.put(',');
      w.put(std::string_view(std::to_string((*data.labels)[i])));
    }
    w.put('\n');
  }
  w.close();
}

}  // namespace nomaly
