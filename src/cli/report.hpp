// Shared CLI pieces: the run report printed by detect/score/quickstart, param parsing, file writing.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"
#include "nomaly/params.hpp"

namespace nomaly {
class Detector;
}

namespace nomaly::cli {

struct RunReport {
  std::string algorithm;
  std::size_t n_rows = 0, n_features = 0, n_anomalies = 0;
  double threshold = 0.0;
  std::optional<double> roc_auc, average_precision;
  double fit_seconds = -1.0, score_seconds = 0.0;
  json extra = json::object();
};

/// Counts anomalies and, when the dataset has labels with both classes, computes ROC-AUC and AP.
RunReport make_report(const Dataset& data, const std::vector<float>& scores, const std::vector<int>& labels, double threshold);
/// Prints the report as text, or as one JSON object (n_rows, n_features, n_anomalies, threshold, roc_auc,
/// average_precision, fit_seconds, score_seconds, plus extra fields).
void print_report(const RunReport& r, bool as_json);
/// Parses repeated key=value strings into a JSON object (ParameterError on a malformed one).
json parse_param_list(const std::vector<std::string>& assignments);
/// The label column to use: `given` when the user passed --label-column, else "label" when the CSV header has
/// such a column (so a label is never silently used as a feature), else none.
std::string default_label_column(const std::string& csv_path, const std::string& given, bool given_explicitly);
/// Writes bytes to a file atomically enough for CLI output; DataError naming the path on failure.
void write_file(const std::string& path, const std::string& bytes);

/// For deep detectors: prints per-epoch progress to stderr (a bar with loss and rows/s on a TTY, plain lines
/// otherwise). Does nothing for other detectors.
void attach_progress(Detector& detector);
/// quickstart (cli/quickstart.cpp).
void add_quickstart_command(CLI::App& app);

}  // namespace nomaly::cli
