// The `nomaly serve` codec and metrics without a network: Open Inference Protocol v2 bodies in and out.
#include <cmath>
#include <limits>
#include <random>

#include "nomaly/params.hpp"
#include "nomaly/serve/metrics.hpp"
#include "nomaly/serve/protocol.hpp"
#include "test_util.hpp"

namespace nomaly::serve {
namespace {

TEST(ServeProtocol, FloatsAreWrittenShortestAndReadBackExactly) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 20000; ++i) {
    std::uint32_t b = bits(rng);
    float f;
    std::memcpy(&f, &b, 4);
    if (!std::isfinite(f)) continue;
    std::string s;
    append_float(s, f);
    EXPECT_EQ(json::parse(s).get<float>(), f) << s;
  }
  std::string s;
  append_float(s, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(s, "null");
}

TEST(ServeProtocol, FlatAndNestedDataDecodeToTheSameRowMajorMatrix) {
  const std::string flat = R"({"id":"a","inputs":[{"name":"X","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6.5]}]})";
  const std::string nested = R"({"inputs":[{"name":"X","shape":[2,3],"datatype":"FP64","data":[[1,2,3],[4,5,6.5]]}],
                                 "outputs":[{"name":"label"}]})";
  const InferRequest a = parse_infer_request(flat, 3, "m"), b = parse_infer_request(nested, 3, "m");
  EXPECT_EQ(a.X, (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.rows, 2u);
  EXPECT_EQ(a.cols, 3u);
  EXPECT_TRUE(a.has_id && a.id == "a");
  EXPECT_FALSE(b.has_id);
  EXPECT_TRUE(a.want_scores && a.want_label);
  EXPECT_TRUE(!b.want_scores && b.want_label);
  // FP64 values are rounded to float32; beyond float32's range they are refused.
  const auto r = parse_infer_request(R"({"inputs":[{"name":"X","shape":[1,1],"datatype":"FP64","data":[0.1]}]})", 1, "m");
  EXPECT_EQ(r.X[0], 0.1f);
  try {
    parse_infer_request(R"({"inputs":[{"name":"X","shape":[1,1],"datatype":"FP64","data":[-1e300]}]})", 1, "m");
    FAIL();
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("inputs[0].data[0]: non-finite value"), std::string::npos) << e.what();
  }
}

TEST(ServeProtocol, ResponsesFollowTheV2Shape) {
  InferRequest req;
  req.id = "q\"1";
  req.has_id = true;
  ScoreResult res{{0.25f, 0.75f}, {0, 1}};
  const json j = json::parse(encode_infer_response("m", "v1", req, res));
  EXPECT_EQ(j, json::parse(R"({"model_name":"m","model_version":"v1","id":"q\"1","outputs":[
      {"name":"scores","shape":[2],"datatype":"FP32","data":[0.25,0.75]},
      {"name":"label","shape":[2],"datatype":"INT64","data":[0,1]}]})"));
  const json s = json::parse(encode_score_response("m", "v1", 0.5f, res));
  EXPECT_EQ(s, json::parse(R"({"model_name":"m","model_version":"v1","threshold":0.5,"scores":[0.25,0.75],"labels":[0,1]})"));
  EXPECT_EQ(json::parse(error_body("bad \xff byte"))["error"].get<std::string>().substr(0, 4), "bad ");
}

TEST(ServeProtocol, MetricsRenderPrometheusText) {
  Metrics m;
  m.observe(Route::Infer, 200, 0.0003);
  m.observe(Route::Infer, 200, 0.003);
  m.observe(Route::Infer, 400, 0.00005);
  m.observe(Route::Other, 1000, 0.1);  // out-of-range status counted as 599
  m.add_rows_scored(7);
  const std::string t = m.render(2, 3, 1);
  EXPECT_NE(t.find("nomaly_requests_total{route=\"/v2/models/{id}/infer\",status=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_requests_total{route=\"other\",status=\"599\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_request_duration_seconds_bucket{route=\"/v2/models/{id}/infer\",le=\"0.0001\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_request_duration_seconds_bucket{route=\"/v2/models/{id}/infer\",le=\"0.0005\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_request_duration_seconds_bucket{route=\"/v2/models/{id}/infer\",le=\"0.005\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_request_duration_seconds_count{route=\"/v2/models/{id}/infer\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("nomaly_rows_scored_total 7\n"), std::string::npos);
  EXPECT_NE(t.find("nomaly_models_loaded 2\n"), std::string::npos);
  EXPECT_NE(t.find("nomaly_model_reloads_total 3\n"), std::string::npos);
  EXPECT_NE(t.find("nomaly_model_load_failures_total 1\n"), std::string::npos);
  EXPECT_EQ(m.requests(Route::Infer, 400), 1u);
}

}  // namespace
}  // namespace nomaly::serve
