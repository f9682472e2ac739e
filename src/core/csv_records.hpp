// Internal pieces of the one CSV reader (core/table.cpp) and the WDBC reader (core/csv.cpp): a bounded record
// reader, an RFC 4180 field splitter, cell parsers and message helpers. Not a public header.
#pragma once

#include <cstddef>
#include <deque>
#include <fstream>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace nomaly::detail {

constexpr std::size_t kChunkBytes = 64u << 10;

inline bool is_blank_char(char c) { return c == ' ' || c == '\t'; }
std::string_view trim(std::string_view s);
/// Bytes in a valid UTF-8 sequence starting at s[i] (1-4), or 0 when s[i] does not start one.
std::size_t utf8_length(std::string_view s, std::size_t i);
/// `s` with control characters shown as \r, \n, \t or \xNN, and bytes that are not valid UTF-8 as \xNN, so a
/// message never moves the terminal's cursor and is always valid UTF-8.
std::string escape_text(std::string_view s);
/// Cell text for messages: escaped, quoted, bounded, so a giant cell does not flood the terminal.
std::string quote_cell(std::string_view s);
/// Up to 50 names, escaped, comma-separated.
std::string join_names(const std::vector<std::string>& names);

/// Yields one CSV record at a time from a stream. A record ends at a newline outside a quoted field, so it may
/// span several physical lines. The newline is "\n" (a "\r\n" pair loses its "\r"), or "\r" for an old Mac
/// file whose first line ends in a lone CR. Memory stays within about max_line_bytes + one chunk.
class RecordReader {
 public:
  RecordReader(std::istream& in, const std::string& name, std::size_t max_line_bytes, char sep = ',')
      : in_(in), name_(name), max_line_(max_line_bytes), sep_(sep), buf_(kChunkBytes) {}

  /// Next record without its line terminator; the view lives until the next call. `line` receives the 1-based
  /// physical line the record starts on. Returns false at end of input.
  bool next(std::string_view& record, std::size_t& line);

 private:
  enum class State { FieldStart, Unquoted, Quoted, QuoteInQuoted };
  bool step(char c);
  std::size_t find(std::size_t& cache, char c, std::size_t pos);
  void advance_unquoted(std::size_t from, std::size_t to);
  std::string_view finish(std::size_t b, std::size_t e);
  void check_length(std::size_t n, bool partial = false) const;
  void reset_scan();
  void fill();
  void detect_newline();

  std::istream& in_;
  const std::string& name_;
  std::size_t max_line_;
  char sep_;
  char nl_ = '\n';
  bool detected_ = false;
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

/// Splits a record into fields at `sep`. Quoted fields lose their quotes and "" becomes " (their content is kept
/// verbatim); blanks around any field are dropped. Views point into `record` or, for fields with escaped quotes,
/// into `scratch` (a deque: growing it keeps earlier views valid).
void split_fields(std::string_view record, char sep, std::vector<std::string_view>& fields,
                  std::deque<std::string>& scratch, const std::string& name, std::size_t line);

bool is_blank_record(std::string_view r);

enum class NumStatus { Ok, Empty, NotNumber, NonFinite, Overflow };
/// Parses a float32 cell (blanks around it and a leading '+' allowed). Values beyond float32 range report
/// Overflow with out = +/-inf; values below it underflow to (signed) zero or a subnormal as numpy does.
NumStatus parse_float(std::string_view s, float& out);
/// Parses a numeric cell or throws CsvError naming the file, line, column and column name (+ `hint` if any).
float parse_cell(std::string_view cell, bool reject_non_finite, const std::string& file, std::size_t line,
                 std::size_t col, const std::string& colname, const char* hint = "");
/// A 0/1 label cell, else CsvError.
int parse_label(std::string_view cell, const std::string& file, std::size_t line, std::size_t col,
                const std::string& colname);

/// Drops a UTF-8 byte order mark at the start of the first record.
std::string_view strip_bom(std::string_view r);
/// Reads the header record (BOM stripped); throws "empty file" when the input holds nothing but blanks.
std::string_view read_header(RecordReader& rr, const std::string& name);

/// Iterates data records, skipping trailing blank lines and rejecting blank lines between rows.
class DataRecords {
 public:
  DataRecords(RecordReader& rr, const std::string& name) : rr_(rr), name_(name) {}
  bool next(std::string_view& rec, std::size_t& line);

 private:
  RecordReader& rr_;
  const std::string& name_;
};

/// Throws the "too few / too many fields" CsvError for a ragged row.
[[noreturn]] void ragged(const std::string& file, std::size_t line, std::size_t expected, std::size_t got,
                         const std::vector<std::string>& names);

/// Opens a file for reading; CsvError naming it when it is a directory or cannot be opened.
std::ifstream open_input(const std::string& path);

}  // namespace nomaly::detail
