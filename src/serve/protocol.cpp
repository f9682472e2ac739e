#include "nomaly/serve/protocol.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "nomaly/columns.hpp"
#include "nomaly/params.hpp"

namespace nomaly::serve {

namespace {

[[noreturn]] void bad(const std::string& msg) { throw HttpError(400, msg); }

/// A request holds at most 5 levels ({"inputs": [{"data": [[...]]}]}). nlohmann's parser is iterative, but
/// dumping a value (for an error message) recurses: a body nested 100,000 levels deep would overflow the stack.
constexpr int kMaxDepth = 32;

/// The deepest nesting of arrays and objects in `body` (brackets inside strings do not count); stops past kMaxDepth.
int nesting_depth(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size() && deepest <= kMaxDepth; ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

/// A client's text in an error message: at most 64 characters.
std::string clip(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 61) + "..."; }

/// A JSON value in an error message: at most 64 characters of its text.
std::string brief(const json& v) { return clip(v.dump(-1, ' ', false, json::error_handler_t::replace)); }

json parse_body(std::string_view body) {
  if (nesting_depth(body) > kMaxDepth)
    bad("request body: JSON nested deeper than " + std::to_string(kMaxDepth) + " levels (a request needs 5)");
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) {
    // Parse again with exceptions on, only to name the position in the message.
    try {
      const json again = json::parse(body.begin(), body.end());
      (void)again;
    } catch (const json::out_of_range& e) {
      // A number beyond double (e.g. 1e400) is out_of_range 406, not a parse_error.
      bad(std::string("request body: a number is out of range (") + e.what() + ")");
    } catch (const json::exception& e) {
      bad(std::string("request body: malformed JSON (") + e.what() + ")");
    }
    bad("request body: malformed JSON");
  }
  if (!j.is_object()) bad(std::string("request body: expected a JSON object, got ") + j.type_name());
  return j;
}

/// One JSON number as float32; 400 naming the field for anything else or a value float32 cannot hold.
/// The field name (`prefix[i]` or `prefix[i][j]`) is built only for the message: no allocation per value.
float to_float(const json& v, const char* prefix, std::size_t i, std::size_t j = SIZE_MAX) {
  const auto field = [&] {
    std::string f = std::string(prefix) + "[" + std::to_string(i) + "]";
    if (j != SIZE_MAX) f += "[" + std::to_string(j) + "]";
    return f;
  };
  if (!v.is_number()) bad(field() + ": expected a number, got " + v.type_name());
  const float f = static_cast<float>(v.get<double>());
  if (!std::isfinite(f))
    bad(field() + ": non-finite value (NaN and +/-inf are rejected; " + brief(v) + " overflows float32)");
  return f;
}

void refuse_binary(const json& holder, const std::string& field) {
  const auto it = holder.find("parameters");
  if (it == holder.end() || !it->is_object()) return;
  for (const char* key : {"binary_data", "binary_data_output", "binary_data_size"})
    if (it->contains(key) && !(it->at(key).is_boolean() && !it->at(key).get<bool>()))
      bad(field + ".parameters." + key + ": the binary tensor extension is not supported by nomaly serve; send JSON data");
}

std::size_t shape_dim(const json& shape, std::size_t k) {
  const json& v = shape[k];
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
    bad("inputs[0].shape[" + std::to_string(k) + "]: expected a non-negative integer, got " + brief(v));
  return static_cast<std::size_t>(v.get<std::int64_t>());
}

void read_data(const json& data, InferRequest& r) {
  const std::string f = "inputs[0].data";
  if (!data.is_array()) bad(f + ": expected an array, got " + data.type_name());
  r.X.resize(r.rows * r.cols);
  if (data.size() == r.rows * r.cols && (data.empty() || !data[0].is_array())) {  // flat, row-major
    for (std::size_t k = 0; k < data.size(); ++k) r.X[k] = to_float(data[k], "inputs[0].data", k);
    return;
  }
  if (data.size() != r.rows)
    bad(f + ": " + std::to_string(data.size()) + " elements do not match shape [" + std::to_string(r.rows) + ", " +
        std::to_string(r.cols) + "] (flat data needs " + std::to_string(r.rows * r.cols) + " numbers, nested data " +
        std::to_string(r.rows) + " rows)");
  for (std::size_t i = 0; i < r.rows; ++i) {
    const json& row = data[i];
    if (!row.is_array() || row.size() != r.cols)
      bad(f + "[" + std::to_string(i) + "]: expected an array of " + std::to_string(r.cols) + " numbers (shape[1]), got " +
          (row.is_array() ? std::to_string(row.size()) + " elements" : std::string(row.type_name())));
    for (std::size_t j = 0; j < r.cols; ++j) r.X[i * r.cols + j] = to_float(row[j], "inputs[0].data", i, j);
  }
}

void read_outputs(const json& j, InferRequest& r, const std::string& model) {
  const auto it = j.find("outputs");
  if (it == j.end()) return;
  if (!it->is_array()) bad(std::string("outputs: expected an array, got ") + it->type_name());
  if (it->empty()) return;
  r.want_scores = r.want_label = false;
  for (std::size_t k = 0; k < it->size(); ++k) {
    const json& o = (*it)[k];
    const std::string f = "outputs[" + std::to_string(k) + "]";
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
      bad(f + ": expected an object with a string \"name\"");
    refuse_binary(o, f);
    const std::string name = o["name"].get<std::string>();
    if (name == "scores") r.want_scores = true;
    else if (name == "label") r.want_label = true;
    else bad(f + ".name: '" + clip(name) + "' is not an output of model " + model + " (outputs: scores, label)");
  }
}

void append_json_string(std::string& out, const std::string& s) { out += json(s).dump(); }

void append_scores(std::string& out, const std::vector<float>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    append_float(out, v[i]);
  }
  out += ']';
}

void append_ints(std::string& out, const std::vector<int>& v) {
  out += '[';
  char buf[16];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    const auto res = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, res.ptr);
  }
  out += ']';
}

void append_header(std::string& out, const std::string& model, const std::string& version) {
  out += "{\"model_name\":";
  append_json_string(out, model);
  out += ",\"model_version\":";
  append_json_string(out, version);
}

}  // namespace

void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form for float32
  out.append(buf, res.ptr);
}

std::string error_body(const std::string& message) { return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace); }

InferRequest parse_infer_request(std::string_view body, std::size_t d, const std::string& model) {
  const json j = parse_body(body);
  InferRequest r;
  if (const auto id = j.find("id"); id != j.end()) {
    if (!id->is_string()) bad(std::string("id: expected a string, got ") + id->type_name());
    r.id = id->get<std::string>();
    r.has_id = true;
  }
  refuse_binary(j, "request");
  const auto in = j.find("inputs");
  if (in == j.end() || !in->is_array() || in->size() != 1)
    bad("inputs: expected an array with one tensor (model " + model + " has one input, X FP32 [-1, " +
        (d ? std::to_string(d) : std::string("-1")) + "])");
  const json& t = (*in)[0];
  if (!t.is_object()) bad(std::string("inputs[0]: expected an object, got ") + t.type_name());
  refuse_binary(t, "inputs[0]");
  if (!t.contains("name") || !t["name"].is_string()) bad("inputs[0].name: missing (expected \"X\")");
  if (t["name"] != "X") bad("inputs[0].name: '" + clip(t["name"].get<std::string>()) + "' is not an input of model " + model + " (its input is X)");
  if (!t.contains("datatype") || !t["datatype"].is_string()) bad("inputs[0].datatype: missing (expected \"FP32\" or \"FP64\")");
  const std::string dt = t["datatype"].get<std::string>();
  if (dt != "FP32" && dt != "FP64") bad("inputs[0].datatype: '" + clip(dt) + "' is not supported; X is FP32 (FP64 is accepted and rounded)");
  if (!t.contains("shape") || !t["shape"].is_array() || t["shape"].size() != 2)
    bad("inputs[0].shape: expected [n, d] (2 dimensions), got " + (t.contains("shape") ? brief(t["shape"]) : std::string("nothing")));
  r.rows = shape_dim(t["shape"], 0);
  r.cols = shape_dim(t["shape"], 1);
  if (r.rows == 0) bad("inputs[0].shape[0]: expected at least one row, got 0");
  if (d && r.cols != d)
    bad("inputs[0].shape: " + brief(t["shape"]) + " has " + std::to_string(r.cols) + " columns; model " + model +
        " expects [-1, " + std::to_string(d) + "]");
  if (r.cols == 0) bad("inputs[0].shape[1]: expected at least one column, got 0");
  // Bound the allocation by the body before trusting the shape: every value takes at least 2 bytes.
  if (r.rows > body.size() / r.cols) bad("inputs[0].shape: " + brief(t["shape"]) + " is larger than the data sent");
  if (!t.contains("data")) bad("inputs[0].data: missing");
  read_data(t["data"], r);
  read_outputs(j, r, model);
  return r;
}

std::string encode_infer_response(const std::string& model, const std::string& version, const InferRequest& req,
                                  const ScoreResult& result) {
  std::string out;
  out.reserve(96 + result.scores.size() * 14);
  append_header(out, model, version);
  if (req.has_id) {
    out += ",\"id\":";
    append_json_string(out, req.id);
  }
  const std::string n = std::to_string(result.scores.size());
  out += ",\"outputs\":[";
  if (req.want_scores) {
    out += "{\"name\":\"scores\",\"shape\":[" + n + "],\"datatype\":\"FP32\",\"data\":";
    append_scores(out, result.scores);
    out += '}';
  }
  if (req.want_label) {
    if (req.want_scores) out += ',';
    out += "{\"name\":\"label\",\"shape\":[" + n + "],\"datatype\":\"INT64\",\"data\":";
    append_ints(out, result.labels);
    out += '}';
  }
  out += "]}";
  return out;
}

Dataset parse_score_request(std::string_view body, std::size_t d, const std::vector<std::string>& names) {
  const json j = parse_body(body);
  const bool has_rows = j.contains("rows"), has_records = j.contains("records");
  if (has_rows == has_records) bad("request body: expected exactly one of \"rows\" (arrays of numbers) or \"records\" (objects by feature name)");
  Dataset ds;
  if (has_rows) {
    const json& rows = j["rows"];
    if (!rows.is_array() || rows.empty()) bad("rows: expected a non-empty array of rows");
    ds.rows = rows.size();
    ds.cols = d ? d : (rows[0].is_array() ? rows[0].size() : 0);
    if (ds.cols == 0) bad("rows[0]: expected a non-empty array of numbers");
    ds.X.resize(ds.rows * ds.cols);
    for (std::size_t i = 0; i < ds.rows; ++i) {
      const auto f = [i] { return "rows[" + std::to_string(i) + "]"; };
      if (!rows[i].is_array()) bad(f() + ": expected an array of numbers, got " + rows[i].type_name());
      if (rows[i].size() != ds.cols)
        bad(f() + ": " + std::to_string(rows[i].size()) + " values; the model expects " + std::to_string(ds.cols));
      for (std::size_t c = 0; c < ds.cols; ++c) ds.X[i * ds.cols + c] = to_float(rows[i][c], "rows", i, c);
    }
    return ds;
  }
  const json& recs = j["records"];
  if (!recs.is_array() || recs.empty()) bad("records: expected a non-empty array of objects");
  // Columns: every field name in order of first appearance; a cell a record lacks is NaN until selection.
  // Only the model's features become columns (others are dropped anyway): records with many distinct field names
  // must not grow a rows x fields matrix (1,000 records x 1,000 new names each would be 4 GB).
  const std::unordered_set<std::string> wanted(names.begin(), names.end());
  std::unordered_map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (!recs[i].is_object()) bad("records[" + std::to_string(i) + "]: expected an object, got " + recs[i].type_name());
    for (const auto& [k, v] : recs[i].items())
      if ((wanted.empty() || wanted.count(k)) && col.emplace(k, ds.feature_names.size()).second) ds.feature_names.push_back(k);
    if (d && ds.feature_names.size() > d)  // only possible without feature names
      bad("records: " + std::to_string(ds.feature_names.size()) + "+ fields; the model expects " + std::to_string(d) + " features");
  }
  ds.rows = recs.size();
  ds.cols = ds.feature_names.size();
  ds.X.assign(ds.rows * ds.cols, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t i = 0; i < ds.rows; ++i)
    for (const auto& [k, v] : recs[i].items())
      if (v.is_number()) ds.X[i * ds.cols + col[k]] = static_cast<float>(v.get<double>());
  Dataset sel = select_features(std::move(ds), names, false, "records");
  if (d && sel.cols != d)
    bad("records: " + std::to_string(sel.cols) + " fields; the model expects " + std::to_string(d) + " features");
  for (std::size_t i = 0; i < sel.rows; ++i)
    for (std::size_t c = 0; c < sel.cols; ++c) {
      if (std::isfinite(sel.X[i * sel.cols + c])) continue;
      const std::string f = "records[" + std::to_string(i) + "]." + sel.feature_names[c];
      const auto it = recs[i].find(sel.feature_names[c]);
      if (it == recs[i].end()) bad(f + ": missing (the model needs every feature in every record)");
      if (!it->is_number()) bad(f + ": expected a number, got " + it->type_name());
      bad(f + ": non-finite value (NaN and +/-inf are rejected; " + brief(*it) + " overflows float32)");
    }
  return sel;
}

std::string encode_score_response(const std::string& model, const std::string& version, float threshold,
                                  const ScoreResult& result) {
  std::string out;
  out.reserve(96 + result.scores.size() * 14);
  append_header(out, model, version);
  out += ",\"threshold\":";
  append_float(out, threshold);
  out += ",\"scores\":";
  append_scores(out, result.scores);
  out += ",\"labels\":";
  append_ints(out, result.labels);
  out += '}';
  return out;
}

}  // namespace nomaly::serve
