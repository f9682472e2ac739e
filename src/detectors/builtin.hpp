// Registration hooks of the built-in detectors (one per algorithm file), called once by the registry.
#pragma once

#include "nomaly/registry.hpp"

namespace nomaly::detail {

void register_iforest();
// Detector-zoo and deep detectors add their hooks here and call them in registry.cpp's register_builtins().

}  // namespace nomaly::detail
