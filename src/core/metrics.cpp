// ROC-AUC and average precision, matching scikit-learn's roc_auc_score / average_precision_score.
#include "nomaly/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>

#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

/// Validates inputs and returns the number of positives.
std::size_t check_inputs(const std::vector<float>& scores, const std::vector<int>& labels, const char* metric) {
  const std::string m(metric);
  if (scores.size() != labels.size())
    throw DataError(m + ": " + std::to_string(scores.size()) + " scores but " + std::to_string(labels.size()) +
                    " labels");
  std::size_t pos = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw DataError(m + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                      " is not 0 or 1");
    if (std::isnan(scores[i])) throw DataError(m + ": score at index " + std::to_string(i) + " is NaN");
    pos += static_cast<std::size_t>(labels[i]);
  }
  if (pos == 0 || pos == labels.size())
    throw DataError(m + ": only one class present in the labels (" + std::to_string(pos) + " positives among " +
                    std::to_string(labels.size()) + "); the metric is undefined");
  return pos;
}

}  // namespace

double roc_auc(const std::vector<float>& scores, const std::vector<int>& labels) {
  const std::size_t n_pos = check_inputs(scores, labels, "roc_auc");
  const std::size_t n = scores.size();
  const std::size_t n_neg = n - n_pos;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Twice the rank sum of the positives, in integers: a tie block at sorted positions [i, j) shares the
  // 1-based average rank (i + 1 + j) / 2, so ties count 1/2 per positive/negative pair, exactly.
  std::uint64_t twice_rank_sum = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    std::uint64_t pos_in_block = 0;
    for (std::size_t k = i; k < j; ++k) pos_in_block += static_cast<std::uint64_t>(labels[order[k]]);
    twice_rank_sum += pos_in_block * (i + 1 + j);
    i = j;
  }
  const std::uint64_t twice_u = twice_rank_sum - static_cast<std::uint64_t>(n_pos) * (n_pos + 1);
  return static_cast<double>(twice_u) / (2.0 * static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

double average_precision(const std::vector<float>& scores, const std::vector<int>& labels) {
  const std::size_t n_pos = check_inputs(scores, labels, "average_precision");
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  // One precision/recall point per distinct score threshold, walked from the highest score down.
  double ap = 0.0, prev_recall = 0.0;
  std::size_t tp = 0, seen = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) tp += static_cast<std::size_t>(labels[order[j++]]);
    seen = j;
    const double recall = static_cast<double>(tp) / static_cast<double>(n_pos);
    const double precision = static_cast<double>(tp) / static_cast<double>(seen);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
    i = j;
  }
  return ap;
}

}  // namespace nomaly
