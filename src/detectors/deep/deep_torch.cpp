// libtorch AutoEncoder and Deep SVDD (documented in include/nomaly/detectors/deep.hpp).
// This is the only translation unit that includes torch: torch headers compile slowly.
#include <ATen/Parallel.h>
#include <torch/nn.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>

#include "detectors/builtin.hpp"
#include "detectors/deep_info.hpp"
#include "nomaly/detectors/deep.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"

namespace nomaly {

namespace {

// ---- small helpers ------------------------------------------------------------------------------------

enum class Act { Relu, Tanh, Sigmoid, Identity };

const char* act_name(Act a) {
  switch (a) {
    case Act::Relu: return "relu";
    case Act::Tanh: return "tanh";
    case Act::Sigmoid: return "sigmoid";
    case Act::Identity: break;
  }
  return "identity";
}

torch::Tensor activate(const torch::Tensor& x, Act a) {
  switch (a) {
    case Act::Relu: return torch::relu(x);
    case Act::Tanh: return torch::tanh(x);
    case Act::Sigmoid: return torch::sigmoid(x);
    case Act::Identity: break;
  }
  return x;
}

// The torch seed, thread count and default generator are process-global, so fits and scorings of all deep
// detectors are serialised: otherwise a concurrent fit would make another one non-deterministic.
std::mutex& torch_mutex() {
  static std::mutex m;
  return m;
}

// One intra-op thread for determinism (reduction order); the caller's setting is restored afterwards.
class OneThread {
 public:
  OneThread() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~OneThread() { at::set_num_threads(previous_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int previous_;
};

std::vector<float> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

// ---- the network --------------------------------------------------------------------------------------

struct LayerPlan {
  std::int64_t in = 0, out = 0;
  bool bias = true;
  bool batch_norm = false;
  Act act = Act::Identity;
  bool dropout = false;  // after the activation, training only
  bool bn_affine = true;
  double bn_eps = 1e-5;
};

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(std::vector<LayerPlan> plan, double dropout) : plan_(std::move(plan)), dropout_(dropout) {
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      const LayerPlan& p = plan_[i];
      linears_.push_back(register_module("linear" + std::to_string(i),
                                         torch::nn::Linear(torch::nn::LinearOptions(p.in, p.out).bias(p.bias))));
      norms_.push_back(p.batch_norm ? register_module("norm" + std::to_string(i),
                                                      torch::nn::BatchNorm1d(torch::nn::BatchNormOptions(p.out)
                                                                                 .affine(p.bn_affine)
                                                                                 .eps(p.bn_eps)))
                                    : torch::nn::BatchNorm1d(nullptr));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      x = linears_[i](x);
      if (!norms_[i].is_empty()) x = norms_[i](x);
      x = activate(x, plan_[i].act);
      if (plan_[i].dropout && dropout_ > 0.0 && is_training()) x = torch::dropout(x, dropout_, true);
    }
    return x;
  }

  const std::vector<LayerPlan>& plan() const { return plan_; }
  const torch::nn::Linear& linear(std::size_t i) const { return linears_[i]; }
  const torch::nn::BatchNorm1d& norm(std::size_t i) const { return norms_[i]; }

 private:
  std::vector<LayerPlan> plan_;
  double dropout_;
  std::vector<torch::nn::Linear> linears_;
  std::vector<torch::nn::BatchNorm1d> norms_;
};
TORCH_MODULE(Mlp);

// ---- parameters ---------------------------------------------------------------------------------------

struct Config {
  std::vector<std::int64_t> hidden;
  Act act = Act::Relu;
  double dropout = 0.2;
  int epochs = 10;
  std::int64_t batch_size = 32;
  double lr = 1e-3;
  bool preprocessing = true;
  std::optional<std::uint64_t> seed;
  bool batch_norm = false;
  double weight_decay = 0.0;
  int pretrain_epochs = 0;            // Deep SVDD only
  double pretrain_weight_decay = 0.0;  // Deep SVDD only
};

// Bounds that keep a mistyped size from exhausting memory (torch would abort the allocation with a stack dump).
constexpr std::int64_t kMaxHidden = std::int64_t{1} << 20;
constexpr std::int64_t kMaxWeights = std::int64_t{1} << 27;  // 512 MB of float32 weights, ~2 GB with Adam's state

[[noreturn]] void bad(const std::string& name, const std::string& rule, const json& v) {
  throw ParameterError("parameter '" + name + "' must be " + rule + ", got " + v.dump());
}

Config read_config(const json& p, const std::string& weight_decay_name) {
  Config c;
  c.hidden = param_int_list(p, "hidden_neurons");
  if (c.hidden.empty()) bad("hidden_neurons", "a non-empty list of integers >= 1", p.at("hidden_neurons"));
  for (auto h : c.hidden)
    if (h < 1 || h > kMaxHidden)
      bad("hidden_neurons", "a non-empty list of integers in [1, " + std::to_string(kMaxHidden) + "]", p.at("hidden_neurons"));
  const std::string act = param_string(p, "hidden_activation");
  if (act == "relu") c.act = Act::Relu;
  else if (act == "tanh") c.act = Act::Tanh;
  else if (act == "sigmoid") c.act = Act::Sigmoid;
  else bad("hidden_activation", "\"relu\", \"tanh\" or \"sigmoid\"", p.at("hidden_activation"));
  c.dropout = param_float(p, "dropout_rate");
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) bad("dropout_rate", "in [0, 1)", p.at("dropout_rate"));
  const std::int64_t epochs = param_int(p, "epochs");
  if (epochs < 1 || epochs > 1000000) bad("epochs", "an integer in [1, 1000000]", p.at("epochs"));
  c.epochs = static_cast<int>(epochs);
  c.batch_size = param_int(p, "batch_size");
  if (c.batch_size < 1) bad("batch_size", "an integer >= 1", p.at("batch_size"));
  c.lr = param_float(p, "lr");
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) bad("lr", "a finite number > 0", p.at("lr"));
  c.preprocessing = param_bool(p, "preprocessing");
  std::uint64_t seed = 0;
  if (param_seed(p, "random_state", seed)) c.seed = seed;
  if (p.contains("batch_norm")) c.batch_norm = param_bool(p, "batch_norm");
  // Batch norm cannot train on single-row batches (torch rejects them).
  if (c.batch_norm && c.batch_size < 2) bad("batch_size", "an integer >= 2 when batch_norm is on", p.at("batch_size"));
  c.weight_decay = param_float(p, weight_decay_name);
  if (!(c.weight_decay >= 0.0) || !std::isfinite(c.weight_decay))
    bad(weight_decay_name, "a finite number >= 0", p.at(weight_decay_name));
  if (p.contains("pretrain_epochs")) {
    const std::int64_t e = param_int(p, "pretrain_epochs");
    if (e < 0 || e > 1000000) bad("pretrain_epochs", "an integer in [0, 1000000]", p.at("pretrain_epochs"));
    c.pretrain_epochs = static_cast<int>(e);
  }
  if (p.contains("pretrain_weight_decay")) {
    c.pretrain_weight_decay = param_float(p, "pretrain_weight_decay");
    if (!(c.pretrain_weight_decay >= 0.0) || !std::isfinite(c.pretrain_weight_decay))
      bad("pretrain_weight_decay", "a finite number >= 0", p.at("pretrain_weight_decay"));
  }
  return c;
}

/// ParameterError when the network for d features would hold more than kMaxWeights weights.
void check_weight_budget(const std::vector<LayerPlan>& plan, std::size_t d, const json& hidden) {
  double weights = 0.0;  // double: a product of two 2^20 sizes must not overflow
  for (const LayerPlan& l : plan) weights += static_cast<double>(l.in) * static_cast<double>(l.out);
  if (weights > static_cast<double>(kMaxWeights))
    throw ParameterError("parameter 'hidden_neurons' = " + hidden.dump() + " gives " + std::to_string(static_cast<long long>(weights)) +
                         " weights for " + std::to_string(d) + " features; at most " + std::to_string(kMaxWeights) +
                         " (2^27) are allowed");
}

// ---- shared training / scoring / persistence ----------------------------------------------------------

class TorchDetector : public DeepDetector {
 public:
  DeepNetwork network() const override {
    if (!is_fitted()) throw NotFittedError(algorithm() + ": network requested before fit");
    torch::NoGradGuard no_grad;
    DeepNetwork n;
    n.mean = mean_;
    n.scale = scale_;
    n.score = score_kind();
    if (center_.defined()) n.center = to_vector(center_);
    const auto& plan = net_->plan();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      DeepLayer l;
      l.in_features = static_cast<std::size_t>(plan[i].in);
      l.out_features = static_cast<std::size_t>(plan[i].out);
      l.weight = to_vector(net_->linear(i)->weight);
      if (plan[i].bias) l.bias = to_vector(net_->linear(i)->bias);
      if (plan[i].batch_norm) {
        const auto& bn = net_->norm(i);
        const auto out = static_cast<std::size_t>(plan[i].out);
        l.bn_gamma = plan[i].bn_affine ? to_vector(bn->weight) : std::vector<float>(out, 1.0f);
        l.bn_beta = plan[i].bn_affine ? to_vector(bn->bias) : std::vector<float>(out, 0.0f);
        l.bn_running_mean = to_vector(bn->running_mean);
        l.bn_running_var = to_vector(bn->running_var);
        l.bn_eps = bn->options.eps();
      }
      l.activation = act_name(plan[i].act);
      n.layers.push_back(std::move(l));
    }
    return n;
  }

 protected:
  TorchDetector(std::string algorithm, json params, const std::string& weight_decay_name)
      : DeepDetector(std::move(algorithm), std::move(params)), cfg_(read_config(this->params(), weight_decay_name)) {}

  virtual std::vector<LayerPlan> make_plan(std::int64_t d) const = 0;
  virtual DeepScoreKind score_kind() const = 0;
  /// Feature scaling fitted on the training data: false = StandardScaler (mean, population std),
  /// true = MinMaxScaler to [0, 1] (minimum, range). Either way z = (x - mean_) / scale_.
  virtual bool minmax_scaling() const { return false; }
  /// Runs once before training on the standardised data, network in eval mode (Deep SVDD: the centre).
  virtual void before_training(const torch::Tensor&) {}
  virtual torch::Tensor batch_loss(const torch::Tensor& out, const torch::Tensor& z) const = 0;
  /// Runs first on the standardised data, network in train mode (Deep SVDD: autoencoder pretraining).
  virtual void pretrain(const torch::Tensor&, std::mt19937_64&) {}
  /// `epochs` passes over shuffled mini-batches of Z, minimising loss(batch) with Adam over `params`; with
  /// every epoch goes to the progress callback under `phase` (and to the loss history when it is "train").
  void train_loop(const torch::Tensor& Z, const std::vector<torch::Tensor>& params, double weight_decay, int epochs,
                  std::mt19937_64& rng, const std::function<torch::Tensor(const torch::Tensor&)>& loss_of,
                  const std::string& phase = "train") {
    torch::optim::Adam optimizer(params, torch::optim::AdamOptions(cfg_.lr).weight_decay(weight_decay));
    const auto n = static_cast<std::size_t>(Z.size(0));
    const auto batch = static_cast<std::size_t>(cfg_.batch_size);
    std::vector<std::int64_t> order(n);
    std::iota(order.begin(), order.end(), std::int64_t{0});
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      // Fisher-Yates with plain modulo: unlike std::shuffle, the same sequence with every standard library.
      for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
      double total = 0.0;
      std::size_t batches = 0;
      for (std::size_t b = 0; b < n;) {
        std::size_t e = std::min(n, b + batch);
        if (cfg_.batch_norm && n - e == 1) e = n;  // a trailing single row joins the last batch (batch norm)
        const torch::Tensor idx =
            torch::from_blob(order.data() + b, {static_cast<std::int64_t>(e - b)}, torch::kInt64);
        optimizer.zero_grad();
        torch::Tensor loss = loss_of(Z.index_select(0, idx));
        loss.backward();
        optimizer.step();
        total += loss.item<double>();
        ++batches;
        b = e;
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      report_epoch(phase, epoch + 1, epochs, total / static_cast<double>(batches),
                   secs > 0.0 ? static_cast<double>(n) / secs : 0.0);
      // A diverged phase leaves NaN/inf weights that can still yield finite (e.g. all-zero) scores: stop here.
      if (!std::isfinite(total))
        throw DataError(algorithm() + ": " + phase + " epoch " + std::to_string(epoch + 1) +
                        " has a non-finite loss; the features are too large for the network (keep "
                        "preprocessing=true, or rescale them)");
    }
  }

  std::size_t min_rows() const override { return 2; }

  std::vector<float> fit_impl(MatrixView X) override {
    require_deep_learning();
    std::lock_guard lock(torch_mutex());
    OneThread one_thread;
    clear_loss_history();
    const std::uint64_t seed = cfg_.seed ? *cfg_.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    torch::manual_seed(seed);
    std::mt19937_64 rng(seed);

    fit_scaler(X);
    const torch::Tensor Z = standardized(X);
    const auto plan = make_plan(static_cast<std::int64_t>(X.cols));
    check_weight_budget(plan, X.cols, params().at("hidden_neurons"));
    net_ = Mlp(plan, cfg_.dropout);
    center_ = torch::Tensor();
    net_->train();
    pretrain(Z, rng);
    net_->eval();
    {
      torch::NoGradGuard no_grad;
      before_training(Z);
    }
    net_->train();
    const std::size_t n = X.rows;
    train_loop(Z, net_->parameters(), cfg_.weight_decay, cfg_.epochs, rng,
               [this](const torch::Tensor& z) { return batch_loss(net_->forward(z), z); });
    net_->eval();
    std::vector<float> scores(n);
    score_rows(X, scores.data());
    return scores;
  }

  void score_impl(MatrixView X, float* out) const override {
    std::lock_guard lock(torch_mutex());
    OneThread one_thread;
    score_rows(X, out);
  }

  json model_state() const override {
    json tensors = json::object();
    for (const auto& p : net_->named_parameters(true)) tensors[p.key()] = to_blob(to_vector(p.value()));
    // BatchNorm's num_batches_tracked (int64) only matters when momentum is unset; ours is 0.1.
    for (const auto& b : net_->named_buffers(true))
      if (b.value().scalar_type() == torch::kFloat32) tensors[b.key()] = to_blob(to_vector(b.value()));
    json s{{"mean", to_blob(mean_)}, {"scale", to_blob(scale_)}, {"tensors", std::move(tensors)}};
    s["center"] = to_blob(center_.defined() ? to_vector(center_) : std::vector<float>{});
    return s;
  }

  void load_model_state(const json& s) override {
    require_deep_learning();
    std::lock_guard lock(torch_mutex());
    torch::NoGradGuard no_grad;
    const std::size_t d = n_features();
    mean_ = floats_from_blob(s, "mean");
    scale_ = floats_from_blob(s, "scale");
    const std::size_t expect = cfg_.preprocessing ? d : 0;
    if (mean_.size() != expect || scale_.size() != expect)
      throw CorruptModel(algorithm() + ": model state has " + std::to_string(mean_.size()) +
                         " standardisation values, expected " + std::to_string(expect));
    Mlp net(make_plan(static_cast<std::int64_t>(d)), cfg_.dropout);
    const json& tensors = s.at("tensors");
    auto fill = [&](const std::string& name, torch::Tensor& t) {
      if (!tensors.contains(name)) throw CorruptModel(algorithm() + ": model state lacks tensor '" + name + "'");
      const std::vector<float> v = floats_from_blob(tensors, name);
      if (static_cast<std::int64_t>(v.size()) != t.numel())
        throw CorruptModel(algorithm() + ": tensor '" + name + "' has " + std::to_string(v.size()) + " values, expected " +
                           std::to_string(t.numel()));
      std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
    };
    for (auto& p : net->named_parameters(true)) fill(p.key(), p.value());
    for (auto& b : net->named_buffers(true))
      if (b.value().scalar_type() == torch::kFloat32) fill(b.key(), b.value());
    net->eval();
    const std::vector<float> c = floats_from_blob(s, "center");
    const bool wants_center = score_kind() == DeepScoreKind::DistanceToCenter;
    const auto width = static_cast<std::size_t>(net->plan().back().out);
    if (wants_center ? c.size() != width : !c.empty())
      throw CorruptModel(algorithm() + ": model state has a centre of " + std::to_string(c.size()) + " values");
    center_ = wants_center ? torch::tensor(c, torch::kFloat32) : torch::Tensor();
    net_ = std::move(net);
    clear_loss_history();
  }

  const Config& cfg() const { return cfg_; }
  torch::Tensor forward_eval(const torch::Tensor& z) const { return net_.ptr()->forward(z); }
  std::vector<torch::Tensor> net_parameters() const { return net_.ptr()->parameters(); }
  torch::Tensor center_;  // Deep SVDD only

 private:
  void fit_scaler(MatrixView X) {
    mean_.clear();
    scale_.clear();
    if (!cfg_.preprocessing) return;
    const bool minmax = minmax_scaling();
    for (std::size_t j = 0; j < X.cols; ++j) {
      if (minmax) {
        // sklearn MinMaxScaler: (x - min) / (max - min); a constant column keeps range 1.
        double lo = X(0, j), hi = X(0, j);
        for (std::size_t i = 1; i < X.rows; ++i) {
          lo = std::min(lo, static_cast<double>(X(i, j)));
          hi = std::max(hi, static_cast<double>(X(i, j)));
        }
        double range = hi - lo;
        if (range < 10.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(lo))) range = 1.0;
        mean_.push_back(static_cast<float>(lo));
        scale_.push_back(static_cast<float>(range));
        continue;
      }
      // sklearn StandardScaler: mean and population std in double; a (near-)constant column keeps scale 1.
      double m = 0.0;
      for (std::size_t i = 0; i < X.rows; ++i) m += X(i, j);
      m /= static_cast<double>(X.rows);
      double v = 0.0;
      for (std::size_t i = 0; i < X.rows; ++i) v += (X(i, j) - m) * (X(i, j) - m);
      double sd = std::sqrt(v / static_cast<double>(X.rows));
      if (sd < 10.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(m))) sd = 1.0;
      mean_.push_back(static_cast<float>(m));
      scale_.push_back(static_cast<float>(sd));
    }
  }

  // float32 (x - mean) / scale: the same two IEEE operations as the exported Sub and Div.
  torch::Tensor standardized(MatrixView X) const {
    const auto rows = static_cast<std::int64_t>(X.rows), cols = static_cast<std::int64_t>(X.cols);
    torch::Tensor x = torch::from_blob(const_cast<float*>(X.data), {rows, cols}, torch::kFloat32);
    if (mean_.empty()) return x.clone();
    const torch::Tensor m = torch::from_blob(const_cast<float*>(mean_.data()), {cols}, torch::kFloat32);
    const torch::Tensor s = torch::from_blob(const_cast<float*>(scale_.data()), {cols}, torch::kFloat32);
    return (x - m) / s;
  }

  // Eval-mode scores in fixed chunks, so memory stays bounded and training/restore use the same code path.
  void score_rows(MatrixView X, float* out) const {
    torch::NoGradGuard no_grad;
    constexpr std::size_t kChunk = 4096;
    for (std::size_t b = 0; b < X.rows; b += kChunk) {
      const std::size_t n = std::min(kChunk, X.rows - b);
      const torch::Tensor z = standardized(X.slice(b, n));
      const torch::Tensor h = forward_eval(z);
      const torch::Tensor target = score_kind() == DeepScoreKind::Reconstruction ? z : center_;
      const torch::Tensor s = (h - target).square().sum(1).contiguous();
      std::memcpy(out + b, s.data_ptr<float>(), n * sizeof(float));
    }
  }

  Config cfg_;
  std::vector<float> mean_, scale_;
  Mlp net_{nullptr};
};

// ---- AutoEncoder (PyOD 2) -----------------------------------------------------------------------------

class AutoEncoder final : public TorchDetector {
 public:
  explicit AutoEncoder(json params) : TorchDetector("autoencoder", std::move(params), "weight_decay") {}

 protected:
  std::vector<LayerPlan> make_plan(std::int64_t d) const override {
    const Config& c = cfg();
    std::vector<LayerPlan> plan;
    std::int64_t last = d;
    auto hidden = [&](std::int64_t h) {
      plan.push_back({last, h, true, c.batch_norm, c.act, true});
      last = h;
    };
    for (auto h : c.hidden) hidden(h);
    for (auto it = c.hidden.rbegin() + 1; it != c.hidden.rend(); ++it) hidden(*it);
    plan.push_back({last, d, true, false, Act::Identity, false});
    return plan;
  }
  DeepScoreKind score_kind() const override { return DeepScoreKind::Reconstruction; }
  torch::Tensor batch_loss(const torch::Tensor& out, const torch::Tensor& z) const override {
    return torch::mse_loss(out, z);
  }
};

// ---- Deep SVDD (Ruff et al. 2018, PyOD) ---------------------------------------------------------------

class DeepSVDD final : public TorchDetector {
 public:
  explicit DeepSVDD(json params) : TorchDetector("deepsvdd", std::move(params), "l2_regularizer") {}

 protected:
  static constexpr double kEps = 0.1;
  // The authors' Linear_BN_leakyReLU block: BatchNorm1d(eps=1e-4, affine=False), no learnable shift.
  static constexpr double kBnEps = 1e-4;

  // Encoder phi: d -> hidden..., bias-free, activation after every layer (PyOD), batch norm without affine
  // parameters before each activation when batch_norm is on (the authors' MLP), dropout only between inner
  // hidden layers (PyOD).
  std::vector<LayerPlan> make_plan(std::int64_t d) const override {
    const Config& c = cfg();
    std::vector<LayerPlan> plan;
    std::int64_t last = d;
    const std::size_t k = c.hidden.size();
    for (std::size_t i = 0; i < k; ++i) {
      // Bias terms would let the network map everything onto c (Ruff et al., Proposition 2).
      plan.push_back({last, c.hidden[i], false, c.batch_norm, c.act, i >= 1 && i + 2 <= k, false, kBnEps});
      last = c.hidden[i];
    }
    return plan;
  }

  // Autoencoder pretraining (Ruff et al. 2018, sec. 4; lukasruff/Deep-SAD-PyTorch MLP_Autoencoder): phi plus a
  // mirrored bias-free decoder, hidden sizes reversed, sigmoid output (the inputs are min-max scaled to
  // [0, 1]), trained on the mean squared reconstruction error. Only phi is kept; c is then taken from it.
  void pretrain(const torch::Tensor& Z, std::mt19937_64& rng) override {
    const Config& c = cfg();
    if (c.pretrain_epochs == 0) return;
    std::vector<LayerPlan> plan;
    std::int64_t last = c.hidden.back();
    for (std::size_t i = c.hidden.size() - 1; i-- > 0;) {
      plan.push_back({last, c.hidden[i], false, c.batch_norm, c.act, false, false, kBnEps});
      last = c.hidden[i];
    }
    plan.push_back({last, Z.size(1), false, false, Act::Sigmoid, false});
    Mlp decoder(std::move(plan), 0.0);
    decoder->train();
    std::vector<torch::Tensor> params = net_parameters();
    for (const auto& p : decoder->parameters()) params.push_back(p);
    train_loop(
        Z, params, c.pretrain_weight_decay, c.pretrain_epochs, rng,
        // forward_eval runs phi in its current (train) mode.
        [&](const torch::Tensor& z) { return torch::mse_loss(decoder->forward(forward_eval(z)), z); }, "pretrain");
  }

  DeepScoreKind score_kind() const override { return DeepScoreKind::DistanceToCenter; }
  // Without batch norm a bias-free relu network is positively homogeneous, phi(t x) = t phi(x), so
  // phi(0) = 0 != c. After standardisation the origin is the data mean, the bulk of the inliers: they score
  // about ||c||^2, the top of the range, while far-out rows (the outliers) land near c, and the ranking
  // inverts. Min-max scaling to [0, 1] moves the origin to a corner of the data, as the authors do for ODDS
  // tabular data (lukasruff/Deep-SAD-PyTorch, src/base/odds_dataset.py: StandardScaler then MinMaxScaler).
  bool minmax_scaling() const override { return true; }

  void before_training(const torch::Tensor& z) override {
    torch::Tensor c = forward_eval(z).mean(0);
    // A coordinate of c near 0 would be trivially matched by dead units; push it to +/-eps (paper, PyOD).
    c.index_put_({(c.abs() < kEps) & (c < 0)}, -kEps);
    c.index_put_({(c.abs() < kEps) & (c > 0)}, kEps);
    center_ = c.contiguous();
  }

  torch::Tensor batch_loss(const torch::Tensor& out, const torch::Tensor&) const override {
    torch::Tensor loss = (out - center_).square().sum(1).mean();
    // PyOD's extra weight term, 1e-6 * sum of the weights' Frobenius norms.
    torch::Tensor norms = torch::zeros({}, torch::kFloat32);
    for (const auto& p : net_parameters()) norms = norms + p.norm();
    return loss + 1e-6 * norms;
  }
};

}  // namespace

namespace detail {

void register_autoencoder() {
  AlgorithmInfo info = autoencoder_info();
  info.factory = [](const json& p) -> std::unique_ptr<Detector> { return std::make_unique<AutoEncoder>(p); };
  register_algorithm(std::move(info));
}

void register_deepsvdd() {
  AlgorithmInfo info = deepsvdd_info();
  info.factory = [](const json& p) -> std::unique_ptr<Detector> { return std::make_unique<DeepSVDD>(p); };
  register_algorithm(std::move(info));
}

}  // namespace detail

}  // namespace nomaly
