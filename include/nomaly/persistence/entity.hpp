// The Detector entity of the model store: a fitted (or not yet fitted) detector with its identity.
//
// Pynomaly kept this as a Pydantic model; here it is a plain struct whose JSON form (to_json/from_json)
// is what model.json, the native payload and the store repository carry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nomaly/detector.hpp"
#include "nomaly/params.hpp"

namespace nomaly {

/// One registered detector.
///  - id: a UUID v4 (lower-case, 36 chars) or a user id matching 1-64 characters of [A-Za-z0-9_.-], not starting with '.', without '..'. Ids become directory
///    names in the store, so anything else (`..`, `/`, NUL, 65+ chars) is rejected with InvalidDetectorId.
///  - contamination: "auto" or a number in (0, 0.5], as in Detector::contamination().
///  - parameters: the detector's full parameters (JSON object); metadata: free caller JSON (object).
///  - created_at / trained_at: ISO-8601 UTC ("2024-05-01T12:00:00Z"); trained_at is empty until fitted.
///  - feature_names: the training columns (empty -> f0..f{d-1} wherever names are needed).
///  - model: the detector itself; may be null for an entity that has not been built yet.
struct DetectorEntity {
  std::string id;
  std::string name;
  std::string algorithm;
  json contamination = "auto";
  json parameters = json::object();
  json metadata = json::object();
  std::string created_at;
  std::string trained_at;
  bool is_fitted = false;
  std::vector<std::string> feature_names;
  std::shared_ptr<Detector> model;

  /// Entity fields without the model, as JSON (the content of model.json).
  json to_json() const;
  /// Reverses to_json (model left null). Throws CorruptModel on missing/ill-typed fields and
  /// InvalidDetectorId on a bad id.
  static DetectorEntity from_json(const json& j);

  /// Builds an entity around a detector: a fresh UUID v4 when `id` is empty, name defaulting to the
  /// algorithm, parameters/contamination/is_fitted copied from the detector, created_at = now, and
  /// trained_at = now when the detector is fitted.
  static DetectorEntity make(std::shared_ptr<Detector> detector, const std::string& name = "", const std::string& id = "");
};

/// A fresh random UUID v4 (RFC 4122 §4.4) from OpenSSL's CSPRNG, lower-case "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string new_uuid_v4();

/// True when `id` is a UUID v4 (either case) or matches 1-64 characters of [A-Za-z0-9_.-], not starting with '.', without '..'.
bool is_valid_detector_id(const std::string& id);

/// Throws InvalidDetectorId ("invalid detector id '...': expected a UUID v4 or 1-64 characters of [A-Za-z0-9_.-], not starting with '.', without '..'") unless
/// is_valid_detector_id(id). Non-printable bytes are escaped in the message.
void validate_detector_id(const std::string& id);

/// The current time as ISO-8601 UTC with seconds, e.g. "2024-05-01T12:00:00Z".
std::string utc_now_iso8601();

}  // namespace nomaly
