// Ranking metrics for anomaly scores (higher score = more anomalous, label 1 = anomaly).
#pragma once

#include <vector>

namespace nomaly {

/// Area under the ROC curve, tie-aware: the Mann-Whitney U statistic / (n_pos * n_neg), where a tied
/// positive/negative pair counts 1/2. Matches sklearn.metrics.roc_auc_score.
/// Throws DataError when sizes differ, a label is not 0/1, or either class is absent.
double roc_auc(const std::vector<float>& scores, const std::vector<int>& labels);

/// Average precision as in sklearn.metrics.average_precision_score: sum_k (R_k - R_{k-1}) P_k over
/// distinct score thresholds, descending (ties are one threshold). Throws DataError as roc_auc does,
/// or when there is no positive.
double average_precision(const std::vector<float>& scores, const std::vector<int>& labels);

}  // namespace nomaly
