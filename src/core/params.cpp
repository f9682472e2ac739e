// Parameter merging, CLI "key=value" parsing and typed accessors with precise error messages.
#include "nomaly/params.hpp"

#include <cmath>
#include <limits>

#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

const json& get(const json& params, const std::string& name) {
  if (!params.is_object() || !params.contains(name)) throw ParameterError("parameter '" + name + "' is not set");
  return params.at(name);
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected, const json& v) {
  throw ParameterError("parameter '" + name + "' expects " + expected + ", got " + v.dump());
}

/// Integers, and floats with an integral value (3.0), as int64; bools are not integers.
bool as_int(const json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is exactly representable; anything >= it does not fit.
    if (!std::isfinite(d) || d != std::trunc(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
      return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

json merge_params(const std::vector<ParamSpec>& specs, const json& user, const std::string& algorithm) {
  // null is accepted as "no parameters" so callers can pass a default-constructed json.
  if (!user.is_null() && !user.is_object())
    throw ParameterError("parameters for " + algorithm + " must be a JSON object, got " + user.dump());
  json out = json::object();
  for (const ParamSpec& s : specs) out[s.name] = s.default_value;
  if (user.is_null()) return out;
  for (const auto& [key, value] : user.items()) {
    if (!out.contains(key)) {
      std::string valid;
      for (const ParamSpec& s : specs) valid += (valid.empty() ? "" : ", ") + s.name;
      throw ParameterError("unknown parameter '" + key + "' for " + algorithm + "; valid parameters: " +
                           (valid.empty() ? "(none)" : valid));
    }
    out[key] = value;
  }
  return out;
}

std::pair<std::string, json> parse_param_assignment(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw ParameterError("expected a parameter as key=value, got '" + assignment + "'");
  std::string key = trim(assignment.substr(0, eq));
  if (key.empty()) throw ParameterError("empty parameter name in '" + assignment + "' (expected key=value)");
  const std::string text = trim(assignment.substr(eq + 1));
  // JSON when it parses ("3", "0.1", "true", "[64,32]", "null"), otherwise the text as a string ("auto").
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  return {std::move(key), std::move(value)};
}

std::int64_t param_int(const json& params, const std::string& name) {
  const json& v = get(params, name);
  std::int64_t out = 0;
  if (!as_int(v, out)) wrong_type(name, "an integer", v);
  return out;
}

double param_float(const json& params, const std::string& name) {
  const json& v = get(params, name);
  if (!v.is_number()) wrong_type(name, "a number", v);
  return v.get<double>();
}

bool param_bool(const json& params, const std::string& name) {
  const json& v = get(params, name);
  if (!v.is_boolean()) wrong_type(name, "a boolean (true or false)", v);
  return v.get<bool>();
}

std::string param_string(const json& params, const std::string& name) {
  const json& v = get(params, name);
  if (!v.is_string()) wrong_type(name, "a string", v);
  return v.get<std::string>();
}

std::vector<std::int64_t> param_int_list(const json& params, const std::string& name) {
  const json& v = get(params, name);
  std::vector<std::int64_t> out;
  std::int64_t x = 0;
  // A single integer is a one-element list, so `--param hidden=64` works like `hidden=[64]`.
  if (as_int(v, x)) return {x};
  if (!v.is_array()) wrong_type(name, "a list of integers", v);
  for (const json& e : v) {
    if (!as_int(e, x)) wrong_type(name, "a list of integers", v);
    out.push_back(x);
  }
  return out;
}

bool param_is_auto(const json& params, const std::string& name) {
  const json& v = get(params, name);
  return v.is_string() && v.get<std::string>() == "auto";
}

bool param_seed(const json& params, const std::string& name, std::uint64_t& seed) {
  const json& v = get(params, name);
  if (v.is_null()) return false;
  std::int64_t x = 0;
  if (!as_int(v, x) || x < 0) wrong_type(name, "null or an integer >= 0", v);
  seed = static_cast<std::uint64_t>(x);
  return true;
}

}  // namespace nomaly
