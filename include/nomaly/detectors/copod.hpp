// COPOD, Copula-Based Outlier Detection (Li, Zhao, Botta, Ionescu & Hu, "COPOD: Copula-Based Outlier
// Detection", IEEE ICDM 2020), with the semantics of pyod.models.copod.COPOD.
//
// PyOD computes COPOD and ECOD from the same empirical tail probabilities U_l, U_r per feature and the
// skewness-corrected U_skew; COPOD's rule is sum_j max(U_skew_j, (U_l_j + U_r_j) / 2) (pyod/models/copod.py,
// commit 44c0ad79), ECOD's sum_j max(U_l_j, U_r_j, U_skew_j). nomaly shares the implementation: see ecod.hpp
// for the exact formulas, parameters ("contamination", "aggregation" = "pyod" | "max" | "mean" | "paper"), the
// PyOD versions followed, the inductive-scoring difference from PyOD, the float32 representation and the ONNX
// export.
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
