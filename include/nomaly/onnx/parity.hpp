// The one ONNX = native parity rule (issue 14 §7), used by `verify`, `load`'s check batch, save's and export's
// checks, the parity tests, and (same formula) the bundle's deploy.py / deploy.mjs golden check.
//
// A row passes when |onnx - native| <= tol * max(|native|, floor), where
//   floor = max(1e-3 * (max - min of the native scores of the detector's reference rows), FLT_MIN).
// The reference rows are the training rows kept at fit (the golden rows of an export), so the floor is a
// thousandth of the model's own score spread: relative error for scores of ordinary size, and for scores near
// zero an absolute error measured against how far apart the model's scores are. The older rule
// |diff| / max(1, |native|) could not fail a model whose scores are all far below 1 (kNN distances on data in
// thousandths): a 100% error on scores ~1e-6 passed at tol 1e-5. NaN differences count as infinite.
//
// Units: scores as the detector reports them (float32); floor in the same units. Never throws.
#pragma once

#include <cstddef>
#include <vector>

namespace nomaly {

class Detector;

/// Default tolerance of the rule (verify --tolerance, load, save, export, deploy --check).
inline constexpr double kParityTolerance = 1e-5;
/// Fraction of the reference-score spread below which differences are measured against the spread.
inline constexpr double kParityFloorFraction = 1e-3;

struct ParityReport {
  double max_abs = 0.0;        ///< max |got - want|
  double max_rel = 0.0;        ///< max |got - want| / max(|want|, floor)
  std::size_t worst_row = 0;   ///< row of max_rel
  double floor = 0.0;          ///< the floor used
  bool ok(double tol = kParityTolerance) const { return max_rel <= tol; }
};

/// floor = max(kParityFloorFraction * (max - min of scores), FLT_MIN); FLT_MIN for no scores.
double parity_floor(const std::vector<float>& reference_scores);
/// parity_floor of the native scores of det's reference rows (FLT_MIN for an unfitted detector or no rows).
double parity_floor(const Detector& det);
/// Compares got[i] with want[i] for i < min(sizes) under the rule above.
ParityReport parity_report(const std::vector<float>& got, const std::vector<float>& want, double floor);

}  // namespace nomaly
