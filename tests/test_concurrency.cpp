// Concurrent scoring (issue 8 §5): 8 threads score the same OnnxModel and the same native detectors at
// once; every thread's results equal the single-threaded results bit for bit. Each thread scores the
// whole set, single rows and odd-sized slices, so calls of different shapes overlap.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
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

/// Runs `score` from 8 threads started together; counts results that differ from `expected`.
int mismatches_under_threads(const ScoreFn& score, const Dataset& X, const std::vector<float>& expected) {
  std::atomic<int> bad{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        if (score(X.view()) != expected) ++bad;
        // A slice whose start and size depend on the thread.
        const std::size_t begin = static_cast<std::size_t>(t * 7 + round) % (X.rows / 2);
        const std::size_t count = 1 + static_cast<std::size_t>(t * 13 + round * 5) % (X.rows / 2);
        const std::vector<float> part = score(X.view().slice(begin, count));
        if (part != std::vector<float>(expected.begin() + begin, expected.begin() + begin + count)) ++bad;
        const std::size_t one = static_cast<std::size_t>(t * 31 + round) % X.rows;
        if (score(X.view().slice(one, 1)) != std::vector<float>{expected[one]}) ++bad;
      }
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
  EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return det->score_samples(X); }, f.query, native_ref), 0)
      << algo << " native";

  OnnxOptions o;
  o.intra_op_threads = 1;  // the reference run: one ORT thread, one caller
  const OnnxModel onnx = OnnxModel::load_bytes(export_onnx_bytes(*det), algo + ".onnx", o);
  const std::vector<float> onnx_ref = onnx.score(f.query.view()).scores;
  ASSERT_EQ(onnx_ref.size(), f.query.rows);
  EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return onnx.score(X).scores; }, f.query, onnx_ref), 0)
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
    const std::vector<float> ref = s->score(f.query.view()).scores;
    EXPECT_EQ(mismatches_under_threads([&](MatrixView X) { return s->score(X).scores; }, f.query, ref), 0)
        << format_name(fmt);
  }
}

}  // namespace
}  // namespace nomaly::test
