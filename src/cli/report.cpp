#include "cli/report.hpp"

#include "cli/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <iostream>

#include <unistd.h>

#include "core/out_file.hpp"
#include "nomaly/detectors/deep.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/metrics.hpp"

namespace nomaly::cli {

RunReport make_report(const Dataset& data, const std::vector<float>& scores, const std::vector<int>& labels, double threshold) {
  RunReport r;
  r.n_rows = data.rows;
  r.n_features = data.cols;
  r.feature_names = data.feature_names;
  r.threshold = threshold;
  for (int l : labels) r.n_anomalies += l == 1;
  if (!scores.empty()) {
    std::vector<float> s = scores;
    const auto mid = s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2);
    std::nth_element(s.begin(), mid, s.end());
    double median = *mid;
    if (s.size() % 2 == 0) median = (median + *std::max_element(s.begin(), mid)) / 2;  // numpy's median
    const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
    r.summary = ScoreSummary{*lo, median, *hi};
  }
  if (data.labels) {
    const auto& y = *data.labels;
    const auto pos = static_cast<std::size_t>(std::count(y.begin(), y.end(), 1));
    if (pos > 0 && pos < y.size()) {
      r.roc_auc = roc_auc(scores, y);
      r.average_precision = average_precision(scores, y);
    }
  }
  return r;
}

namespace {

std::string names_line(const std::vector<std::string>& names) {
  constexpr std::size_t kMax = 20;
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < kMax; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kMax) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

}  // namespace

void print_report(const RunReport& r, bool as_json, std::ostream& out) {
  if (as_json) {
    json j = {{"n_rows", r.n_rows}, {"n_features", r.n_features}, {"feature_names", r.feature_names},
              {"n_anomalies", r.n_anomalies}, {"threshold", r.threshold}};
    if (r.summary) j["score_summary"] = {{"min", r.summary->min}, {"median", r.summary->median}, {"max", r.summary->max}};
    if (!r.algorithm.empty()) j["algorithm"] = r.algorithm;
    if (r.fit_seconds) j["fit_seconds"] = *r.fit_seconds;
    if (r.load_seconds) j["load_seconds"] = *r.load_seconds;
    if (r.score_seconds) j["score_seconds"] = *r.score_seconds;
    else j["scores_from_fit"] = true;
    if (r.roc_auc) j["roc_auc"] = *r.roc_auc;
    if (r.average_precision) j["average_precision"] = *r.average_precision;
    j.update(r.extra);
    out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";  // paths (onnx_out, model) may hold any bytes
    return;
  }
  // %g style (precision 6): 5.5e-08 and 6.30989e+12 stay readable where %f showed 0.000000 or 13 digits.
  out << std::defaultfloat << std::setprecision(6);
  if (!r.algorithm.empty()) out << "algorithm:   " << r.algorithm << "\n";
  out << "rows:        " << r.n_rows << "\nfeatures:    " << r.n_features;
  if (!r.feature_names.empty()) out << " (" << names_line(r.feature_names) << ")";
  out << "\nanomalies:   " << r.n_anomalies << " (score > threshold " << r.threshold << ")\n";
  if (r.summary)
    out << "scores:      min " << r.summary->min << "  median " << r.summary->median << "  max " << r.summary->max
        << "  (" << r.n_anomalies << " of " << r.n_rows << " over the threshold)\n";
  out << std::setprecision(4);
  if (r.roc_auc) out << "ROC-AUC:     " << *r.roc_auc << "\n";
  if (r.average_precision) out << "avg prec:    " << *r.average_precision << "\n";
  out << std::setprecision(3);
  if (r.fit_seconds) out << "fit time:    " << *r.fit_seconds << " s\n";
  if (r.load_seconds) out << "load time:   " << *r.load_seconds << " s\n";
  if (r.score_seconds) out << "score time:  " << *r.score_seconds << " s\n";
  else out << "score time:  0 s (the scores came from the fit)\n";
  out << std::setprecision(6);
  for (auto it = r.extra.begin(); it != r.extra.end(); ++it)
    out << it.key() << ": " << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
}

json parse_param_list(const std::vector<std::string>& assignments) {
  json p = json::object();
  for (const auto& a : assignments) {
    auto [k, v] = parse_param_assignment(a);
    p[k] = v;
  }
  return p;
}

void write_file(const std::string& path, const std::string& bytes) {
  detail::OutFile f(path);  // temp + rename: an interrupted write leaves no half-written model under `path`
  f.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.commit();
}

void attach_progress(Detector& detector) {
  auto* deep = dynamic_cast<DeepDetector*>(&detector);
  if (!deep) return;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  deep->set_progress_callback([tty](const std::string& phase, int epoch, int epochs, double loss, double rows_per_s) {
    // Every epoch only with --verbose; otherwise each phase's last epoch is its summary; nothing with --quiet.
    if (verbosity() == Verbosity::Quiet || (verbosity() != Verbosity::Verbose && epoch != epochs)) return;
    char line[160];
    if (tty) {
      constexpr int kWidth = 30;
      const int filled = epochs > 0 ? epoch * kWidth / epochs : kWidth;
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(kWidth, '.');
      std::snprintf(line, sizeof line, "\r[%s] %s epoch %d/%d  loss %.5f  %.0f rows/s", bar.c_str(), phase.c_str(), epoch,
                    epochs, loss, rows_per_s);
      std::cerr << line << (epoch == epochs ? "\n" : "") << std::flush;
    } else {
      std::snprintf(line, sizeof line, "%s epoch %d/%d loss %.6f rows/s %.0f", phase.c_str(), epoch, epochs, loss,
                    rows_per_s);
      std::cerr << line << "\n";
    }
  });
}

}  // namespace nomaly::cli
