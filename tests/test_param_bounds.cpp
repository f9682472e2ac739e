// Upper bounds on sizes that would exhaust memory (docs/robustness.md rows 74-75): refused with a
// ParameterError naming the parameter and the bound, in the library and in the CLI (exit 2).
#include <gtest/gtest.h>

#include "nomaly/errors.hpp"
#include "nomaly/registry.hpp"
#include "test_persistence_util.hpp"
#include "test_util.hpp"

namespace nomaly {
namespace {

using test::run_cli;
using test::synthetic;

std::string param_error(const std::string& algo, const json& params) {
  try {
    create_detector(algo, params)->fit(synthetic(40, 3).view());
  } catch (const ParameterError& e) {
    return e.what();
  }
  return "(no ParameterError)";
}

TEST(ParamBounds, HbosBinsAndForestSizeAreBounded) {
  EXPECT_EQ(param_error("hbos", {{"n_bins", 1000000000}}), "parameter 'n_bins' must be in [1, 100000], got 1000000000");
  EXPECT_EQ(param_error("iforest", {{"n_estimators", 1099511627776LL}}),
            "parameter 'n_estimators' must be <= 100000, got 1099511627776");
  try {
    create_detector("hbos", {{"n_bins", 100000}})->fit(synthetic(10, 400).view());
    ADD_FAILURE() << "no ParameterError for 4e7 bins";
  } catch (const ParameterError& e) {
    EXPECT_STREQ(e.what(), "parameter 'n_bins' = 100000 for 400 features is 40000000 bins; at most 33554432 (2^25) in all");
  }
  // The bounds themselves are accepted.
  EXPECT_EQ(param_error("hbos", {{"n_bins", 100000}}), "(no ParameterError)");
  EXPECT_NO_THROW(create_detector("iforest", {{"n_estimators", 100000}}));  // checked at construction; fitting is slow

  test::TempDir t;
  const auto csv = t.path / "x.csv";
  write_csv(csv.string(), synthetic(40, 3));
  test::CliResult r = run_cli("detect -a hbos -i '" + csv.string() + "' -p n_bins=1000000000");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("parameter 'n_bins' must be in [1, 100000], got 1000000000"), std::string::npos) << r.err;
  r = run_cli("detect -a iforest -i '" + csv.string() + "' -p n_estimators=1099511627776");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("parameter 'n_estimators' must be <= 100000, got 1099511627776"), std::string::npos) << r.err;
}

#if NOMALY_WITH_TORCH
TEST(ParamBounds, DeepNetworksAreBoundedByTheirWeightCount) {
  EXPECT_EQ(param_error("deepsvdd", {{"hidden_neurons", {1000000, 1000000}}, {"epochs", 1}}),
            "parameter 'hidden_neurons' = [1000000,1000000] gives 1000003000000 weights for 3 features; at most "
            "134217728 (2^27) are allowed");
  EXPECT_NE(param_error("autoencoder", {{"hidden_neurons", {1 << 21}}}).find("integers in [1, 1048576]"), std::string::npos);
  test::TempDir t;
  const auto csv = t.path / "x.csv";
  write_csv(csv.string(), synthetic(40, 3));
  const test::CliResult r = run_cli("detect -a deepsvdd -i '" + csv.string() + "' -p 'hidden_neurons=[1000000,1000000]'");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("gives 1000003000000 weights for 3 features"), std::string::npos) << r.err;
}
#endif

}  // namespace
}  // namespace nomaly
