// CSV reading and writing, kept apart from the algorithms (faiss-style I/O separation).
//
// read_csv is read_table (nomaly/table.hpp, the one reader of user data) with an explicit label column and
// `ignore_columns` dropped: every other column is a numeric feature. The header rules, line endings and
// error messages are read_table's.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"

namespace nomaly {

struct CsvOptions {
  /// Name of the 0/1 label column (1 = anomaly). Empty = no label column.
  std::string label_column;
  /// When true (the default), NaN and +/-inf cells are rejected with CsvError.
  bool reject_non_finite = true;
  /// Lines longer than this many bytes are rejected (bounded memory on hostile input).
  std::size_t max_line_bytes = 16u << 20;
  /// Columns dropped on read (e.g. an id column).
  std::vector<std::string> ignore_columns;
};

/// Reads a CSV file into a Dataset.
/// Throws CsvError (a DataError) naming file, line and column for: a file that cannot be opened, an empty
/// file, a header with no rows, a non-numeric cell, a ragged row, a missing label column, a label that is
/// not 0/1, NaN or +/-inf (unless allowed), duplicate column names, or an over-long line (and every other
/// header error of read_table).
Dataset read_csv(const std::string& path, const CsvOptions& options = {});

/// Same as read_csv, from a stream; `name` is used in error messages.
Dataset read_csv(std::istream& in, const std::string& name, const CsvOptions& options = {});

/// Reads the scikit-learn WDBC file (first line "569,30,malignant,benign"; last column target, 0 = malignant).
/// Returns 569 x 30 features named mean_radius.. with labels 1 = malignant (the anomaly class).
/// Throws CsvError as read_csv does.
Dataset read_sklearn_breast_cancer(const std::string& path);

/// Writes "score,label" and one line per row (no label column when there are scores but `labels` is empty). With `ids` (one per row),
/// a first column named `id_name` holds them (quoted where needed). `path` "-" writes to standard output.
/// Throws DataError when the sizes differ, IoError (exit 5) when the file cannot be written.
void write_scores_csv(const std::string& path, const std::vector<float>& scores, const std::vector<int>& labels,
                      const std::vector<std::string>& ids = {}, const std::string& id_name = "id");

/// Writes a dataset as CSV with its feature names (and a trailing `label` column when labels exist).
/// Throws DataError for an inconsistent dataset, IoError when the file cannot be written.
void write_csv(const std::string& path, const Dataset& data);

}  // namespace nomaly
