// Concurrent scoring (issue 8 §5): 8 threads score the same OnnxModel and the same native detectors at
// once; every thread's results equal the single-threaded results of the same calls bit for bit. Each
// thread scores the whole set, single rows and odd-sized slices, so calls of different shapes overlap.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/service.hpp"
#include "nomaly/registry.hpp"
#include "test_persistence_util.hpp"
#include "test_util.hpp"

namespace nomaly::test {
namespace {

constexpr int kThreads = 8;
constexpr int kRounds = 3;

using ScoreFn = std::function<std::vector<float>(MatrixView)>;

/// The calls thread t makes in one round: the whole set, a slice whose start and size depend on t, one row.
std::vector<std::pair<std::size_t, std::size_t>> jobs_for(int t, int round, std::size_t rows) {
  const std::size_t begin = static_cast<std::size_t>(t * 7 + round) % (rows / 2);
  const std::size_t count = 1 + static_cast<std::size_t>(t * 13 + round * 5) % (rows / 2);
  const std::size_t one = static_cast<std::size_t>(t * 31 + round) % rows;
  return {{0, rows}, {begin, count}, {one, 1}};
}

/// Computes every call's result single-threaded first (ONNX Runtime may round differently for another
/// batch size, so each call shape has its own reference), then makes the same calls from 8 threads
/// started together. Returns the number of results that differ from their reference.
int mismatches_under_threads(const ScoreFn& score, const Dataset& X) {
  std::map<std::pair<std::size_t, std::size_t>, std::vector<float>> reference;
  for (int t = 0; t < kThreads; ++t)
    for (int round = 0; round < kRounds; ++round)
      for (const auto& [b, n] : jobs_for(t, round, X.rows))
        if (!reference.count({b, n})) reference[{b, n}] = score(X.view().slice(b, n));
  std::atomic<int> bad{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round)
        for (const auto& [b, n] : jobs_for(t, round, X.rows))
          if (score(X.view().slice(b, n)) != reference.at({b, n})) ++bad;
    });
  }
  for (auto& th : threads) th.join();
  return bad.load();
}

struct Fitted {
  Dataset train = synthetic(400, 5, 20, 21);
  Dataset query = synthetic(257, 5, 13, 22);
};

class Concurrency : public ::testing::TestWithParam<std::string> {};

TEST_P(Concurrency, NativeAndOnnxScoresMatchSingleThreaded) {
  const std::string algo = GetParam();
  const Fitted f;
  json params = json::object();
  if (algo == "iforest") params = {{"n_estimators", 100}, {"random_state", 4}};
  if (algo == "mcd") params = {{"random_state", 4}};
  std::shared_ptr<Detector> det = create_detector(algo, params);
  det->fit(f.train.view());

  const std::vector<float> native_ref = det->score_samples(f.query.view());
  ASSERT_EQ(native_ref.size(), f.query.rows);
  // Native scores are per row (inductive): a slice scores like the same rows of the whole set.
  EXPECT_EQ(det->score_samples(f.query.view().slice(10, 5)), std::vector<float>(native_ref.begin() + 10, native_ref.begin() + 15));
  EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return det->score_samples(X); }, f.query), 0)
      << algo << " native";

  OnnxOptions o;
  o.intra_op_threads = 1;  // the reference run: one ORT thread, one caller
  const OnnxModel onnx = OnnxModel::load_bytes(export_onnx_bytes(*det), algo + ".onnx", o);
  const std::vector<float> onnx_ref = onnx.score(f.query.view()).scores;
  ASSERT_EQ(onnx_ref.size(), f.query.rows);
  EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return onnx.score(X).scores; }, f.query), 0)
      << algo << " onnx";
  // Labels too: they come from the model's label output, computed in the same runs.
  const std::vector<int> label_ref = onnx.score(f.query.view()).labels;
  std::atomic<int> bad_labels{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      if (onnx.score(f.query.view()).labels != label_ref) ++bad_labels;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_labels.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, Concurrency, ::testing::Values("iforest", "knn", "lof", "hbos", "ocsvm"),
                         [](const auto& info) { return info.param; });

TEST(ConcurrencyStore, LoadedScorersAreThreadSafe) {
  // The scorers the service returns (what the CLI and users hold) are shared across threads too.
  TempDir tmp;
  const Fitted f;
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  repo->save(fitted_entity("iforest", f.train, small_iforest_params(), "conc", "conc"));
  ModelPersistenceService svc(repo, tmp.path / "store");
  svc.save_model("conc", Format::Native);
  svc.save_model("conc", Format::Onnx);
  for (Format fmt : {Format::Native, Format::Onnx}) {
    const std::shared_ptr<Scorer> s = svc.load_model("conc", fmt);
    EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return s->score(X).scores; }, f.query), 0)
        << format_name(fmt);
  }
}

}  // namespace
}  // namespace nomaly::test
