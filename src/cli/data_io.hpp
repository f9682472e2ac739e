// The CLI side of reading user data and writing results: the options every data command shares (--input, --sep,
// --label-column, --id-column, --no-header, and for fitting --columns/--drop), mapped onto nomaly::read_table,
// and the output-path checks that run before any work.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "nomaly/table.hpp"

namespace nomaly::cli {

struct DataOptions {
  std::string input, label_column, id_column, sep = ",";
  std::vector<std::string> columns, drop;
  bool no_header = false;
  CLI::Option* label_opt = nullptr;  // set by add_data_options: was --label-column given?
};

/// Adds --input/-i (required; "-" = stdin), --label-column, --id-column, --sep, --no-header; with `fitting`, also
/// --columns and --drop (when scoring, the model's feature names choose the columns).
void add_data_options(CLI::App* cmd, DataOptions& d, bool fitting);

/// TableOptions for `d` (label_column left unset unless --label-column was given). ParameterError for a bad --sep.
TableOptions table_options(const DataOptions& d);

/// Fails fast, before any fitting or scoring, when an output cannot be written: a missing or non-folder parent,
/// a folder given as the file, a read-only file or folder (IoError, exit 5), or an output that is one of
/// `inputs` or another output (ParameterError, exit 2: the command would destroy its own input).
/// `outputs` are (flag, path) pairs; empty paths and "-" (stdout) are skipped.
void check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs, const std::vector<std::string>& inputs);

}  // namespace nomaly::cli
