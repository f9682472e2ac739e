// CSV reader/writer. The reader streams the input through a bounded buffer (so a hostile single
// line cannot exhaust memory), splits records per RFC 4180 and parses cells with std::from_chars
// straight to float, so that a shortest-round-trip float written by write_csv reads back bit-exactly.
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
#include <string_view>
#include <unordered_map>
#include <utility>

#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

constexpr std::size_t kChunkBytes = 64u << 10;

bool is_blank_char(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank_char(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank_char(s.back())) s.remove_suffix(1);
  return s;
}

/// Cell text for error messages: quoted, bounded, so a giant cell does not flood the terminal.
std::string quote_cell(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string join_names(const std::vector<std::string>& names) {
  constexpr std::size_t kMax = 50;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kMax; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kMax) out += ", ... (" + std::to_string(names.size() - kMax) + " more)";
  return out;
}

// ---- records --------------------------------------------------------------------------------------

/// Yields one CSV record at a time from a stream. A record ends at a newline outside a quoted field, so
/// it may span several physical lines. Memory stays within about max_line_bytes + one chunk.
class RecordReader {
 public:
  RecordReader(std::istream& in, const std::string& name, std::size_t max_line_bytes)
      : in_(in), name_(name), max_line_(max_line_bytes), buf_(kChunkBytes) {}

  /// Next record without its line terminator ("\n" or "\r\n"); the view lives until the next call.
  /// `line` receives the 1-based physical line the record starts on. Returns false at end of input.
  bool next(std::string_view& record, std::size_t& line) {
    std::size_t pos = begin_ + scanned_;
    for (;;) {
      for (; pos < end_; ++pos) {
        if (state_ == State::FieldStart || state_ == State::Unquoted) {
          // Fast path for quote-free text: jump to the next newline or quote (cached memchr results keep
          // this linear even for lines with many quoted fields).
          const std::size_t nl = find(nl_at_, '\n', pos);
          const std::size_t q = find(quote_at_, '"', pos);
          const std::size_t to = std::min(nl, q);
          advance_unquoted(pos, to);
          pos = to;
          if (pos == end_) break;
        }
        if (step(buf_[pos])) {
          record = finish(begin_, pos);
          line = line_;
          line_ += 1 + quoted_newlines_;
          begin_ = pos + 1;
          reset_scan();
          return true;
        }
      }
      scanned_ = pos - begin_;
      check_length(scanned_, true);
      if (eof_) {
        if (begin_ == end_) return false;
        record = finish(begin_, end_);
        line = line_;
        begin_ = end_;
        reset_scan();
        return true;
      }
      fill();
      pos = begin_ + scanned_;
    }
  }

 private:
  enum class State { FieldStart, Unquoted, Quoted, QuoteInQuoted };

  /// Advances the quote state machine by one byte; true at an unquoted newline (end of record).
  bool step(char c) {
    switch (state_) {
      case State::FieldStart:
        if (c == '"') state_ = State::Quoted;
        else if (c == '\n') return true;
        else if (c != ',' && !is_blank_char(c)) state_ = State::Unquoted;
        return false;
      case State::Unquoted:
        if (c == ',') state_ = State::FieldStart;
        else if (c == '\n') return true;
        return false;
      case State::Quoted:
        if (c == '"') state_ = State::QuoteInQuoted;
        else if (c == '\n') ++quoted_newlines_;
        return false;
      case State::QuoteInQuoted:
        if (c == '"') state_ = State::Quoted;  // "" is an escaped quote
        else if (c == ',') state_ = State::FieldStart;
        else if (c == '\n') return true;
        else state_ = State::Unquoted;  // junk after a closing quote; the field splitter reports it
        return false;
    }
    return false;
  }

  /// Position of the next `c` at or after `pos` (end_ if none), remembered in `cache` until the next fill().
  std::size_t find(std::size_t& cache, char c, std::size_t pos) {
    if (cache != kUnknown && cache >= pos) return cache;
    const auto* hit = static_cast<const char*>(std::memchr(buf_.data() + pos, c, end_ - pos));
    cache = hit ? static_cast<std::size_t>(hit - buf_.data()) : end_;
    return cache;
  }

  /// Sets the state for skipping the quote-free, newline-free bytes [from, to) in FieldStart/Unquoted.
  void advance_unquoted(std::size_t from, std::size_t to) {
    for (std::size_t i = to; i > from; --i) {
      const char c = buf_[i - 1];
      if (is_blank_char(c)) continue;
      state_ = c == ',' ? State::FieldStart : State::Unquoted;
      return;
    }
  }

  std::string_view finish(std::size_t b, std::size_t e) {
    std::size_t n = e - b;
    if (n && buf_[b + n - 1] == '\r') --n;
    check_length(n);
    return {buf_.data() + b, n};
  }

  /// `n` is the length of a complete record, or of a partial one while `partial` (which may still end in '\r').
  void check_length(std::size_t n, bool partial = false) const {
    if (n > max_line_ + (partial ? 1 : 0))
      throw CsvError(name_, line_, 0,
                     "line is longer than " + std::to_string(max_line_) + " bytes (max_line_bytes); refusing to read it");
  }

  void reset_scan() {
    scanned_ = 0;
    quoted_newlines_ = 0;
    state_ = State::FieldStart;
  }

  /// Moves the partial record to the front of the buffer (growing it if full) and reads more.
  void fill() {
    nl_at_ = quote_at_ = kUnknown;  // positions move below
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    in_.read(buf_.data() + end_, static_cast<std::streamsize>(buf_.size() - end_));
    end_ += static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) throw CsvError(name_, line_, 0, "read error");
    if (in_.eof() || in_.fail()) eof_ = true;
  }

  std::istream& in_;
  const std::string& name_;
  std::size_t max_line_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unconsumed bytes
  std::size_t scanned_ = 0;          // bytes of the current record already run through step()
  std::size_t quoted_newlines_ = 0;
  static constexpr std::size_t kUnknown = static_cast<std::size_t>(-1);
  std::size_t nl_at_ = kUnknown, quote_at_ = kUnknown;  // find() caches
  std::size_t line_ = 1;
  State state_ = State::FieldStart;
  bool eof_ = false;
};

/// Splits a record into fields. Quoted fields lose their quotes and "" becomes " (their content is kept
/// verbatim); blanks around any field are dropped. Views point into `record` or, for fields with escaped
/// quotes, into `scratch`.
void split_fields(std::string_view record, std::vector<std::string_view>& fields, std::deque<std::string>& scratch,
                  const std::string& name, std::size_t line) {
  fields.clear();
  std::size_t i = 0;
  for (;;) {
    const std::size_t col = fields.size() + 1;
    std::size_t j = i;
    while (j < record.size() && is_blank_char(record[j])) ++j;
    if (j < record.size() && record[j] == '"') {
      const std::size_t open = j + 1;
      bool escaped = false;
      std::size_t k = open;
      for (;; ++k) {
        if (k >= record.size()) throw CsvError(name, line, col, "unterminated quoted field");
        if (record[k] != '"') continue;
        if (k + 1 < record.size() && record[k + 1] == '"') {
          escaped = true;
          ++k;
          continue;
        }
        break;
      }
      std::string_view inner = record.substr(open, k - open);
      if (escaped) {
        if (scratch.size() < col) scratch.resize(col);
        std::string& s = scratch[col - 1];
        s.clear();
        for (std::size_t p = 0; p < inner.size(); ++p) {
          s += inner[p];
          if (inner[p] == '"') ++p;
        }
        inner = s;
      }
      std::size_t after = k + 1;
      while (after < record.size() && is_blank_char(record[after])) ++after;
      if (after < record.size() && record[after] != ',')
        throw CsvError(name, line, col, "unexpected character after the closing quote of a quoted field");
      fields.push_back(inner);
      if (after >= record.size()) return;
      i = after + 1;
    } else {
      const std::size_t comma = record.find(',', i);
      if (comma == std::string_view::npos) {
        fields.push_back(trim(record.substr(i)));
        return;
      }
      fields.push_back(trim(record.substr(i, comma - i)));
      i = comma + 1;
    }
  }
}

bool is_blank_record(std::string_view r) { return trim(r).empty(); }

// ---- numbers --------------------------------------------------------------------------------------

enum class NumStatus { Ok, Empty, NotNumber, NonFinite, Overflow };

/// Parses a float32 cell (blanks around it and a leading '+' allowed). Values beyond float32 range report
/// Overflow with out = +/-inf; values below it underflow to (signed) zero or a subnormal as numpy does.
NumStatus parse_float(std::string_view s, float& out) {
  s = trim(s);
  if (s.empty()) return NumStatus::Empty;
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  const char* b = s.data();
  const char* e = b + s.size();
  auto r = std::from_chars(b, e, out);
  if (r.ptr != e || r.ec == std::errc::invalid_argument) return NumStatus::NotNumber;
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars leaves `out` untouched here; find out whether it was an overflow or an underflow.
    double d = 0;
    auto rd = std::from_chars(b, e, d);
    if (rd.ec == std::errc::result_out_of_range) d = std::strtod(std::string(s).c_str(), nullptr);  // rare path
    if (std::fabs(d) >= 1.0) {
      out = std::signbit(d) ? -HUGE_VALF : HUGE_VALF;
      return NumStatus::Overflow;
    }
    out = static_cast<float>(d);
    return NumStatus::Ok;
  }
  return std::isfinite(out) ? NumStatus::Ok : NumStatus::NonFinite;
}

/// Parses a numeric cell or throws CsvError naming the file, line, column and column name.
float parse_cell(std::string_view cell, bool reject_non_finite, const std::string& file, std::size_t line,
                 std::size_t col, const std::string& colname) {
  float v = 0;
  const NumStatus st = parse_float(cell, v);
  if (st == NumStatus::Ok) return v;
  const std::string where = "column '" + colname + "': ";  // built only on the error path
  switch (st) {
    case NumStatus::Ok: return v;
    case NumStatus::Empty:
      throw CsvError(file, line, col, where + "non-numeric value \"\" (empty cell; missing values are not supported)");
    case NumStatus::NotNumber: throw CsvError(file, line, col, where + "non-numeric value " + quote_cell(trim(cell)));
    case NumStatus::Overflow:
      if (!reject_non_finite) return v;
      throw CsvError(file, line, col,
                     where + "value " + quote_cell(trim(cell)) +
                         " overflows float32 to infinity; non-finite values (NaN, inf, -inf) are rejected");
    case NumStatus::NonFinite:
      if (!reject_non_finite) return v;
      throw CsvError(file, line, col,
                     where + "non-finite value " + quote_cell(trim(cell)) +
                         "; non-finite values (NaN, inf, -inf) are rejected");
  }
  return v;
}

int parse_label(std::string_view cell, const std::string& file, std::size_t line, std::size_t col,
                const std::string& colname) {
  float v = 0;
  if (parse_float(cell, v) == NumStatus::Ok && (v == 0.0f || v == 1.0f)) return v == 1.0f ? 1 : 0;
  throw CsvError(file, line, col,
                 "label column '" + colname + "': value " + quote_cell(trim(cell)) + " is not 0 or 1 (1 = anomaly)");
}

/// Drops a UTF-8 byte order mark at the start of the first record.
std::string_view strip_bom(std::string_view r) {
  if (r.size() >= 3 && static_cast<unsigned char>(r[0]) == 0xEF && static_cast<unsigned char>(r[1]) == 0xBB &&
      static_cast<unsigned char>(r[2]) == 0xBF)
    r.remove_prefix(3);
  return r;
}

/// Reads the header record; throws "empty file" when the input holds nothing but blanks.
std::string_view read_header(RecordReader& rr, const std::string& name) {
  std::string_view rec;
  std::size_t line = 0;
  if (!rr.next(rec, line)) throw CsvError(name, 0, 0, "empty file: expected a header row");
  rec = strip_bom(rec);
  if (is_blank_record(rec)) {
    std::string_view more;
    std::size_t l2 = 0;
    while (rr.next(more, l2))
      if (!is_blank_record(more)) throw CsvError(name, 1, 0, "the header row (line 1) is blank");
    throw CsvError(name, 0, 0, "empty file: expected a header row");
  }
  return rec;
}

/// Iterates data records, skipping trailing blank lines and rejecting blank lines between rows.
class DataRecords {
 public:
  DataRecords(RecordReader& rr, const std::string& name) : rr_(rr), name_(name) {}
  bool next(std::string_view& rec, std::size_t& line) {
    std::size_t first_blank = 0;
    while (rr_.next(rec, line)) {
      if (is_blank_record(rec)) {
        if (!first_blank) first_blank = line;
        continue;
      }
      if (first_blank)
        throw CsvError(name_, first_blank, 0, "blank line between data rows (only trailing blank lines are allowed)");
      return true;
    }
    return false;
  }

 private:
  RecordReader& rr_;
  const std::string& name_;
};

void ragged(const std::string& file, std::size_t line, std::size_t expected, std::size_t got,
            const std::vector<std::string>& names) {
  if (got < expected)
    throw CsvError(file, line, got + 1,
                   "too few fields: expected " + std::to_string(expected) + " (as in the header), got " +
                       std::to_string(got) + "; column '" + names[got] + "' is missing");
  throw CsvError(file, line, expected + 1,
                 "too many fields: expected " + std::to_string(expected) + " (as in the header), got " +
                     std::to_string(got));
}

std::ifstream open_input(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw CsvError(path, 0, 0, "cannot open file: it is a directory");
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    const int err = errno;
    throw CsvError(path, 0, 0, std::string("cannot open file: ") + (err ? std::strerror(err) : "unknown error"));
  }
  return f;
}

// ---- writing --------------------------------------------------------------------------------------

/// Buffered writer that reports any I/O failure as DataError naming the path.
class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path) : path_(path) {
    errno = 0;
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) fail();
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
    out_.close();
    if (!out_) fail();
  }

 private:
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    if (!out_) fail();
    buf_.clear();
  }
  [[noreturn]] void fail() {
    const int err = errno;
    throw DataError("cannot write '" + path_ + "': " + (err ? std::strerror(err) : "I/O error"));
  }
  std::string path_;
  std::ofstream out_;
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
  RecordReader rr(in, name, options.max_line_bytes);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;  // deque: growing it keeps earlier views valid

  split_fields(read_header(rr, name), fields, scratch, name, 1);
  std::vector<std::string> names;
  names.reserve(fields.size());
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    std::string n(fields[c]);
    if (n.empty() && std::find(options.ignore_columns.begin(), options.ignore_columns.end(), "") ==
                         options.ignore_columns.end())
      throw CsvError(name, 1, c + 1, "column " + std::to_string(c + 1) + " has an empty name in the header");
    auto [it, fresh] = index.emplace(n, c);
    if (!fresh)
      throw CsvError(name, 1, c + 1,
                     "duplicate column name '" + n + "' (also column " + std::to_string(it->second + 1) + ")");
    names.push_back(std::move(n));
  }

  enum class Role : unsigned char { Feature, Label, Ignore };
  std::vector<Role> role(names.size(), Role::Feature);
  for (const std::string& ig : options.ignore_columns) {
    auto it = index.find(ig);
    if (it == index.end())
      throw CsvError(name, 1, 0, "ignored column '" + ig + "' not found; available columns: " + join_names(names));
    role[it->second] = Role::Ignore;
  }
  std::size_t label_col = names.size();
  if (!options.label_column.empty()) {
    auto it = index.find(options.label_column);
    if (it == index.end())
      throw CsvError(name, 1, 0,
                     "label column '" + options.label_column + "' not found; available columns: " + join_names(names));
    label_col = it->second;
    role[label_col] = Role::Label;
  }

  Dataset ds;
  for (std::size_t c = 0; c < names.size(); ++c)
    if (role[c] == Role::Feature) ds.feature_names.push_back(names[c]);
  ds.cols = ds.feature_names.size();
  if (ds.cols == 0)
    throw CsvError(name, 1, 0, "no feature columns: every column is the label column or ignored");

  std::vector<int> labels;
  DataRecords records(rr, name);
  std::string_view rec;
  std::size_t line = 0;
  while (records.next(rec, line)) {
    split_fields(rec, fields, scratch, name, line);
    if (fields.size() != names.size()) ragged(name, line, names.size(), fields.size(), names);
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (role[c] == Role::Feature)
        ds.X.push_back(parse_cell(fields[c], options.reject_non_finite, name, line, c + 1, names[c]));
      else if (role[c] == Role::Label)
        labels.push_back(parse_label(fields[c], name, line, c + 1, names[c]));
    }
    ++ds.rows;
  }
  if (ds.rows == 0) throw CsvError(name, 1, 0, "the file has a header row but no data rows");
  if (label_col < names.size()) ds.labels = std::move(labels);
  return ds;
}

Dataset read_sklearn_breast_cancer(const std::string& path) {
  std::ifstream f = open_input(path);
  RecordReader rr(f, path, 1u << 20);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;  // deque: growing it keeps earlier views valid

  split_fields(read_header(rr, path), fields, scratch, path, 1);
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
    split_fields(rec, fields, scratch, path, line);
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

void write_scores_csv(const std::string& path, const std::vector<float>& scores, const std::vector<int>& labels) {
  if (!labels.empty() && labels.size() != scores.size())
    throw DataError("write_scores_csv: " + std::to_string(scores.size()) + " scores but " +
                    std::to_string(labels.size()) + " labels");
  CsvWriter w(path);
  w.put(labels.empty() ? std::string_view("score\n") : std::string_view("score,label\n"));
  for (std::size_t i = 0; i < scores.size(); ++i) {
    w.put(scores[i]);
    if (!labels.empty()) {
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
