// Google Benchmark suite for every registered detector (issue 7 §2):
//   fit/<algo>/n:<rows>/threads:<t>                          fit time, peak RSS of the fit
//   score/<algo>/n:<rows>/<native|ort>/batch:<b>/threads:<t>  score throughput (items_per_second = rows/s)
//   session/iforest/trees:<100|1000>                         ONNX Runtime session creation, model bytes
//   data/<set>/iforest/<native|ort>                           the exported forest on the shared ODDS sets
// Benchmarks are registered from list_algorithms() at start-up, so a newly registered detector is measured
// without edits here. Results are independent of thread counts (nomaly's contract); only the time changes.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <memory>
#include <string>
#include <utility>

#include "bench_common.hpp"
#include "nomaly/csv.hpp"
#include "nomaly/flags.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/registry.hpp"

namespace nomaly::bench {
namespace {

bool has_param(const AlgorithmInfo& info, const std::string& name) {
  for (const auto& p : info.params)
    if (p.name == name) return true;
  return false;
}

/// Default parameters, plus a fixed seed (reproducible timings) and the thread count where supported.
json bench_params(const AlgorithmInfo& info, int threads) {
  json p = json::object();
  if (has_param(info, "random_state")) p["random_state"] = 0;
  if (has_param(info, "n_jobs")) p["n_jobs"] = threads;
  return p;
}

// ---- data and fitted-model caches -------------------------------------------------------------------
// Benchmarks run grouped by algorithm, so the model cache holds one algorithm at a time (bounded memory).

const std::vector<float>& train_data(std::size_t rows) {
  static std::map<std::size_t, std::vector<float>> cache;
  auto it = cache.find(rows);
  if (it == cache.end()) it = cache.emplace(rows, synthetic(rows, kCols, kTrainSeed)).first;
  return it->second;
}

MatrixView test_view(std::size_t train_rows) {
  static const std::vector<float> test = synthetic(kBulkRows, kCols, kTestSeed);
  return {test.data(), std::min(train_rows, kBulkRows), kCols};
}

struct Fitted {
  std::unique_ptr<Detector> detector;  // fitted with all threads
  std::string onnx;                    // exported bytes (empty when the algorithm has no converter)
  std::string export_error;            // why the export failed, reported by the ORT benchmarks
};

std::map<std::pair<std::string, std::size_t>, Fitted>& fitted_cache() {
  static std::map<std::pair<std::string, std::size_t>, Fitted> cache;
  return cache;
}

void store_fitted(const std::string& algo, std::size_t rows, std::unique_ptr<Detector> det) {
  auto& cache = fitted_cache();
  for (auto it = cache.begin(); it != cache.end();) it = it->first.first == algo ? std::next(it) : cache.erase(it);
  Fitted f;
  try {
    if (has_onnx_converter(algo)) f.onnx = export_onnx_bytes(*det);
  } catch (const std::exception& e) {
    f.export_error = e.what();
  }
  f.detector = std::move(det);
  cache[{algo, rows}] = std::move(f);
}

const Fitted& fitted(const AlgorithmInfo& info, std::size_t rows) {
  auto& cache = fitted_cache();
  auto it = cache.find({info.name, rows});
  if (it != cache.end()) return it->second;
  auto det = create_detector(info.name, bench_params(info, 0));
  det->fit({train_data(rows).data(), rows, kCols});
  store_fitted(info.name, rows, std::move(det));
  return cache.at({info.name, rows});
}

/// The cached detector with its n_jobs set to `threads` (a restore with edited params; scores are unchanged).
std::unique_ptr<Detector> with_threads(const AlgorithmInfo& info, const Detector& det, int threads) {
  if (!has_param(info, "n_jobs")) return nullptr;
  json st = det.state();
  st["params"]["n_jobs"] = threads;
  return restore_detector(st);
}

void set_rows_counter(benchmark::State& state, std::size_t rows_per_iter) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_per_iter));
}

// ---- benchmarks ---------------------------------------------------------------------------------------

void bm_fit(benchmark::State& state, const AlgorithmInfo& info, std::size_t rows, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  const MatrixView X{train_data(rows).data(), rows, kCols};
  (void)test_view(rows);  // allocate the test rows before the RSS baseline
  std::unique_ptr<Detector> last;
  const double base = rss_mib();
  const bool reset = reset_peak_rss();
  try {
    for (auto _ : state) {
      last.reset();
      last = create_detector(info.name, bench_params(info, threads));
      last->fit(X);
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["peak_rss_mib"] = peak_rss_mib();
  state.counters["rss_delta_mib"] = peak_rss_mib() - base;
  state.counters["rss_peak_reset"] = reset ? 1 : 0;
  set_rows_counter(state, rows);
  // Reused by the score benchmarks (threads 2 is the last fit registered for every algorithm).
  if (threads == 2) store_fitted(info.name, rows, std::move(last));
}

void bm_score_native(benchmark::State& state, const AlgorithmInfo& info, std::size_t rows, std::size_t batch,
                     int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  std::unique_ptr<Detector> own;
  const Detector* det = nullptr;
  try {
    const Fitted& f = fitted(info, rows);
    own = with_threads(info, *f.detector, threads);
    det = own ? own.get() : f.detector.get();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const MatrixView T = test_view(rows);
  batch = std::min(batch, T.rows);
  std::size_t off = 0;
  const double base = rss_mib();
  reset_peak_rss();
  for (auto _ : state) {
    auto s = det->score_samples(T.slice(off, batch));
    benchmark::DoNotOptimize(s.data());
    off = off + 2 * batch > T.rows ? 0 : off + batch;
  }
  state.counters["rss_delta_mib"] = peak_rss_mib() - base;
  set_rows_counter(state, batch);
}

void bm_score_ort(benchmark::State& state, const AlgorithmInfo& info, std::size_t rows, std::size_t batch,
                  int threads) {
  std::unique_ptr<OnnxModel> model;
  std::size_t bytes = 0;
  try {
    const Fitted& f = fitted(info, rows);
    if (!f.export_error.empty()) throw std::runtime_error("export failed: " + f.export_error);
    if (f.onnx.size() > kMaxOrtModelBytes)
      throw std::runtime_error("exported model has " + std::to_string(f.onnx.size()) + " bytes; not loaded");
    bytes = f.onnx.size();
    OnnxOptions o;
    o.intra_op_threads = threads;
    model = std::make_unique<OnnxModel>(OnnxModel::load_bytes(f.onnx, info.name, o));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const MatrixView T = test_view(rows);
  batch = std::min(batch, T.rows);
  std::size_t off = 0;
  for (auto _ : state) {
    auto s = model->score(T.slice(off, batch), batch);
    benchmark::DoNotOptimize(s.scores.data());
    off = off + 2 * batch > T.rows ? 0 : off + batch;
  }
  state.counters["model_bytes"] = static_cast<double>(bytes);
  set_rows_counter(state, batch);
}

void bm_session(benchmark::State& state, int trees) {
  std::string bytes;
  try {
    auto det = create_detector("iforest", {{"n_estimators", trees}, {"random_state", 0}});
    det->fit({train_data(100000).data(), 100000, kCols});
    bytes = export_onnx_bytes(*det);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    auto m = OnnxModel::load_bytes(bytes, "iforest");
    benchmark::DoNotOptimize(&m);
  }
  state.counters["model_bytes"] = static_cast<double>(bytes.size());
}

std::filesystem::path data_dir() {
  if (const char* d = std::getenv("NOMALY_DATA_DIR")) return d;
  return std::filesystem::path(NOMALY_SOURCE_DIR) / ".." / "shared" / "data";
}

void bm_real(benchmark::State& state, const std::string& set, bool ort) {
  Dataset ds;
  std::unique_ptr<Detector> det;
  std::unique_ptr<OnnxModel> model;
  try {
    CsvOptions o;
    o.label_column = "label";
    ds = read_csv((data_dir() / (set + ".csv")).string(), o);
    det = create_detector("iforest", {{"random_state", 0}, {"n_jobs", 1}});
    det->fit(ds.view());
    OnnxOptions oo;
    oo.intra_op_threads = 1;
    if (ort) model = std::make_unique<OnnxModel>(OnnxModel::load_bytes(export_onnx_bytes(*det), set, oo));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    if (ort) {
      auto s = model->score(ds.view());
      benchmark::DoNotOptimize(s.scores.data());
    } else {
      auto s = det->score_samples(ds.view());
      benchmark::DoNotOptimize(s.data());
    }
  }
  state.counters["d"] = static_cast<double>(ds.cols);
  set_rows_counter(state, ds.rows);
}

void register_all() {
  for (const AlgorithmInfo& info : list_algorithms()) {
    if (!info.available) continue;
    if (info.deep && !deep_learning_enabled()) continue;
    // libtorch keeps its own thread pool, which neither n_jobs nor TBB limits: time the networks once.
    const std::vector<int> thread_counts = info.deep ? std::vector<int>{2} : std::vector<int>{1, 2};
    const bool ort = has_onnx_converter(info.name);
    for (std::size_t rows : train_sizes(info.name)) {
      const std::string tag = info.name + "/n:" + std::to_string(rows);
      for (int t : thread_counts)
        benchmark::RegisterBenchmark(("fit/" + tag + "/threads:" + std::to_string(t)).c_str(), bm_fit, info, rows, t)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      for (std::size_t batch : {std::size_t{1}, std::size_t{64}, kBulkRows}) {
        const std::size_t b = std::min(batch, std::min(rows, kBulkRows));
        for (int t : thread_counts) {
          const std::string suffix = "/batch:" + std::to_string(b) + "/threads:" + std::to_string(t);
          benchmark::RegisterBenchmark(("score/" + tag + "/native" + suffix).c_str(), bm_score_native, info, rows, b, t)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if (ort)
            benchmark::RegisterBenchmark(("score/" + tag + "/ort" + suffix).c_str(), bm_score_ort, info, rows, b, t)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  for (int trees : {100, 1000})
    benchmark::RegisterBenchmark(("session/iforest/trees:" + std::to_string(trees)).c_str(), bm_session, trees)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  for (const char* set : {"cardio", "thyroid", "musk", "optdigits"})
    for (bool ort : {false, true})
      benchmark::RegisterBenchmark((std::string("data/") + set + "/iforest/" + (ort ? "ort" : "native")).c_str(),
                                   bm_real, std::string(set), ort)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace nomaly::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  nomaly::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
