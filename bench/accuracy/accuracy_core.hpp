// The accuracy protocol of `make accuracy` (issue 7 §1), shared by the runner and the CI smoke test:
// ADBench's unsupervised setting - fit on all rows, score all rows, rank against the labels - with default
// parameters, over 5 seeds for randomised detectors (those with a random_state parameter) and 1 otherwise.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "nomaly/dataset.hpp"
#include "nomaly/metrics.hpp"
#include "nomaly/registry.hpp"

namespace nomaly::accuracy {

/// One (dataset, algorithm, seed) run. status is "ok" or the error message of a detector that refused the
/// data (e.g. a singular covariance); the numbers are then NaN-free zeros and must be ignored.
struct Run {
  std::string dataset, algorithm;
  int seed = 0;
  double roc_auc = 0, average_precision = 0, fit_seconds = 0, score_seconds = 0;
  std::string status = "ok";
};

inline bool is_randomised(const AlgorithmInfo& info) {
  for (const auto& p : info.params)
    if (p.name == "random_state") return true;
  return false;
}

/// Seeds to run: 0..n_seeds-1 for randomised detectors, {0} otherwise.
inline int seeds_for(const AlgorithmInfo& info, int n_seeds) { return is_randomised(info) ? n_seeds : 1; }

/// Fits `info` with default parameters (random_state = seed when it has one) on all of `ds` and scores it.
/// Never throws: nomaly errors become the status.
inline Run run_one(const Dataset& ds, const std::string& dataset, const AlgorithmInfo& info, int seed) {
  using clock = std::chrono::steady_clock;
  Run r{dataset, info.name, seed};
  try {
    json params = json::object();
    if (is_randomised(info)) params["random_state"] = seed;
    auto det = create_detector(info.name, params);
    const auto t0 = clock::now();
    det->fit(ds.view());
    const auto t1 = clock::now();
    std::vector<float> scores = det->score_samples(ds.view());
    const auto t2 = clock::now();
    r.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
    r.score_seconds = std::chrono::duration<double>(t2 - t1).count();
    // The scores of the fitted rows are the training scores (PyOD's decision_scores_, sklearn LOF's
    // negative_outlier_factor_): LOF and KNN leave each row out of its own neighbourhood there, whereas
    // score_samples treats the rows as new points. Detectors that skip them (iforest) score the same either way.
    if (det->training_scores().size() == ds.rows) scores = det->training_scores();
    r.roc_auc = roc_auc(scores, *ds.labels);
    r.average_precision = average_precision(scores, *ds.labels);
  } catch (const std::exception& e) {
    r.status = e.what();
  }
  return r;
}

/// The long CSV written by the runner and by bench/sklearn_accuracy.py (same columns).
inline const char* kCsvHeader = "impl,algorithm,dataset,seed,roc_auc,average_precision,fit_seconds,score_seconds,status";

inline void write_csv_row(std::ostream& out, const Run& r) {
  std::string status = r.status;
  for (char& c : status)
    if (c == ',' || c == '"' || c == '\n' || c == '\r') c = ' ';  // one field, no quoting needed
  out << "nomaly," << r.algorithm << ',' << r.dataset << ',' << r.seed << ',' << r.roc_auc << ','
      << r.average_precision << ',' << r.fit_seconds << ',' << r.score_seconds << ',' << status << '\n';
}

}  // namespace nomaly::accuracy
