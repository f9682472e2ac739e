// nomaly_accuracy: every registered detector on every shared data set (see accuracy_core.hpp).
//   nomaly_accuracy --data-dir DIR --out runs.csv [--seeds 5] [--deep-seeds N] [--datasets a,b] [--algorithms x,y]
// --deep-seeds (default: --seeds) caps the seeds of the libtorch networks, which take minutes per seed on the
// wider sets (DeepSVDD pretrains and trains 150 + 150 epochs, the authors' setting).
// Writes the long CSV (one line per run); bench/report.py aggregates it with scikit-learn's runs.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "accuracy_core.hpp"
#include "nomaly/csv.hpp"
#include "nomaly/flags.hpp"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

bool wanted(const std::vector<std::string>& only, const std::string& name) {
  return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
}

int usage() {
  std::cerr << "usage: nomaly_accuracy --data-dir DIR --out FILE [--seeds N] [--deep-seeds N] [--datasets a,b]"
               " [--algorithms x,y]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::string data_dir, out_path;
  int n_seeds = 5, deep_seeds = -1;
  std::vector<std::string> only_sets, only_algos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--data-dir") data_dir = v;
    else if (a == "--out") out_path = v;
    else if (a == "--seeds") n_seeds = std::max(1, std::stoi(v));
    else if (a == "--deep-seeds") deep_seeds = std::max(1, std::stoi(v));
    else if (a == "--datasets") only_sets = split(v);
    else if (a == "--algorithms") only_algos = split(v);
    else return usage();
  }
  if (data_dir.empty() || out_path.empty()) return usage();

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data_dir))
    if (e.path().extension() == ".csv" && wanted(only_sets, e.path().stem().string())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "nomaly_accuracy: no data sets found in " << data_dir << "\n";
    return 3;
  }

  std::ofstream out(out_path);
  out << std::setprecision(9) << nomaly::accuracy::kCsvHeader << '\n';
  nomaly::CsvOptions opts;
  opts.label_column = "label";
  for (const fs::path& file : files) {
    const std::string set = file.stem().string();
    const nomaly::Dataset ds = nomaly::read_csv(file.string(), opts);
    for (const nomaly::AlgorithmInfo& info : nomaly::list_algorithms()) {
      if (!wanted(only_algos, info.name)) continue;
      if (!info.available || (info.deep && !nomaly::deep_learning_enabled())) {
        nomaly::accuracy::Run skipped{set, info.name, 0};
        skipped.status = info.available ? "deep learning disabled" : "unavailable: " + info.unavailable_reason;
        nomaly::accuracy::write_csv_row(out, skipped);
        continue;
      }
      const int seeds = nomaly::accuracy::seeds_for(info, info.deep && deep_seeds > 0 ? deep_seeds : n_seeds);
      for (int seed = 0; seed < seeds; ++seed) {
        const auto r = nomaly::accuracy::run_one(ds, set, info, seed);
        nomaly::accuracy::write_csv_row(out, r);
        std::cerr << std::fixed << std::setprecision(3) << set << " " << info.name << " seed " << seed << ": "
                  << (r.status == "ok" ? "auc " + std::to_string(r.roc_auc) : r.status) << " (" << r.fit_seconds
                  << " s)\n";
      }
      out.flush();
    }
  }
  return out ? 0 : 1;
}
