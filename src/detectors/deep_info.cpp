#include "detectors/deep_info.hpp"

namespace nomaly::detail {

namespace {

// Parameters both networks share; defaults differ (PyOD 2 AutoEncoder vs PyOD DeepSVDD).
std::vector<ParamSpec> common_params(int epochs, const json& random_state) {
  return {
      {"contamination", 0.1, "float in (0, 0.5] | \"auto\"", "expected share of anomalies; sets the threshold"},
      {"hidden_neurons", json::array({64, 32}), "[int >= 1], non-empty", "hidden layer sizes of the encoder"},
      {"hidden_activation", "relu", "\"relu\" | \"tanh\" | \"sigmoid\"", "activation of the hidden layers"},
      {"dropout_rate", 0.2, "float in [0, 1)", "dropout after hidden layers during training"},
      {"epochs", epochs, "int >= 1", "passes over the training data"},
      {"batch_size", 32, "int >= 1", "rows per mini-batch"},
      {"lr", 1e-3, "float > 0", "Adam learning rate"},
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
  info.params = common_params(10, 42);
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
      "Ruff et al., Deep One-Class Classification, ICML 2018; PyOD DeepSVDD (deviation: min-max scaling to "
      "[0, 1] as in the authors' ODDS code, since the bias-free network maps the origin to 0)";
  info.params = common_params(100, nullptr);
  for (auto& p : info.params)
    if (p.name == "preprocessing") p.help = "min-max scale features to [0, 1] with the training min and max";
  info.params.push_back({"l2_regularizer", 0.1, "float >= 0", "Adam L2 weight decay (PyOD's l2_regularizer)"});
  info.deep = true;
  return info;
}

}  // namespace nomaly::detail
