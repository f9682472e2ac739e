#include "detectors/deep_info.hpp"

namespace nomaly::detail {

namespace {

// Parameters both networks share; defaults differ (PyOD 2 AutoEncoder vs Deep SVDD, see deep.hpp).
std::vector<ParamSpec> common_params(int epochs, int batch_size, double lr, const json& random_state) {
  return {
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected share of anomalies; sets the threshold"},
      {"hidden_neurons", json::array({64, 32}), "[int >= 1], non-empty", "hidden layer sizes of the encoder"},
      {"hidden_activation", "relu", "\"relu\" | \"tanh\" | \"sigmoid\"", "activation of the hidden layers"},
      {"dropout_rate", 0.2, "float in [0, 1)", "dropout after hidden layers during training"},
      {"epochs", epochs, "int >= 1", "passes over the training data"},
      {"batch_size", batch_size, "int >= 1", "rows per mini-batch"},
      {"lr", lr, "float > 0", "Adam learning rate"},
      {"preprocessing", true, "bool", "standardise features with the training mean and std"},
      {"random_state", random_state, "null | int >= 0", "seed of weights, dropout and batch order"},
  };
}

}  // namespace

AlgorithmInfo autoencoder_info() {
  AlgorithmInfo info;
  info.name = "autoencoder";
  info.summary = "Fully connected autoencoder; score = squared reconstruction error (libtorch)";
  info.reference = "PyOD 2 AutoEncoder; Aggarwal, Outlier Analysis (2017), ch. 3";
  info.params = common_params(10, 32, 1e-3, 42);
  info.params.push_back({"batch_norm", true, "bool", "BatchNorm1d after every hidden Linear layer"});
  info.params.push_back({"weight_decay", 1e-5, "float >= 0", "Adam L2 weight decay"});
  info.deep = true;
  return info;
}

AlgorithmInfo deepsvdd_info() {
  AlgorithmInfo info;
  info.name = "deepsvdd";
  info.summary = "Deep SVDD: bias-free MLP pulled towards a centre; score = squared distance to it (libtorch)";
  info.reference =
      "Ruff et al., Deep One-Class Classification, ICML 2018; PyOD DeepSVDD layout; training as in the authors' "
      "ODDS code (lukasruff/Deep-SAD-PyTorch): min-max scaling, batch norm without affine terms, autoencoder "
      "pretraining, Adam lr 1e-4, batch 128, 150 + 150 epochs, weight decay 1e-6";
  // Epochs, batch size, learning rate and weight decays follow the authors' ODDS setup, not PyOD (deep.hpp).
  info.params = common_params(150, 128, 1e-4, nullptr);
  for (auto& p : info.params)
    if (p.name == "preprocessing") p.help = "min-max scale features to [0, 1] with the training min and max";
  info.params.push_back({"l2_regularizer", 1e-6, "float >= 0", "Adam L2 weight decay of the Deep SVDD phase"});
  info.params.push_back({"batch_norm", true, "bool",
                         "BatchNorm1d without affine terms (eps 1e-4) after every Linear layer but the output one "
                         "of the decoder"});
  info.params.push_back({"pretrain_epochs", 150, "int >= 0",
                         "autoencoder pretraining epochs before c is set (0 = no pretraining)"});
  info.params.push_back({"pretrain_weight_decay", 1e-6, "float >= 0", "Adam L2 weight decay of the pretraining"});
  info.deep = true;
  return info;
}

}  // namespace nomaly::detail
