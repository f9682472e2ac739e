// Detector parameters: a JSON object of name -> value, checked against a per-algorithm spec.
//
// Parameters follow scikit-learn naming (n_estimators, max_samples, contamination, random_state, ...).
// From the CLI, `--param key=value` values are parsed as JSON when they parse ("3", "0.1", "true",
// "[64,32]") and as strings otherwise ("auto", "largest").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nomaly {

using json = nlohmann::json;

/// One parameter of an algorithm: its name, default value, type for documentation, and help text.
struct ParamSpec {
  std::string name;
  json default_value;
  std::string type;  ///< e.g. "int >= 1", "float in (0, 0.5] | \"auto\"", "[int]"
  std::string help;
};

/// Merges `user` over the defaults in `specs`. Throws ParameterError when `user` is not an object or
/// names a parameter not in `specs` (the message lists the valid names).
json merge_params(const std::vector<ParamSpec>& specs, const json& user, const std::string& algorithm);

/// Parses a CLI "key=value" pair into (key, JSON value). Throws ParameterError when there is no '='.
std::pair<std::string, json> parse_param_assignment(const std::string& assignment);

// Typed accessors. Each throws ParameterError naming the parameter when the value has the wrong type.
std::int64_t param_int(const json& params, const std::string& name);
double param_float(const json& params, const std::string& name);
bool param_bool(const json& params, const std::string& name);
std::string param_string(const json& params, const std::string& name);
std::vector<std::int64_t> param_int_list(const json& params, const std::string& name);
/// True when the value is the string "auto".
bool param_is_auto(const json& params, const std::string& name);
/// Optional seed: null -> nullopt-like -1 is not used; returns true and sets `seed` when an integer is given.
bool param_seed(const json& params, const std::string& name, std::uint64_t& seed);

}  // namespace nomaly
