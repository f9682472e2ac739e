// Parameter merging, CLI key=value parsing and the typed accessors' error messages.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "nomaly/errors.hpp"
#include "nomaly/params.hpp"

using nomaly::json;
using nomaly::ParameterError;

namespace {

std::vector<nomaly::ParamSpec> specs() {
  return {{"n_estimators", 100, "int >= 1", "number of trees"},
          {"max_samples", "auto", "int | float | \"auto\"", "samples per tree"},
          {"contamination", "auto", "float in (0, 0.5] | \"auto\"", "expected outlier share"}};
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ParameterError& e) {
    EXPECT_EQ(e.exit_code(), nomaly::ExitCode::Usage);
    return e.what();
  }
  ADD_FAILURE() << "no ParameterError";
  return {};
}

}  // namespace

TEST(Params, MergeOverridesDefaults) {
  json p = nomaly::merge_params(specs(), {{"n_estimators", 7}}, "iforest");
  EXPECT_EQ(p, json({{"n_estimators", 7}, {"max_samples", "auto"}, {"contamination", "auto"}}));
  EXPECT_EQ(nomaly::merge_params(specs(), json::object(), "iforest")["n_estimators"], 100);
  EXPECT_EQ(nomaly::merge_params(specs(), json(), "iforest").size(), 3u);  // null = no user parameters
}

TEST(Params, MergeRejectsUnknownAndNonObject) {
  EXPECT_EQ(message_of([] { nomaly::merge_params(specs(), {{"n_trees", 3}}, "iforest"); }),
            "unknown parameter 'n_trees' for iforest; valid parameters: n_estimators, max_samples, contamination");
  EXPECT_EQ(message_of([] { nomaly::merge_params(specs(), json::array({1, 2}), "iforest"); }),
            "parameters for iforest must be a JSON object, got [1,2]");
  EXPECT_THROW(nomaly::merge_params(specs(), json(3), "iforest"), ParameterError);
}

TEST(Params, ParseAssignment) {
  using nomaly::parse_param_assignment;
  EXPECT_EQ(parse_param_assignment("n_estimators=3"), std::make_pair(std::string("n_estimators"), json(3)));
  EXPECT_EQ(parse_param_assignment("contamination=0.1").second, json(0.1));
  EXPECT_EQ(parse_param_assignment("bootstrap=true").second, json(true));
  EXPECT_EQ(parse_param_assignment("hidden=[64,32]").second, json({64, 32}));
  EXPECT_EQ(parse_param_assignment("random_state=null").second, json(nullptr));
  EXPECT_EQ(parse_param_assignment("max_samples=auto").second, json("auto"));
  EXPECT_EQ(parse_param_assignment("method=\"largest\"").second, json("largest"));
  EXPECT_EQ(parse_param_assignment("expr=a=b").second, json("a=b"));  // split at the first '='
  EXPECT_EQ(parse_param_assignment("empty=").second, json(""));
  EXPECT_EQ(parse_param_assignment(" k =1").first, "k");
  EXPECT_EQ(parse_param_assignment("max_samples= auto ").second, json("auto"));
  EXPECT_EQ(message_of([] { nomaly::parse_param_assignment("n_estimators"); }),
            "expected a parameter as key=value, got 'n_estimators'");
  EXPECT_EQ(message_of([] { nomaly::parse_param_assignment("=3"); }),
            "empty parameter name in '=3' (expected key=value)");
}

TEST(Params, IntAccessor) {
  const json p = {{"a", 3}, {"b", 3.0}, {"c", 3.5}, {"d", "abc"}, {"e", true}, {"f", -2}, {"g", 1e30}};
  EXPECT_EQ(nomaly::param_int(p, "a"), 3);
  EXPECT_EQ(nomaly::param_int(p, "b"), 3);  // integral float accepted
  EXPECT_EQ(nomaly::param_int(p, "f"), -2);
  EXPECT_EQ(message_of([&] { nomaly::param_int(json{{"n_estimators", "abc"}}, "n_estimators"); }),
            "parameter 'n_estimators' expects an integer, got \"abc\"");
  EXPECT_EQ(message_of([&] { nomaly::param_int(p, "c"); }), "parameter 'c' expects an integer, got 3.5");
  EXPECT_EQ(message_of([&] { nomaly::param_int(p, "e"); }), "parameter 'e' expects an integer, got true");
  EXPECT_THROW(nomaly::param_int(p, "g"), ParameterError);  // out of int64 range
  EXPECT_EQ(message_of([&] { nomaly::param_int(p, "zz"); }), "parameter 'zz' is not set");
}

TEST(Params, FloatBoolStringAccessors) {
  const json p = {{"x", 0.25}, {"i", 4}, {"b", false}, {"s", "largest"}, {"n", nullptr}};
  EXPECT_DOUBLE_EQ(nomaly::param_float(p, "x"), 0.25);
  EXPECT_DOUBLE_EQ(nomaly::param_float(p, "i"), 4.0);
  EXPECT_EQ(message_of([&] { nomaly::param_float(p, "s"); }), "parameter 's' expects a number, got \"largest\"");
  EXPECT_THROW(nomaly::param_float(p, "b"), ParameterError);
  EXPECT_FALSE(nomaly::param_bool(p, "b"));
  EXPECT_EQ(message_of([&] { nomaly::param_bool(p, "i"); }), "parameter 'i' expects a boolean (true or false), got 4");
  EXPECT_EQ(nomaly::param_string(p, "s"), "largest");
  EXPECT_EQ(message_of([&] { nomaly::param_string(p, "n"); }), "parameter 'n' expects a string, got null");
}

TEST(Params, IntListAccessor) {
  const json p = {{"h", {64, 32.0}}, {"one", 8}, {"bad", {1, "x"}}, {"s", "64"}};
  EXPECT_EQ(nomaly::param_int_list(p, "h"), (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(nomaly::param_int_list(p, "one"), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(message_of([&] { nomaly::param_int_list(p, "bad"); }),
            "parameter 'bad' expects a list of integers, got [1,\"x\"]");
  EXPECT_THROW(nomaly::param_int_list(p, "s"), ParameterError);
  EXPECT_TRUE(nomaly::param_int_list(json{{"e", json::array()}}, "e").empty());
}

TEST(Params, AutoAndSeed) {
  const json p = {{"a", "auto"}, {"b", 0.1}, {"c", "AUTO"}, {"r", nullptr}, {"s", 42}, {"t", -1}, {"u", "x"}};
  EXPECT_TRUE(nomaly::param_is_auto(p, "a"));
  EXPECT_FALSE(nomaly::param_is_auto(p, "b"));
  EXPECT_FALSE(nomaly::param_is_auto(p, "c"));
  std::uint64_t seed = 7;
  EXPECT_FALSE(nomaly::param_seed(p, "r", seed));
  EXPECT_EQ(seed, 7u);
  EXPECT_TRUE(nomaly::param_seed(p, "s", seed));
  EXPECT_EQ(seed, 42u);
  EXPECT_EQ(message_of([&] { nomaly::param_seed(p, "t", seed); }),
            "parameter 't' expects null or an integer >= 0, got -1");
  EXPECT_THROW(nomaly::param_seed(p, "u", seed), ParameterError);
}
