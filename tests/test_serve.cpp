// `nomaly serve` routes end to end (issue 13): an in-process server on 127.0.0.1 with an ephemeral port and
// cpp-httplib's client. Scores from /infer are compared with `nomaly score` on the same rows.
#include <fstream>

#include "nomaly/csv.hpp"
#include "test_serve_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

struct ServeFixture : ::testing::Test {
  ServeStore store;
  Dataset data = synthetic(400, 6, 20, 3);
  DetectorEntity model = iforest_entity(data, "forest");
  std::vector<float> expected = model.model->score_samples(data.view());
  void SetUp() override { store.save(model); }
};

/// `nomaly score` on rows [0, n) of `data` (written to a CSV), read back from --scores-out.
std::vector<float> cli_scores(const fs::path& store, const std::string& id, const Dataset& data, std::size_t n,
                              const std::string& format) {
  const fs::path csv = store / ("rows-" + format + ".csv"), out = store / ("scores-" + format + ".csv");
  Dataset part = data.subset([&] {
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    return idx;
  }());
  part.labels.reset();
  write_csv(csv.string(), part);
  const CliResult r = run_cli("score --store '" + store.string() + "' " + id + " --input '" + csv.string() +
                              "' --format " + format + " --threads 1 --scores-out '" + out.string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  CsvOptions o;
  const Dataset s = read_csv(out.string(), o);
  std::vector<float> v;
  for (std::size_t i = 0; i < s.rows; ++i) v.push_back(s.X[i * s.cols]);
  return v;
}

TEST_F(ServeFixture, HealthServerMetadataAndListing) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  auto r = c->Get("/v2/health/live");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["live"], true);
  r = c->Get("/v2/health/ready");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["ready"], true);
  r = c->Get("/v2");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["name"], "nomaly");
  EXPECT_EQ(json::parse(r->body)["version"], NOMALY_VERSION);
  r = c->Get("/v1/models");
  ASSERT_EQ(r->status, 200);
  const json listed = json::parse(r->body);
  // The same data as `nomaly list --json`.
  const CliResult cli = run_cli("list --json --store '" + store.dir.path.string() + "'");
  ASSERT_EQ(cli.status, 0) << cli.err;
  EXPECT_EQ(listed, json::parse(cli.out));
  EXPECT_EQ(listed["forest"]["algorithm"], "iforest");
}

TEST_F(ServeFixture, ModelMetadataReadyAndVersions) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  auto r = c->Get("/v2/models/forest");
  ASSERT_EQ(r->status, 200) << r->body;
  const json m = json::parse(r->body);
  EXPECT_EQ(m["name"], "forest");
  EXPECT_EQ(m["platform"], "nomaly_native");
  EXPECT_EQ(m["inputs"][0]["name"], "X");
  EXPECT_EQ(m["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(m["inputs"][0]["shape"], json({-1, 6}));
  EXPECT_EQ(m["outputs"][0], json({{"name", "scores"}, {"datatype", "FP32"}, {"shape", {-1}}}));
  EXPECT_EQ(m["outputs"][1], json({{"name", "label"}, {"datatype", "INT64"}, {"shape", {-1}}}));
  const std::string version = m["versions"][0];
  const std::string sha = store.service.saved_metadata("forest")->at("files")["model.nomaly"]["sha256"];
  EXPECT_EQ(version, sha.substr(0, 16));
  EXPECT_EQ(m["parameters"]["feature_names"], json(data.feature_names));
  r = c->Get("/v2/models/forest/ready");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json({{"name", "forest"}, {"ready", true}}));
  r = c->Get("/v2/models/forest/versions/" + version + "/ready");
  EXPECT_EQ(r->status, 200);
  r = c->Post("/v2/models/forest/versions/" + version + "/infer", infer_body(data, 0, 2), "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
  r = c->Get("/v2/models/forest/versions/0000000000000000");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("no version '0000000000000000'"), std::string::npos);
  r = c->Get("/v2/models/nosuch/ready");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"], "No saved model found for detector nosuch");
}

TEST_F(ServeFixture, NativeInferEqualsNomalyScore) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  const std::size_t n = 100;
  auto r = c->Post("/v2/models/forest/infer", infer_body(data, 0, n, "req-7"), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json out = json::parse(r->body);
  EXPECT_EQ(out["model_name"], "forest");
  EXPECT_EQ(out["id"], "req-7");
  EXPECT_EQ(out["outputs"][0]["shape"], json({n}));
  EXPECT_EQ(out["outputs"][1]["datatype"], "INT64");
  const std::vector<float> got = output_floats(out, "scores");
  const std::vector<float> cli = cli_scores(store.dir.path, "forest", data, n, "native");
  ASSERT_EQ(got.size(), n);
  ASSERT_EQ(cli.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i], cli[i]) << "row " << i;
    EXPECT_EQ(got[i], expected[i]) << "row " << i;
  }
  const auto labels = output_floats(out, "label");
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(labels[i], got[i] > model.model->threshold() ? 1.f : 0.f);

  // Nested data, FP64, an output selection: the same scores, only the output asked for.
  json nested = json::array();
  for (std::size_t i = 0; i < 3; ++i) {
    json row = json::array();
    for (std::size_t j = 0; j < data.cols; ++j) row.push_back(static_cast<double>(data.X[i * data.cols + j]));
    nested.push_back(row);
  }
  const json body = {{"inputs", {{{"name", "X"}, {"shape", {3, 6}}, {"datatype", "FP64"}, {"data", nested}}}},
                     {"outputs", {{{"name", "scores"}}}}};
  r = c->Post("/v2/models/forest/infer", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json sel = json::parse(r->body);
  ASSERT_EQ(sel["outputs"].size(), 1u);
  EXPECT_FALSE(sel.contains("id"));
  EXPECT_EQ(output_floats(sel, "scores"), slice_scores(expected, 0, 3));
}

TEST_F(ServeFixture, OnnxInferEqualsNomalyScore) {
  store.service.save_model("forest", Format::Onnx);
  RunningServer srv(serve_options(store.dir.path, Format::Onnx));
  auto c = srv.client();
  const std::size_t n = 120;
  auto r = c->Get("/v2/models/forest");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["platform"], "onnxruntime_onnx");
  r = c->Post("/v2/models/forest/infer", infer_body(data, 0, n), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<float> got = output_floats(json::parse(r->body), "scores");
  const std::vector<float> cli = cli_scores(store.dir.path, "forest", data, n, "onnx");
  ASSERT_EQ(got.size(), n);
  ASSERT_EQ(cli.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i], cli[i]) << "row " << i;
    EXPECT_NEAR(got[i], expected[i], 1e-5 * std::max(1.f, std::abs(expected[i]))) << "row " << i;  // ONNX vs native
  }
}

TEST_F(ServeFixture, ScoreRouteRowsAndRecordsByFeatureName) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  json rows = json::array(), records = json::array();
  for (std::size_t i = 0; i < 5; ++i) {
    json row = json::array(), rec = json::object();
    for (std::size_t j = 0; j < data.cols; ++j) row.push_back(data.X[i * data.cols + j]);
    // Records in another column order, with an extra field: matched by name, the extra one dropped.
    for (std::size_t j = data.cols; j-- > 0;) rec[data.feature_names[j]] = data.X[i * data.cols + j];
    rec["comment"] = "ignored";
    rows.push_back(row);
    records.push_back(rec);
  }
  for (const json& body : {json{{"rows", rows}}, json{{"records", records}}}) {
    auto r = c->Post("/v1/models/forest/score", body.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    const json out = json::parse(r->body);
    EXPECT_EQ(out["threshold"].get<float>(), model.model->threshold());
    std::vector<float> s;
    for (const auto& x : out["scores"]) s.push_back(x.get<float>());
    EXPECT_EQ(s, slice_scores(expected, 0, 5));
    ASSERT_EQ(out["labels"].size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out["labels"][i], s[i] > model.model->threshold() ? 1 : 0);
  }
  records[2].erase("f3");
  auto r = c->Post("/v1/models/forest/score", json{{"records", records}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("records[2].f3: missing"), std::string::npos) << r->body;
  for (auto& rec : records) rec.erase("f3");
  r = c->Post("/v1/models/forest/score", json{{"records", records}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("missing feature column f3"), std::string::npos) << r->body;
}

struct BadCase {
  std::string body, field;
};

TEST_F(ServeFixture, EveryBadInferBodyIs400NamingTheField) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  const auto tensor = [](const json& t) { return json{{"inputs", {t}}}.dump(); };
  const json ok = {{"name", "X"}, {"shape", {1, 6}}, {"datatype", "FP32"}, {"data", {1, 2, 3, 4, 5, 6}}};
  const auto with = [&](const char* k, const json& v) {
    json t = ok;
    t[k] = v;
    return tensor(t);
  };
  const std::vector<BadCase> cases = {
      {"{\"inputs\": [", "malformed JSON"},
      {"[1,2]", "expected a JSON object"},
      {"{}", "inputs: expected an array with one tensor"},
      {json{{"inputs", {ok, ok}}}.dump(), "inputs: expected an array with one tensor"},
      {with("name", "input-0"), "inputs[0].name: 'input-0' is not an input"},
      {with("datatype", "INT64"), "inputs[0].datatype: 'INT64' is not supported"},
      {with("datatype", "BYTES"), "inputs[0].datatype"},
      {with("shape", {6}), "inputs[0].shape: expected [n, d]"},
      {with("shape", {1, 5}), "has 5 columns; model forest expects [-1, 6]"},
      {with("shape", {0, 6}), "inputs[0].shape[0]: expected at least one row"},
      {with("shape", {-1, 6}), "inputs[0].shape[0]: expected a non-negative integer"},
      {with("shape", {2, 6}), "inputs[0].data: 6 elements do not match shape [2, 6]"},
      {with("shape", {100000000, 6}), "is larger than the data sent"},
      {with("data", {1, 2, 3, 4, 5, "x"}), "inputs[0].data[5]: expected a number, got string"},
      {with("data", {1, 2, 3, 4, 5, nullptr}), "inputs[0].data[5]: expected a number, got null"},
      {with("data", {1, 2, 3, 4, 5, 1e39}), "inputs[0].data[5]: non-finite value"},
      {with("data", {{1, 2, 3}, {4, 5, 6}}), "inputs[0].data"},
      {with("data", "abc"), "inputs[0].data: expected an array"},
      {R"({"inputs":[{"name":"X","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,1e400]}]})", "a number is out of range"},
      {R"({"inputs":[{"name":"X","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,NaN]}]})", "malformed JSON"},
      {R"({"inputs":[{"name":"X","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,Infinity]}]})", "malformed JSON"},
      {json{{"inputs", {ok}}, {"outputs", {{{"name", "proba"}}}}}.dump(), "outputs[0].name: 'proba' is not an output"},
      {json{{"inputs", {ok}}, {"id", 5}}.dump(), "id: expected a string"},
      {json{{"inputs", {ok}}, {"parameters", {{"binary_data_output", true}}}}.dump(), "binary tensor extension"},
  };
  for (const auto& bc : cases) {
    auto r = c->Post("/v2/models/forest/infer", bc.body, "application/json");
    ASSERT_TRUE(r) << bc.body;
    EXPECT_EQ(r->status, 400) << bc.body << " -> " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << r->body;
    EXPECT_NE(e["error"].get<std::string>().find(bc.field), std::string::npos) << bc.body << " -> " << r->body;
  }
  // Bad /v1 bodies.
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {"{}", "exactly one of \"rows\""},
           {R"({"rows":[[1,2,3]]})", "rows[0]: 3 values; the model expects 6"},
           {R"({"rows":[[1,2,3,4,5,"a"]]})", "rows[0][5]: expected a number"},
           {R"({"records":[{"f0":1,"f1":2,"f2":3,"f3":4,"f4":5,"f5":"a"}]})", "records[0].f5: expected a number, got string"},
           {R"({"records":[5]})", "records[0]: expected an object"}}) {
    auto r = c->Post("/v1/models/forest/score", body, "application/json");
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find(field), std::string::npos) << body << " -> " << r->body;
  }
  EXPECT_EQ(c->Get("/v2/health/live")->status, 200);  // still alive
}

TEST_F(ServeFixture, UnknownModelsRoutesIdsMethodsAndOversizedBodies) {
  auto o = serve_options(store.dir.path);
  o.max_body_bytes = 1 << 20;
  RunningServer srv(o);
  auto c = srv.client();
  const auto error_of = [](const httplib::Result& r) { return json::parse(r->body).at("error").get<std::string>(); };
  auto r = c->Post("/v2/models/nosuch/infer", infer_body(data, 0, 1), "application/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_of(r), "No saved model found for detector nosuch");
  r = c->Get("/v2/nothing/here");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(error_of(r).find("no route /v2/nothing/here"), std::string::npos);
  // Ids go through the store's validation: no path traversal through the URL, encoded or not.
  for (const std::string& path : std::vector<std::string>{"/v2/models/../infer", "/v2/models/%2e%2e/infer", "/v2/models/a%00b/infer",
                                 "/v2/models/" + std::string(65, 'a') + "/infer"}) {
    r = c->Post(path, infer_body(data, 0, 1), "application/json");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 400) << path << " " << r->body;
    EXPECT_NE(error_of(r).find("invalid detector id"), std::string::npos) << r->body;
  }
  r = c->Post("/v2/models/%2e%2e%2f%2e%2e%2fetc/infer", infer_body(data, 0, 1), "application/json");
  EXPECT_EQ(r->status, 404);  // decoded to more path segments: no route
  r = c->Get("/v2/models/forest/infer");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  EXPECT_NE(error_of(r).find("method GET is not allowed"), std::string::npos);
  r = c->Delete("/v2/models/forest");
  EXPECT_EQ(r->status, 405);
  r = c->Put("/v1/models/forest/score", "{}", "application/json");
  EXPECT_EQ(r->status, 405);
  r = c->Post("/v2/health/live", "{}", "application/json");
  EXPECT_EQ(r->status, 405);
  // Over the limit: 413 in the protocol's error shape, and the connection's next request still works.
  const std::string big(2u << 20, ' ');
  r = c->Post("/v2/models/forest/infer", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(error_of(r).find("larger than the server's limit of 1048576 bytes"), std::string::npos);
  auto c2 = srv.client();
  r = c2->Post("/v2/models/forest/infer", infer_body(data, 0, 1), "application/json");
  EXPECT_EQ(r->status, 200);
  // `curl -d` labels a body x-www-form-urlencoded: it is still read as JSON, past cpp-httplib's 8 KiB form limit.
  const std::string body = infer_body(data, 0, 300);
  ASSERT_GT(body.size(), 8192u);
  r = c2->Post("/v2/models/forest/infer", body, "application/x-www-form-urlencoded");
  EXPECT_EQ(r->status, 200) << r->body.substr(0, 200);
  EXPECT_EQ(output_floats(json::parse(r->body), "scores"), slice_scores(expected, 0, 300));
  EXPECT_EQ(c2->Get("/v2/health/ready")->status, 200);
}

TEST_F(ServeFixture, ApiKeyGuardsEveryRouteButHealth) {
  auto o = serve_options(store.dir.path);
  o.api_key = "s3cret";
  RunningServer srv(o);
  auto c = srv.client();
  EXPECT_EQ(c->Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c->Get("/v2/health/ready")->status, 200);
  for (const char* path : {"/v2", "/v2/models/forest", "/v1/models", "/metrics"}) {
    auto r = c->Get(path);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  }
  auto r = c->Post("/v2/models/forest/infer", infer_body(data, 0, 1), "application/json");
  EXPECT_EQ(r->status, 401);
  c->set_bearer_token_auth("wrong");
  EXPECT_EQ(c->Get("/v2/models/forest")->status, 401);
  c->set_bearer_token_auth("s3cret");
  EXPECT_EQ(c->Get("/v2/models/forest")->status, 200);
  r = c->Post("/v2/models/forest/infer", infer_body(data, 0, 1), "application/json");
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServeFixture, MetricsCountRoutesStatusesRowsAndLatency) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c->Post("/v2/models/forest/infer", infer_body(data, 0, 10), "application/json")->status, 200);
  ASSERT_EQ(c->Post("/v2/models/forest/infer", "{", "application/json")->status, 400);
  ASSERT_EQ(c->Get("/v2/models/nosuch")->status, 404);
  auto r = c->Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& m = r->body;
  EXPECT_NE(m.find("nomaly_requests_total{route=\"/v2/models/{id}/infer\",status=\"200\"} 3\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_requests_total{route=\"/v2/models/{id}/infer\",status=\"400\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_requests_total{route=\"/v2/models/{id}\",status=\"404\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_rows_scored_total 30\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_models_loaded 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_request_duration_seconds_bucket{route=\"/v2/models/{id}/infer\",le=\"+Inf\"} 4\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_request_duration_seconds_count{route=\"/v2/models/{id}/infer\"} 4\n"), std::string::npos) << m;
  EXPECT_NE(m.find("# TYPE nomaly_request_duration_seconds histogram"), std::string::npos);
}

TEST_F(ServeFixture, NewSavesAreServedDeletedModelsAre404AndADamagedSaveKeepsTheLastGoodModel) {
  RunningServer srv(serve_options(store.dir.path));
  auto c = srv.client();
  const auto scores = [&] {
    auto r = c->Post("/v2/models/forest/infer", infer_body(data, 0, 8), "application/json");
    EXPECT_EQ(r->status, 200) << r->body;
    return r->status == 200 ? output_floats(json::parse(r->body), "scores") : std::vector<float>{};
  };
  EXPECT_EQ(scores(), slice_scores(expected, 0, 8));
  const DetectorEntity other = iforest_entity(data, "forest", 99);
  const auto other_expected = other.model->score_samples(data.view().slice(0, 8));
  ASSERT_NE(other_expected, slice_scores(expected, 0, 8));
  store.save(other);
  EXPECT_EQ(scores(), other_expected);
  // The other format saved beside it does not change the served file: no reload.
  store.service.save_model("forest", Format::Onnx);
  EXPECT_EQ(scores(), other_expected);

  // Damage 1: the model file no longer matches metadata.json. The served file's recorded SHA-256 is unchanged,
  // so the server does not even reload (a new metadata.json inode makes it look).
  const fs::path dir = store.dir.path / "forest";
  const auto replace_metadata = [&](const std::string& content) {
    { std::ofstream(dir / "m.tmp", std::ios::binary | std::ios::trunc) << content; }
    fs::rename(dir / "m.tmp", dir / "metadata.json");
  };
  { std::ofstream(dir / "model.nomaly", std::ios::binary | std::ios::trunc) << "garbage"; }
  replace_metadata(read_bytes(dir / "metadata.json"));
  EXPECT_EQ(scores(), other_expected);
  // Damage 2: metadata.json itself is damaged: the load fails, is counted, and the last good model answers.
  replace_metadata("{\"detector_id\": \"forest\", \"files\": ");
  EXPECT_EQ(scores(), other_expected);
  const std::string m = c->Get("/metrics")->body;
  EXPECT_NE(m.find("nomaly_model_load_failures_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nomaly_model_reloads_total 1\n"), std::string::npos) << m;

  ASSERT_TRUE(store.service.delete_model("forest"));
  auto r = c->Post("/v2/models/forest/infer", infer_body(data, 0, 8), "application/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(c->Get("/v2/models/forest/ready")->status, 404);
  store.save(model);
  EXPECT_EQ(scores(), slice_scores(expected, 0, 8));
}

// A port another server listens on is refused (usage error naming the address), never shared: cpp-httplib's default
// SO_REUSEPORT let a second `nomaly serve` bind it and take half of the first one's connections.
TEST_F(ServeFixture, APortInUseIsRefusedNotShared) {
  RunningServer first(serve_options(store.dir.path));
  serve::ServerOptions o = serve_options(store.dir.path);
  o.host = "127.0.0.1";
  o.port = first.server.port();
  serve::Server second(o);
  try {
    second.bind();
    FAIL() << "a second server bound the port " << o.port << " of a running one";
  } catch (const nomaly::Error& e) {
    EXPECT_EQ(e.exit_code(), ExitCode::Usage);
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(o.port)), std::string::npos) << e.what();
  }
  auto c = first.client();
  const auto res = c->Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// Break test: `--api-key ''` (an unset $KEY in --api-key "$KEY") served every model without authentication.
TEST_F(ServeFixture, AnEmptyApiKeyIsAUsageErrorNotAnOpenServer) {
  const std::string st = "--store '" + store.dir.path.string() + "' --port 0";
  // timeout: were the key accepted, the server would run until killed.
  CliResult r = run_cli("serve " + st + " --api-key ''", "timeout 20");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--api-key is empty"), std::string::npos) << r.err;
  r = run_cli("serve " + st, "NOMALY_API_KEY= timeout 20");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("NOMALY_API_KEY is set but empty"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nomaly::test
