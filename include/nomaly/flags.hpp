// Feature flags read from the environment at call time (never at static init, so tests can flip them).
#pragma once

#include <string>

namespace nomaly {

/// Parses a boolean flag value: true/false/1/0/yes/no/on/off, case-insensitive, surrounding blanks ignored.
/// Throws FlagError naming `variable` for anything else.
bool parse_bool_flag(const std::string& variable, const std::string& value);

/// NOMALY_DEEP_LEARNING (legacy alias PYNOMALY_DEEP_LEARNING; the new name wins when both are set).
/// Default true. Throws FlagError for an invalid value.
bool deep_learning_enabled();

/// The message of FeatureDisabled when the flag is off (Pynomaly's wording).
inline const char* kDeepLearningDisabledMessage =
    "Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true";

/// Throws FeatureDisabled(kDeepLearningDisabledMessage) when deep_learning_enabled() is false.
void require_deep_learning();

/// Pynomaly's rule, kept: the flag also blocks every ONNX save and export, whatever the algorithm. Throws
/// FeatureDisabled(kDeepLearningDisabledMessage + kOnnxBlockedNote) when the flag is off.
inline const char* kOnnxBlockedNote =
    " (the flag blocks every ONNX save and export, for every algorithm, not only the deep detectors; "
    "native saves still work)";
void require_onnx_allowed();

}  // namespace nomaly
