// The wire format of `nomaly serve`: the Open Inference Protocol v2 (KServe v2 / Triton) JSON codec for one
// model with input `X` FP32 [-1, d] and outputs `scores` FP32 [-1], `label` INT64 [-1], and the convenience
// route's `{"rows": ...}` / `{"records": ...}` body.
//
// Source: the KServe "Open Inference Protocol (V2)" REST spec (inference request/response JSON objects,
// tensor data in row-major order, flat or nested; error object {"error": "..."}). Binary tensor data
// (Triton's extension) is refused with a 400 naming the parameter.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "nomaly/dataset.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/persistence/scorer.hpp"

namespace nomaly::serve {

/// A request the server refuses. `status` is the HTTP status (400 bad request, 401, 404, 405, 413, ...);
/// what() is the message sent as {"error": what()}. Exit code class: bad data.
class HttpError : public DataError {
 public:
  HttpError(int status, const std::string& what) : DataError(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// A decoded v2 inference request for a model of width d.
///  - X: rows x cols float32, row-major (FP64 data is rounded to float32, as the model's input is FP32).
///  - want_scores / want_label: the `outputs` selection (both when the request names none).
///  - id: the request id to echo (has_id false when the request had none).
struct InferRequest {
  std::string id;
  bool has_id = false;
  std::size_t rows = 0, cols = 0;
  std::vector<float> X;
  bool want_scores = true, want_label = true;
  MatrixView view() const { return {X.data(), rows, cols}; }
};

/// Parses a POST /v2/models/{model}/infer body for a model whose input X has width `d` (0 = unknown: any
/// width). Throws HttpError(400) naming the field: malformed JSON ("request body: malformed JSON ..."),
/// inputs not a one-tensor array, a name other than X, a datatype other than FP32/FP64, a shape that is not
/// [n >= 1, d], data whose length or nesting disagrees with the shape, a non-number or a non-finite value
/// ("inputs[0].data[7]: ..."; FP64 values beyond float32 are non-finite too), an unknown output name, or the
/// binary tensor extension.
InferRequest parse_infer_request(std::string_view body, std::size_t d, const std::string& model);

/// The v2 inference response JSON: {"model_name","model_version",["id"],"outputs":[scores FP32 [n], label INT64 [n]]}
/// (only the outputs the request selected). Floats are written in the shortest form that reads back as the
/// same float32.
std::string encode_infer_response(const std::string& model, const std::string& version, const InferRequest& req,
                                  const ScoreResult& result);

/// Parses a POST /v1/models/{model}/score body: {"rows": [[...], ...]} (n x d numbers) or {"records":
/// [{"name": value, ...}, ...]}. Records are matched to `feature_names` by nomaly::select_features (the rule
/// of `nomaly score`): extra fields are dropped, a missing feature is a 400 naming it. Returns the n x d rows.
/// Throws HttpError(400) naming the field (rows[i], records[i].name) for every bad shape or value.
Dataset parse_score_request(std::string_view body, std::size_t d, const std::vector<std::string>& feature_names);

/// {"model_name","model_version","threshold","scores":[...],"labels":[...]}.
std::string encode_score_response(const std::string& model, const std::string& version, float threshold,
                                  const ScoreResult& result);

/// The protocol's error object: {"error": message}.
std::string error_body(const std::string& message);

/// Appends v in the shortest decimal form that parses back to the same float32 (null for NaN/inf).
void append_float(std::string& out, float v);

}  // namespace nomaly::serve
