// The record reader and cell parsers behind read_table / read_csv. The reader streams the input through a
// bounded buffer (so a hostile single line cannot exhaust memory), splits records per RFC 4180 and parses cells
// with std::from_chars straight to float, so that a shortest-round-trip float written by write_csv reads back
// bit-exactly.
#include "core/csv_records.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "nomaly/errors.hpp"

namespace nomaly::detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank_char(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank_char(s.back())) s.remove_suffix(1);
  return s;
}

std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto u = static_cast<unsigned char>(s[i]);
  const std::size_t n = u < 0x80 ? 1 : (u >> 5) == 0x6 ? 2 : (u >> 4) == 0xE ? 3 : (u >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size() || (n == 2 && u < 0xC2)) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

std::string escape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    // Valid UTF-8 sequences pass; a stray byte (a Windows-1252 accent) becomes \xNN, so every message is UTF-8
    // (a JSON error object, a Python exception) and plain text on any terminal.
    const std::size_t n = u >= 0x80 ? utf8_length(s, i) : 1;
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", u);
      out += hex;
    }
  }
  return out;
}

std::string quote_cell(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"" + escape_text(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string join_names(const std::vector<std::string>& names) {
  constexpr std::size_t kMax = 50;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kMax; ++i) out += (i ? ", " : "") + escape_text(names[i]);
  if (names.size() > kMax) out += ", ... (" + std::to_string(names.size() - kMax) + " more)";
  return out;
}

// ---- records --------------------------------------------------------------------------------------

bool RecordReader::next(std::string_view& record, std::size_t& line) {
  std::size_t pos = begin_ + scanned_;
  for (;;) {
    for (; pos < end_; ++pos) {
      if (state_ == State::FieldStart || state_ == State::Unquoted) {
        // Fast path for quote-free text: jump to the next newline or quote (cached memchr results keep
        // this linear even for lines with many quoted fields).
        const std::size_t nl = find(nl_at_, nl_, pos);
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

bool RecordReader::step(char c) {
  switch (state_) {
    case State::FieldStart:
      if (c == '"') state_ = State::Quoted;
      else if (c == nl_) return true;
      else if (c != sep_ && !is_blank_char(c)) state_ = State::Unquoted;
      return false;
    case State::Unquoted:
      if (c == sep_) state_ = State::FieldStart;
      else if (c == nl_) return true;
      return false;
    case State::Quoted:
      if (c == '"') state_ = State::QuoteInQuoted;
      else if (c == nl_) ++quoted_newlines_;
      return false;
    case State::QuoteInQuoted:
      if (c == '"') state_ = State::Quoted;  // "" is an escaped quote
      else if (c == sep_) state_ = State::FieldStart;
      else if (c == nl_) return true;
      else state_ = State::Unquoted;  // junk after a closing quote; the field splitter reports it
      return false;
  }
  return false;
}

std::size_t RecordReader::find(std::size_t& cache, char c, std::size_t pos) {
  if (cache != kUnknown && cache >= pos) return cache;
  const auto* hit = static_cast<const char*>(std::memchr(buf_.data() + pos, c, end_ - pos));
  cache = hit ? static_cast<std::size_t>(hit - buf_.data()) : end_;
  return cache;
}

void RecordReader::advance_unquoted(std::size_t from, std::size_t to) {
  for (std::size_t i = to; i > from; --i) {
    const char c = buf_[i - 1];
    if (c != sep_ && is_blank_char(c)) continue;
    state_ = c == sep_ ? State::FieldStart : State::Unquoted;
    return;
  }
}

std::string_view RecordReader::finish(std::size_t b, std::size_t e) {
  std::size_t n = e - b;
  if (n && buf_[b + n - 1] == '\r') --n;
  check_length(n);
  return {buf_.data() + b, n};
}

void RecordReader::check_length(std::size_t n, bool partial) const {
  if (n > max_line_ + (partial ? 1 : 0))
    throw CsvError(name_, line_, 0,
                   "line is longer than " + std::to_string(max_line_) + " bytes (max_line_bytes); refusing to read it");
}

void RecordReader::reset_scan() {
  scanned_ = 0;
  quoted_newlines_ = 0;
  state_ = State::FieldStart;
}

void RecordReader::fill() {
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
  if (!detected_) detect_newline();
}

// A file whose first line break is a lone CR (classic Mac OS, some spreadsheet exports) uses CR throughout.
void RecordReader::detect_newline() {
  const char* b = buf_.data();
  const auto* cr = static_cast<const char*>(std::memchr(b, '\r', end_));
  const auto* lf = static_cast<const char*>(std::memchr(b, '\n', end_));
  if (lf && (!cr || lf < cr)) {  // LF or CRLF
    detected_ = true;
    return;
  }
  if (!cr) {
    detected_ = eof_;
    return;
  }
  const std::size_t at = static_cast<std::size_t>(cr - b);
  if (at + 1 < end_) {
    detected_ = true;
    if (b[at + 1] != '\n') nl_ = '\r';
  } else if (eof_) {
    detected_ = true;
    nl_ = '\r';
  }
}

void split_fields(std::string_view record, char sep, std::vector<std::string_view>& fields,
                  std::deque<std::string>& scratch, const std::string& name, std::size_t line) {
  fields.clear();
  std::size_t i = 0;
  for (;;) {
    const std::size_t col = fields.size() + 1;
    std::size_t j = i;
    while (j < record.size() && record[j] != sep && is_blank_char(record[j])) ++j;
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
      while (after < record.size() && record[after] != sep && is_blank_char(record[after])) ++after;
      if (after < record.size() && record[after] != sep)
        throw CsvError(name, line, col, "unexpected character after the closing quote of a quoted field");
      fields.push_back(inner);
      if (after >= record.size()) return;
      i = after + 1;
    } else {
      const std::size_t cut = record.find(sep, i);
      if (cut == std::string_view::npos) {
        fields.push_back(trim(record.substr(i)));
        return;
      }
      fields.push_back(trim(record.substr(i, cut - i)));
      i = cut + 1;
    }
  }
}

bool is_blank_record(std::string_view r) { return trim(r).empty(); }

// ---- numbers --------------------------------------------------------------------------------------

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

float parse_cell(std::string_view cell, bool reject_non_finite, const std::string& file, std::size_t line,
                 std::size_t col, const std::string& colname, const char* hint) {
  float v = 0;
  const NumStatus st = parse_float(cell, v);
  if (st == NumStatus::Ok) return v;
  const std::string where = "column '" + escape_text(colname) + "': ";  // built only on the error path
  switch (st) {
    case NumStatus::Ok: return v;
    case NumStatus::Empty:
      throw CsvError(file, line, col,
                     where + "non-numeric value \"\" (empty cell; missing values are not supported)" + hint);
    case NumStatus::NotNumber:
      throw CsvError(file, line, col, where + "non-numeric value " + quote_cell(trim(cell)) + hint);
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
                 "label column '" + escape_text(colname) + "': value " + quote_cell(trim(cell)) +
                     " is not 0 or 1 (1 = anomaly; a -1/1 or text label must be recoded, or read no label with "
                     "--label-column '')");
}

std::string_view strip_bom(std::string_view r) {
  if (r.size() >= 3 && static_cast<unsigned char>(r[0]) == 0xEF && static_cast<unsigned char>(r[1]) == 0xBB &&
      static_cast<unsigned char>(r[2]) == 0xBF)
    r.remove_prefix(3);
  return r;
}

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

bool DataRecords::next(std::string_view& rec, std::size_t& line) {
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

void ragged(const std::string& file, std::size_t line, std::size_t expected, std::size_t got,
            const std::vector<std::string>& names) {
  if (got < expected)
    throw CsvError(file, line, got + 1,
                   "too few fields: expected " + std::to_string(expected) + " (as in the header), got " +
                       std::to_string(got) + "; column '" + escape_text(names[got]) + "' is missing");
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

}  // namespace nomaly::detail
