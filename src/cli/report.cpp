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

#include "nomaly/detectors/deep.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/metrics.hpp"

namespace nomaly::cli {

RunReport make_report(const Dataset& data, const std::vector<float>& scores, const std::vector<int>& labels, double threshold) {
  RunReport r;
  r.n_rows = data.rows;
  r.n_features = data.cols;
  r.threshold = threshold;
  for (int l : labels) r.n_anomalies += l == 1;
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

void print_report(const RunReport& r, bool as_json) {
  if (as_json) {
    json j = {{"n_rows", r.n_rows}, {"n_features", r.n_features}, {"n_anomalies", r.n_anomalies}, {"threshold", r.threshold},
              {"score_seconds", r.score_seconds}};
    if (!r.algorithm.empty()) j["algorithm"] = r.algorithm;
    if (r.fit_seconds >= 0) j["fit_seconds"] = r.fit_seconds;
    if (r.roc_auc) j["roc_auc"] = *r.roc_auc;
    if (r.average_precision) j["average_precision"] = *r.average_precision;
    j.update(r.extra);
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << std::fixed;
  if (!r.algorithm.empty()) std::cout << "algorithm:   " << r.algorithm << "\n";
  std::cout << "rows:        " << r.n_rows << "\nfeatures:    " << r.n_features << "\nanomalies:   " << r.n_anomalies
            << " (score > threshold " << std::setprecision(6) << r.threshold << ")\n";
  if (r.roc_auc) std::cout << "ROC-AUC:     " << std::setprecision(4) << *r.roc_auc << "\n";
  if (r.average_precision) std::cout << "avg prec:    " << std::setprecision(4) << *r.average_precision << "\n";
  if (r.fit_seconds >= 0) std::cout << "fit time:    " << std::setprecision(3) << r.fit_seconds << " s\n";
  std::cout << "score time:  " << std::setprecision(3) << r.score_seconds << " s\n";
  for (auto it = r.extra.begin(); it != r.extra.end(); ++it)
    std::cout << it.key() << ": " << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
  std::cout.unsetf(std::ios::floatfield);
}

json parse_param_list(const std::vector<std::string>& assignments) {
  json p = json::object();
  for (const auto& a : assignments) {
    auto [k, v] = parse_param_assignment(a);
    p[k] = v;
  }
  return p;
}

std::string default_label_column(const std::string& csv_path, const std::string& given, bool given_explicitly) {
  if (given_explicitly) return given;
  std::ifstream in(csv_path, std::ios::binary);
  std::string header;
  if (!in || !std::getline(in, header)) return "";
  if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  std::stringstream cells(header);
  for (std::string cell; std::getline(cells, cell, ',');) {
    const auto b = cell.find_first_not_of(" \t\""), e = cell.find_last_not_of(" \t\"");
    if (b != std::string::npos && cell.substr(b, e - b + 1) == "label") return "label";
  }
  return "";
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw DataError(path + ": cannot open for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) throw DataError(path + ": write failed");
}

ScoreDiff score_diff(const std::vector<float>& got, const std::vector<float>& want) {
  ScoreDiff r;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(d)) d = std::numeric_limits<double>::infinity();
    r.max_abs = std::max(r.max_abs, d);
    r.max_rel = std::max(r.max_rel, d / std::max(1.0, std::fabs(static_cast<double>(want[i]))));
  }
  return r;
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
