// Deep detectors (AutoEncoder, Deep SVDD) trained with libtorch, seen through a torch-free interface.
//
// The detectors themselves live in src/detectors/deep/ and need libtorch (-DNOMALY_WITH_TORCH=ON). This
// header does not include torch: it exposes each trained network in eval mode as plain float arrays, so the
// ONNX converter (and any other consumer) works in both build configurations.
//
// Algorithms (registry names), defaults following PyOD 2:
//  - "autoencoder": fully connected autoencoder, d -> 64 -> 32 -> 64 -> d (hidden_neurons mirrored, the
//    innermost size appears once), each hidden layer Linear -> BatchNorm1d -> relu -> Dropout(0.2); trained
//    with Adam (lr 1e-3, weight_decay 1e-5) on the mean squared reconstruction error, 10 epochs, batch 32,
//    on features standardised with the training mean and population std (sklearn StandardScaler).
//    Score = sum over features of the squared reconstruction error of the standardised row.
//    (PyOD returns the Euclidean norm of that error; the square is monotone in it, so rankings are the same.)
//    Reference: PyOD 2 pyod.models.auto_encoder; Aggarwal, "Outlier Analysis" (2017), ch. 3.
//  - "deepsvdd": one-class Deep SVDD (Ruff et al., "Deep One-Class Classification", ICML 2018): a bias-free
//    MLP phi, d -> 64 -> 32, relu after every layer, dropout only between inner hidden layers (as PyOD);
//    features are min-max scaled to [0, 1] with the training minimum and range (sklearn MinMaxScaler);
//    the centre c is the mean of phi over the scaled training data before training, with coordinates
//    0 < |c_i| < 0.1 pushed to +/-0.1 (paper and PyOD, eps = 0.1). Trained with Adam (lr 1e-3,
//    weight_decay = l2_regularizer 0.1, PyOD's defaults) on mean ||phi(x) - c||^2 plus 1e-6 * sum of the
//    weights' Frobenius norms, 100 epochs, batch 32. Score = ||phi(x) - c||^2.
//    Deviations from PyOD, both for the score to mean what the paper says:
//     - c is taken after the last activation (the output the score uses, as in the paper); PyOD hooks the
//       last Linear before its relu. (PyOD <= 3.6.2 also trained against c = 0, its collapsed solution;
//       fixed upstream in PyOD 3.6.3, yzhao062/pyod#711.)
//     - min-max scaling instead of PyOD's StandardScaler. A bias-free relu network is positively
//       homogeneous, phi(t x) = t phi(x), so phi(0) = 0 for every weight setting. Standardised data put
//       the origin at the data mean, i.e. among the inliers, which then score about ||c||^2, the top of
//       the range, while rows far from the mean are mapped close to c: the ranking inverts (measured
//       ROC-AUC, mean of seeds 0-2, fit and scored on all rows: cardio 0.37, thyroid 0.29, wbc 0.39;
//       score and ||z|| have Spearman correlation -0.3 to -0.7). Min-max scaling puts the origin at a
//       corner of the data; it is the authors' own preprocessing of ODDS tabular data (Ruff et al., Deep
//       SAD, ICLR 2020, code lukasruff/Deep-SAD-PyTorch: StandardScaler then MinMaxScaler, which per
//       feature is the same affine map as MinMaxScaler alone). Same sets, same seeds: cardio 0.66,
//       thyroid 0.72, wbc 0.78.
//    Caveat: Deep SVDD is a one-class method (the paper trains on normal data only); fitted on contaminated
//    data it also pulls the outliers towards c, so on ODDS cardio/thyroid/wbc it stays below the
//    AutoEncoder (docs/benchmarks.md). The AutoEncoder is the robust choice there.
//
// Training is deterministic for a given random_state: torch::manual_seed(random_state), mini-batch order from
// std::mt19937_64(random_state), and torch runs on one thread during fit and scoring.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nomaly/detector.hpp"

namespace nomaly {

/// One layer of a trained network in eval mode: y = act(BN(x W^T + b)).
struct DeepLayer {
  std::size_t in_features = 0;
  std::size_t out_features = 0;
  std::vector<float> weight;  ///< out_features x in_features, row-major (torch.nn.Linear layout)
  std::vector<float> bias;    ///< out_features values, or empty when the layer has no bias (Deep SVDD)
  /// BatchNorm1d in eval mode, (z - running_mean) / sqrt(running_var + bn_eps) * gamma + beta.
  /// All four are empty when the layer has no batch norm, else out_features values each.
  std::vector<float> bn_gamma, bn_beta, bn_running_mean, bn_running_var;
  double bn_eps = 1e-5;
  std::string activation;  ///< "relu", "tanh", "sigmoid" or "identity"
};

/// What the score measures on the network output h of the standardised row z.
enum class DeepScoreKind {
  Reconstruction,   ///< sum_j (h_j - z_j)^2 (AutoEncoder)
  DistanceToCenter  ///< sum_j (h_j - center_j)^2 (Deep SVDD)
};

/// A trained network, exported in eval mode (dropout is the identity, batch norm uses running statistics).
struct DeepNetwork {
  /// Feature scaling z = (x - mean) / scale, d values each; both empty when preprocessing is off.
  /// AutoEncoder: training mean and population std. Deep SVDD: training minimum and range (max - min).
  std::vector<float> mean, scale;
  std::vector<DeepLayer> layers;  ///< applied in order to z
  DeepScoreKind score = DeepScoreKind::Reconstruction;
  std::vector<float> center;  ///< Deep SVDD centre c (size of the last layer's output); empty otherwise
};

/// Base of the libtorch detectors. Errors beyond Detector's: fit and restore throw FeatureDisabled when
/// NOMALY_DEEP_LEARNING is false (flags.hpp).
class DeepDetector : public Detector {
 public:
  /// Called after every training epoch: epoch is 1-based, loss is the epoch's mean mini-batch loss,
  /// rows_per_s the training throughput of that epoch. Called on the fitting thread.
  using ProgressCallback = std::function<void(int epoch, int epochs, double loss, double rows_per_s)>;

  void set_progress_callback(ProgressCallback callback) { progress_ = std::move(callback); }

  /// The fitted network in eval mode as plain arrays. NotFittedError before fit.
  virtual DeepNetwork network() const = 0;

  /// Mean mini-batch loss of every epoch of the last fit (empty after restore()).
  const std::vector<double>& loss_history() const { return loss_history_; }

 protected:
  using Detector::Detector;

  void report_epoch(int epoch, int epochs, double loss, double rows_per_s) {
    loss_history_.push_back(loss);
    if (progress_) progress_(epoch, epochs, loss, rows_per_s);
  }
  void clear_loss_history() { loss_history_.clear(); }

 private:
  ProgressCallback progress_;
  std::vector<double> loss_history_;
};

}  // namespace nomaly
