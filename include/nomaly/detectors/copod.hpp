// COPOD, Copula-Based Outlier Detection (Li, Zhao, Botta, Ionescu & Hu, "COPOD: Copula-Based Outlier
// Detection", IEEE ICDM 2020), with the semantics of pyod.models.copod.COPOD.
//
// PyOD computes COPOD and ECOD identically (empirical-copula tail probabilities U_l, U_r per feature, the
// skewness-corrected U_skew, and sum_j max(U_skew_j, (U_l_j + U_r_j) / 2)); ECOD is the renamed, extended
// version by the same authors. nomaly keeps both names for PyOD users and shares the implementation: see
// ecod.hpp for the exact formulas, parameters ("contamination", "aggregation" = "pyod" | "paper"), the
// inductive-scoring difference from PyOD, the float32 representation and the ONNX export.
//
// Registry name "copod". Errors: ParameterError for a bad parameter; DataError from Detector for bad data.
#pragma once

#include "nomaly/detectors/ecod.hpp"

namespace nomaly {

class Copod : public EcdfTailDetector {
 public:
  explicit Copod(const json& params);
};

}  // namespace nomaly
