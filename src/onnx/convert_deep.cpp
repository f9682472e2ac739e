// ONNX converter of the deep detectors (autoencoder, deepsvdd). Works on DeepDetector::network(), the
// eval-mode weights as plain arrays, so this file needs no libtorch and compiles in both build configurations
// (without libtorch no deep detector can exist, so the converter is simply never reached).
//
// Graph: Sub/Div feature scaling (standardisation for the autoencoder, min-max for deepsvdd) -> per layer
// Gemm (BatchNorm folded in) and its activation -> the score as ReduceSumSquare over features of
// (output - scaled input) or (output - c). Dropout is the identity in eval mode and disappears.
#include <cmath>

#include "nomaly/detectors/deep.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/onnx/export.hpp"
#include "onnx/converters.hpp"

namespace nomaly::detail {

namespace {

using onnx_build::GraphBuilder;

// Folds eval-mode BatchNorm into the Linear layer, in double, then rounds once to float:
//   BN(Wx + b) = g * (Wx + b - mu) / sqrt(var + eps) + beta = (k W) x + (k (b - mu) + beta),  k = g / sqrt(var + eps).
void fold_layer(const DeepLayer& l, std::vector<float>& weight, std::vector<float>& bias) {
  const std::size_t out = l.out_features, in = l.in_features;
  weight = l.weight;
  bias = l.bias;
  if (l.bn_gamma.empty()) return;
  bias.resize(out, 0.0f);
  for (std::size_t o = 0; o < out; ++o) {
    const double k = static_cast<double>(l.bn_gamma[o]) / std::sqrt(static_cast<double>(l.bn_running_var[o]) + l.bn_eps);
    for (std::size_t i = 0; i < in; ++i)
      weight[o * in + i] = static_cast<float>(k * static_cast<double>(l.weight[o * in + i]));
    const double b = l.bias.empty() ? 0.0 : static_cast<double>(l.bias[o]);
    bias[o] = static_cast<float>(k * (b - static_cast<double>(l.bn_running_mean[o])) + static_cast<double>(l.bn_beta[o]));
  }
}

void check_layer(const std::string& algorithm, const DeepLayer& l, std::size_t expected_in) {
  const std::size_t out = l.out_features;
  const bool bn_ok = l.bn_gamma.empty() ? (l.bn_beta.empty() && l.bn_running_mean.empty() && l.bn_running_var.empty())
                                        : (l.bn_gamma.size() == out && l.bn_beta.size() == out &&
                                           l.bn_running_mean.size() == out && l.bn_running_var.size() == out);
  if (l.in_features != expected_in || l.weight.size() != out * l.in_features ||
      !(l.bias.empty() || l.bias.size() == out) || !bn_ok)
    throw OnnxExportError(algorithm + ": inconsistent layer shapes in the trained network");
}

std::string activation_node(const std::string& algorithm, GraphBuilder& g, const std::string& h, const std::string& act) {
  if (act == "relu") return g.node("Relu", {h});
  if (act == "tanh") return g.node("Tanh", {h});
  if (act == "sigmoid") return g.node("Sigmoid", {h});
  if (act == "identity") return h;
  throw OnnxExportError(algorithm + ": no ONNX mapping for activation '" + act + "'");
}

std::string convert_deep(const Detector& detector, GraphBuilder& g, const std::string& x, std::string& score_doc) {
  require_deep_learning();
  const std::string& algorithm = detector.algorithm();
  const auto* deep = dynamic_cast<const DeepDetector*>(&detector);
  if (!deep) throw OnnxExportError(algorithm + ": not a libtorch deep detector");
  const DeepNetwork net = deep->network();
  const std::size_t d = detector.n_features();
  const auto d64 = static_cast<std::int64_t>(d);

  std::string h = x;
  if (!net.mean.empty()) {
    if (net.mean.size() != d || net.scale.size() != d)
      throw OnnxExportError(algorithm + ": standardisation vectors do not match the feature count");
    h = g.node("Sub", {h, g.initializer("mean", net.mean, {d64})});
    h = g.node("Div", {h, g.initializer("scale", net.scale, {d64})});
  }
  const std::string z = h;

  std::size_t width = d;
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    const DeepLayer& l = net.layers[i];
    check_layer(algorithm, l, width);
    std::vector<float> w, b;
    fold_layer(l, w, b);
    const std::string tag = "layer" + std::to_string(i);
    const auto out = static_cast<std::int64_t>(l.out_features), in = static_cast<std::int64_t>(l.in_features);
    std::vector<std::string> inputs{h, g.initializer(tag + "_weight", w, {out, in})};
    if (!b.empty()) inputs.push_back(g.initializer(tag + "_bias", b, {out}));
    h = g.node("Gemm", inputs, {{"transB", std::int64_t{1}}});
    h = activation_node(algorithm, g, h, l.activation);
    width = l.out_features;
  }

  std::string diff;
  if (net.score == DeepScoreKind::Reconstruction) {
    if (width != d) throw OnnxExportError(algorithm + ": reconstruction width differs from the feature count");
    diff = g.node("Sub", {h, z});
    score_doc = "Sum of squared reconstruction errors of the standardised features (autoencoder); higher = more anomalous.";
  } else {
    if (net.center.size() != width) throw OnnxExportError(algorithm + ": centre size differs from the output width");
    diff = g.node("Sub", {h, g.initializer("center", net.center, {static_cast<std::int64_t>(width)})});
    score_doc = "Squared Euclidean distance of the network output to the hypersphere centre c (Deep SVDD); "
                "higher = more anomalous.";
  }
  // Opset 17: ReduceSumSquare still takes axes as an attribute.
  return g.node("ReduceSumSquare", {diff}, {{"axes", std::vector<std::int64_t>{1}}, {"keepdims", std::int64_t{0}}});
}

}  // namespace

void register_deep_converters() {
  register_onnx_converter("autoencoder", convert_deep);
  register_onnx_converter("deepsvdd", convert_deep);
}

}  // namespace nomaly::detail
