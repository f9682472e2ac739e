// The one reader of user data: every command of the CLI (detect, train, score, verify), the HTTP server and the
// Python package read a CSV through read_table, so a file means the same thing everywhere.
//
// Format: an optional header row, then one row per sample, fields split at `sep` (RFC 4180 quoting, blanks
// around fields dropped). Tolerated: a UTF-8 BOM, CRLF or CR-only line endings, trailing blank lines.
// Numbers are parsed with std::from_chars (locale-independent; a float32 written by write_csv reads back exactly).
//
// Column roles, decided from the header alone, before any cell is parsed:
//  - label: `label_column` when given; otherwise a column named "label" in any case (Label, LABEL) or "is_anomaly"
//    (anywhere in the header), unless the model being scored has a feature of that name or `columns` lists it;
//    two such columns are a CsvError. Values must be 0/1 (1 = anomaly). When scoring (model_features set), a
//    label found by name that holds other values is not used (Table::label_note says why), never an error.
//  - id: `id_column` when given; its cells are kept as text (Table::ids) and never parsed.
//  - features: with `model_features` set (scoring), exactly those columns, matched by name through
//    nomaly::select_features (nomaly/columns.hpp) and returned in the model's order; every other column is
//    ignored unparsed (Table::unused_columns). Otherwise `columns` when given (in that order), else every column
//    that is not the label, the id or listed in `drop`.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly {

struct TableOptions {
  /// The 0/1 label column. nullopt: "label" when the header has it; "": no label column.
  std::optional<std::string> label_column;
  /// A column of row ids, kept as text (e.g. a customer id or a timestamp). Empty = none.
  std::string id_column;
  /// Feature columns to use, in this order (empty = every column not otherwise taken).
  std::vector<std::string> columns;
  /// Columns to leave out (neither features nor label).
  std::vector<std::string> drop;
  /// A fitted model's feature names: read only these columns, in this order (see the file comment).
  std::vector<std::string> model_features;
  /// With model_features: select_features' `positional` rule (take the columns in order when no name matches).
  bool positional = false;
  /// The field separator: ',', ';', '\t', '|', ... (never '"', '\r' or '\n').
  char sep = ',';
  /// false: the first line is data, and columns are named f0..f{d-1}.
  bool header = true;
  /// true: a header with no data rows gives a 0-row table (scoring an empty batch); false: CsvError.
  bool allow_empty = false;
  /// When true (the default), NaN and +/-inf cells are rejected with CsvError.
  bool reject_non_finite = true;
  /// Lines longer than this many bytes are rejected (bounded memory on hostile input).
  std::size_t max_line_bytes = 16u << 20;
};

/// What read_table returns: the data and how each column of the file was used.
struct Table {
  /// rows x features, feature names and (when a label column is used) labels.
  Dataset data;
  /// One id per row when TableOptions::id_column is set, else empty.
  std::vector<std::string> ids;
  /// The label column used, "" when none.
  std::string label_column;
  /// Header columns read as neither feature, label nor id (dropped, or not features of the model), in file order.
  std::vector<std::string> unused_columns;
  /// Why a label column found by name was not used (scoring only; see the file comment), else empty.
  std::string label_note;
};

/// Reads a CSV file; `path` "-" reads standard input (named "<stdin>" in messages).
/// Throws CsvError (a DataError, exit 3) naming the file, line and column for: a file that cannot be opened or is
/// a directory; an empty file; a header with no data rows (unless allow_empty); a header that is not valid UTF-8
/// (names the byte and its offset); a header whose cells are all numbers (a file without a header: use
/// header = false); a header read as one column that holds ';', '\t' or '|' (wrong separator: names it); an empty
/// or duplicate column name; a label/id/columns/drop name not in the header, or used twice; no feature column
/// left; a non-numeric, NaN or +/-inf feature cell; a label that is not 0/1; a ragged row; an over-long line.
/// With model_features, the missing-feature DataError of select_features, before any cell is parsed.
Table read_table(const std::string& path, const TableOptions& options = {});

/// Same as read_table, from a stream; `name` is used in messages.
Table read_table(std::istream& in, const std::string& name, const TableOptions& options = {});

/// One line for a user: "features (3): a, b, c; label: label; ignored: id, ts" (bounded, escaped).
std::string describe_columns(const Table& table);

}  // namespace nomaly
