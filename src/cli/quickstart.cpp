// quickstart: Isolation Forest on the WDBC breast-cancer data that Debian's python3-sklearn ships,
// with the usual anomaly-detection construction (all benign rows + a few malignant ones as anomalies),
// then the ONNX round trip.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>

#include "cli/report.hpp"
#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/parity.hpp"
#include "nomaly/metrics.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/service.hpp"
#include "nomaly/registry.hpp"

namespace nomaly::cli {

namespace {

constexpr const char* kWdbcPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
constexpr std::size_t kMalignantKept = 21;
constexpr unsigned kSeed = 42;

// All benign rows plus 21 malignant rows drawn with a fixed seed, in original row order.
Dataset wdbc_anomaly_set(const Dataset& full) {
  std::vector<std::size_t> benign, malignant;
  for (std::size_t i = 0; i < full.rows; ++i) ((*full.labels)[i] == 1 ? malignant : benign).push_back(i);
  std::mt19937 rng(kSeed);
  std::shuffle(malignant.begin(), malignant.end(), rng);
  malignant.resize(std::min(kMalignantKept, malignant.size()));
  std::vector<std::size_t> rows = benign;
  rows.insert(rows.end(), malignant.begin(), malignant.end());
  std::sort(rows.begin(), rows.end());
  return full.subset(rows);
}

void run_quickstart(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw DataError(path + " not found: install Debian's python3-sklearn (apt-get install python3-sklearn), "
                           "which ships the WDBC breast-cancer data");
  const Dataset full = read_sklearn_breast_cancer(path);
  const Dataset data = wdbc_anomaly_set(full);
  const auto n_anom = std::count(data.labels->begin(), data.labels->end(), 1);
  std::cout << "WDBC breast cancer (" << path << ")\n  " << data.rows << " rows x " << data.cols << " features: "
            << data.rows - static_cast<std::size_t>(n_anom) << " benign + " << n_anom
            << " malignant (the anomalies, label 1), drawn with seed " << kSeed << "\n\n";

  std::unique_ptr<Detector> det = create_detector("iforest", json{{"random_state", kSeed}});
  det->fit(data.view());
  const auto scores = det->score_samples(data.view());
  const auto labels = det->labels_for(scores);
  std::cout << std::fixed << std::setprecision(4) << "Isolation Forest (100 trees, max_samples=auto)\n"
            << "  ROC-AUC           " << roc_auc(scores, *data.labels) << "\n"
            << "  average precision " << average_precision(scores, *data.labels) << "\n"
            << "  flagged           " << std::count(labels.begin(), labels.end(), 1) << " rows with score > "
            << det->threshold() << "\n\n";

  std::vector<std::size_t> order(data.rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::cout << "10 most anomalous rows:\n  rank  row  score   truth\n";
  for (std::size_t k = 0; k < 10 && k < order.size(); ++k)
    std::cout << "  " << std::setw(4) << k + 1 << " " << std::setw(4) << order[k] << "  " << scores[order[k]] << "  "
              << ((*data.labels)[order[k]] ? "malignant" : "benign") << "\n";

  // The seed's flow, for real: register, save as ONNX, load in a fresh ONNX Runtime session, score, compare
  // row by row with the native scores, and export a deployment bundle.
  const std::filesystem::path root = "nomaly-quickstart";
  auto repo = std::make_shared<StoreDetectorRepository>(root / "store");
  ModelPersistenceService service(repo, root / "store");
  std::shared_ptr<Detector> shared = std::move(det);
  DetectorEntity entity = DetectorEntity::make(shared, "wdbc-iforest", "quickstart-iforest");
  entity.feature_names = data.feature_names;
  entity.metadata["training_metrics"] = {{"roc_auc", roc_auc(scores, *data.labels)},
                                         {"average_precision", average_precision(scores, *data.labels)}};
  repo->save(entity);
  const auto onnx_path = service.save_model(entity.id, Format::Onnx);
  const auto loaded = service.load_model(entity.id, Format::Onnx);
  const ScoreResult ort = loaded->score(data.view());
  const ParityReport parity = parity_report(ort.scores, scores, parity_floor(scores));
  const double max_diff = parity.max_abs;
  std::size_t label_diff = 0;
  for (std::size_t i = 0; i < data.rows; ++i) label_diff += ort.labels[i] != labels[i];
  std::cout << "\nONNX: saved " << onnx_path.string() << " (" << std::filesystem::file_size(onnx_path) << " bytes), "
            << "reloaded in a fresh ONNX Runtime session";
  if (const OnnxModel* m = loaded->onnx())
    std::cout << " (created in " << std::fixed << std::setprecision(1) << m->load_seconds() * 1e3 << " ms)";
  std::cout << "\n" << std::scientific << std::setprecision(2) << "parity: max |Δscore| = " << max_diff
            << ", labels identical: " << (label_diff == 0 ? "yes" : "no (" + std::to_string(label_diff) + " differ)") << "\n";
  if (label_diff != 0 || !parity.ok()) throw ModelError("quickstart: ONNX scores differ from the native scores");

  const auto files = service.export_model(entity.id, root / "bundle");
  std::cout << "\ndeployment bundle in " << (root / "bundle").string() << "/:\n";
  for (const auto& [name, path] : files) std::cout << "  " << name << "\n";
  std::cout << "\nnext: nomaly score " << (root / "bundle").string() << " --input your.csv   |   "
            << "NODE_PATH=~/.cache/nomaly/node-ort/node_modules node " << (root / "bundle" / "deploy.mjs").string()
            << " --check\n";
}

}  // namespace

void add_quickstart_command(CLI::App& app) {
  auto path = std::make_shared<std::string>(kWdbcPath);
  auto* qs = app.add_subcommand("quickstart", "Isolation Forest on the WDBC breast-cancer data, with the ONNX round trip");
  qs->add_option("--data", *path, "The sklearn breast_cancer.csv file")->capture_default_str();
  qs->callback([path] { run_quickstart(*path); });
}

}  // namespace nomaly::cli
