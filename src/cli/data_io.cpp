#include "cli/data_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nomaly/errors.hpp"

namespace nomaly::cli {

namespace fs = std::filesystem;

void add_data_options(CLI::App* cmd, DataOptions& d, bool fitting) {
  cmd->add_option("--input,-i", d.input, "CSV file with a header row ('-' = standard input)")->required();
  d.label_opt = cmd->add_option("--label-column", d.label_column,
                                "0/1 label column (1 = anomaly), never a feature; enables ROC-AUC and AP "
                                "(default: 'label' when the header has it; '' = none)");
  cmd->add_option("--id-column", d.id_column, "Column of row ids, kept as text and written first to --scores-out");
  cmd->add_option("--sep", d.sep, "Field separator: one character, or 'tab'")->capture_default_str();
  cmd->add_flag("--no-header", d.no_header, "The file has no header row: every line is data, columns are f0..f{d-1}");
  if (!fitting) return;
  cmd->add_option("--columns", d.columns, "Feature columns to use, by name (comma-separated or repeated; default: all)")
      ->delimiter(',');
  cmd->add_option("--drop", d.drop, "Columns to leave out of the features (comma-separated or repeated)")->delimiter(',');
}

TableOptions table_options(const DataOptions& d) {
  TableOptions t;
  if (d.label_opt && d.label_opt->count() > 0) t.label_column = d.label_column;
  t.id_column = d.id_column;
  t.columns = d.columns;
  t.drop = d.drop;
  t.header = !d.no_header;
  if (d.sep == "tab" || d.sep == "\\t" || d.sep == "\t") t.sep = '\t';
  else if (d.sep.size() == 1 && d.sep != "\"" && d.sep != "\n" && d.sep != "\r") t.sep = d.sep[0];
  else throw ParameterError("--sep must be one character (not a quote or a newline) or 'tab', got '" + d.sep + "'");
  return t;
}

namespace {

void check_writable(const std::string& flag, const std::string& path) {
  const std::string what = flag + " '" + path + "'";
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) throw IoError("cannot write " + what + ": it is a folder; give a file name");
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::exists(parent, ec)) throw IoError("cannot write " + what + ": folder '" + parent.string() + "' does not exist");
  if (!fs::is_directory(parent, ec)) throw IoError("cannot write " + what + ": '" + parent.string() + "' is not a folder");
  const bool exists = fs::exists(p, ec);
  if (::access(exists ? p.c_str() : parent.c_str(), W_OK) != 0) {
    const int err = errno;
    throw IoError("cannot write " + what + ": " + (exists ? "the file" : "folder '" + parent.string() + "'") +
                  " is not writable (" + std::strerror(err) + ")");
  }
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

void check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs, const std::vector<std::string>& inputs) {
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const auto& [flag, path] = outputs[k];
    if (path.empty() || path == "-") continue;
    for (const auto& in : inputs)
      if (!in.empty() && in != "-" && same_file(path, in))
        throw ParameterError(flag + " '" + path + "' is the input file '" + in + "'; refusing to overwrite it (choose another path)");
    for (std::size_t j = 0; j < k; ++j)
      if (!outputs[j].second.empty() && outputs[j].second != "-" && same_file(path, outputs[j].second))
        throw ParameterError(flag + " and " + outputs[j].first + " name the same file '" + path + "'");
    check_writable(flag, path);
  }
}

}  // namespace nomaly::cli
