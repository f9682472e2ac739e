// Shared CLI pieces: the run report printed by detect/score/quickstart, param parsing, file writing.
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "nomaly/dataset.hpp"
#include "nomaly/params.hpp"

namespace nomaly {
class Detector;
}

namespace nomaly::cli {

/// min / median / max of the scores and how many are over the decision threshold (= n_anomalies).
struct ScoreSummary {
  double min = 0.0, median = 0.0, max = 0.0;
};

struct RunReport {
  std::string algorithm;
  std::size_t n_rows = 0, n_features = 0, n_anomalies = 0;
  std::vector<std::string> feature_names;
  double threshold = 0.0;
  std::optional<double> roc_auc, average_precision;
  std::optional<ScoreSummary> summary;  // none for 0 rows
  std::optional<double> fit_seconds, load_seconds;
  std::optional<double> score_seconds;  // none when the scores came from the fit (training scores)
  json extra = json::object();
};

/// Counts anomalies, summarises the scores and, when the dataset has labels with both classes, computes ROC-AUC
/// and AP.
RunReport make_report(const Dataset& data, const std::vector<float>& scores, const std::vector<int>& labels, double threshold);
/// Prints the report as text (numbers in %g style: 5.5e-08, 6.30989e+12), or as one JSON object (n_rows,
/// n_features, feature_names, n_anomalies, threshold, score_summary {min, median, max}, roc_auc, average_precision,
/// fit_seconds, load_seconds, score_seconds or scores_from_fit, plus extra fields).
void print_report(const RunReport& r, bool as_json, std::ostream& out = std::cout);
/// Parses repeated key=value strings into a JSON object (ParameterError on a malformed one).
json parse_param_list(const std::vector<std::string>& assignments);
/// Writes bytes to a file atomically enough for CLI output; IoError naming the path on failure.
void write_file(const std::string& path, const std::string& bytes);

/// For deep detectors: prints per-epoch progress to stderr (a bar with loss and rows/s on a TTY, plain lines
/// otherwise). Does nothing for other detectors.
void attach_progress(Detector& detector);
/// quickstart (cli/quickstart.cpp).
void add_quickstart_command(CLI::App& app);

}  // namespace nomaly::cli
