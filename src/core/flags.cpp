// Environment feature flags, read at call time.
#include "nomaly/flags.hpp"

#include <cctype>
#include <cstdlib>

#include "nomaly/errors.hpp"

namespace nomaly {

namespace {

std::string trimmed_lower(const std::string& v) {
  std::size_t b = 0, e = v.size();
  while (b < e && std::isspace(static_cast<unsigned char>(v[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(v[e - 1]))) --e;
  std::string out = v.substr(b, e - b);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool parse_bool_flag(const std::string& variable, const std::string& value) {
  const std::string v = trimmed_lower(value);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw FlagError("invalid value '" + value + "' for " + variable +
                  "; accepted values (case-insensitive): true, false, 1, 0, yes, no, on, off");
}

bool deep_learning_enabled() {
  // An unset or blank variable means "not set", so `NOMALY_DEEP_LEARNING= cmd` falls through to the default.
  for (const char* name : {"NOMALY_DEEP_LEARNING", "PYNOMALY_DEEP_LEARNING"}) {
    const char* v = std::getenv(name);
    if (v && !trimmed_lower(v).empty()) return parse_bool_flag(name, v);
  }
  return true;
}

void require_deep_learning() {
  if (!deep_learning_enabled()) throw FeatureDisabled(kDeepLearningDisabledMessage);
}

void require_onnx_allowed() {
  if (!deep_learning_enabled()) throw FeatureDisabled(std::string(kDeepLearningDisabledMessage) + kOnnxBlockedNote);
}

}  // namespace nomaly
