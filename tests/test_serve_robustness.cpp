// `nomaly serve` against clients that break HTTP's rules (docs/robustness.md rows S01-S06): bodies over the limit
// declared up front, POSTs without a length, stalled and idle connections with fewer workers than clients, and a
// break-test of odd JSON and odd requests. Raw sockets send exactly the bytes a test needs; every server runs on
// 127.0.0.1 with an ephemeral port. A client gives up after 20 s: where a server read timeout is set to 60 s, an
// answer at all proves the server did not wait for the body or the timeout.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "test_serve_util.hpp"

namespace nomaly::test {
namespace {

/// One raw TCP connection to the server.
struct RawConn {
  int fd = -1;
  explicit RawConn(int port, int timeout_s = 20) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect to port " << port;
  }
  ~RawConn() { ::close(fd); }
  void send(const std::string& s) const { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
  /// Everything the server sends until it closes; `closed` false when the client timeout came first.
  std::string read_all(bool* closed = nullptr) const {
    std::string out;
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = n == 0 || errno == ECONNRESET;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
};

/// Status code of a raw response ("HTTP/1.1 413 ..." -> 413), 0 when there is none.
int status_of(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(response.c_str() + 9) : 0;
}

/// The "error" text of a raw response's JSON body.
std::string error_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  if (at == std::string::npos) return "";
  const json j = json::parse(response.substr(at + 4), nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
}

/// Sends `request` on a new connection and reads until the server closes it (the test fails when it does not).
std::string round_trip(int port, const std::string& request) {
  RawConn c(port);
  c.send(request);
  bool closed = false;
  const std::string r = c.read_all(&closed);
  EXPECT_TRUE(closed) << "the server kept the connection open after: " << r.substr(0, 200);
  return r;
}

struct ServeRobustness : ::testing::Test {
  ServeStore store;
  Dataset data = synthetic(300, 6, 10, 3);
  DetectorEntity model = iforest_entity(data, "forest");
  std::vector<float> expected = model.model->score_samples(data.view());
  void SetUp() override { store.save(model); }
  serve::ServerOptions options(double read_timeout = 60) const {
    auto o = serve_options(store.dir.path);
    o.max_body_bytes = 1 << 20;
    o.read_timeout = read_timeout;
    return o;
  }
};

const std::string kInfer = "POST /v2/models/forest/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

TEST_F(ServeRobustness, DeclaredBodyOverTheLimitIs413BeforeTheBodyIsSent) {
  RunningServer srv(options());
  const int port = srv.server.port();
  // Only the headers are sent: the answer comes without the body and without waiting for the 60 s read timeout.
  for (const std::string& extra : {std::string(), std::string("Expect: 100-continue\r\n")}) {
    const std::string r = round_trip(port, kInfer + extra + "Content-Length: 1000000000\r\n\r\n");
    EXPECT_EQ(status_of(r), 413) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_EQ(r.find("100 Continue"), std::string::npos) << r;
    EXPECT_EQ(error_of(r), "request body is larger than the server's limit of 1048576 bytes (--max-body-mb)");
  }
  // A chunked body, which declares no length, is cut when it passes the limit.
  std::string chunked = kInfer + "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 17; ++i) chunked += "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 17 x 64 KiB
  chunked += "0\r\n\r\n";
  std::string r = round_trip(port, chunked);
  EXPECT_EQ(status_of(r), 413) << r.substr(0, 300);
  // A gzip body of 4 KiB that expands to 4 MiB: the limit applies to what it expands to.
  auto c = srv.client();
  c->set_compress(true);
  auto res = c->Post("/v2/models/forest/infer", std::string(4u << 20, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // A compressed body within the limit is scored as usual.
  auto c2 = srv.client();
  c2->set_compress(true);
  res = c2->Post("/v2/models/forest/infer", infer_body(data, 0, 20), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(output_floats(json::parse(res->body), "scores"), slice_scores(expected, 0, 20));
  const std::string m = srv.client()->Get("/metrics")->body;
  EXPECT_NE(m.find("nomaly_requests_total{route=\"/v2/models/{id}/infer\",status=\"413\"} 4\n"), std::string::npos) << m;
}

TEST_F(ServeRobustness, PostWithoutContentLengthIs411AndOtherFramingsAnswerAtOnce) {
  RunningServer srv(options());
  const int port = srv.server.port();
  for (const std::string version : {"HTTP/1.1", "HTTP/1.0"}) {
    const std::string r = round_trip(port, "POST /v2/models/forest/infer " + version + "\r\nHost: x\r\n\r\n{\"inputs\": []}");
    EXPECT_EQ(status_of(r), 411) << r;
    EXPECT_NE(error_of(r).find("Content-Length required"), std::string::npos) << r;
  }
  // A DELETE without a length has no body (RFC 9112): answered at once, not read until the client closes.
  RawConn del(port);
  del.send("DELETE /v2/models/forest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r = del.read_all();
  EXPECT_EQ(status_of(r), 405) << r;
  const std::vector<std::pair<std::string, int>> framings = {
      {"Transfer-Encoding: gzip\r\n\r\n{}", 501},
      {"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400},
      {"Content-Length: abc\r\n\r\n{}", 400},
      {"Content-Length: -1\r\n\r\n{}", 400},
      {"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
      {"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400},
  };
  for (const auto& [rest, status] : framings) {
    r = round_trip(port, kInfer + rest);
    EXPECT_EQ(status_of(r), status) << rest << " -> " << r;
    EXPECT_FALSE(error_of(r).empty()) << r;
  }
  // A well-formed chunked body is read and scored.
  const std::string body = infer_body(data, 0, 5);
  std::ostringstream hex;
  hex << std::hex << body.size();
  RawConn ok(port);
  ok.send(kInfer + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + hex.str() + "\r\n" + body + "\r\n0\r\n\r\n");
  r = ok.read_all();
  ASSERT_EQ(status_of(r), 200) << r;
  EXPECT_EQ(output_floats(json::parse(r.substr(r.find("\r\n\r\n") + 4)), "scores"), slice_scores(expected, 0, 5));
}

TEST_F(ServeRobustness, StalledClientsAreCutAtTheReadTimeoutAndHealthAnswers) {
  auto o = options(1.0);
  o.threads = 2;
  RunningServer srv(o);
  const int port = srv.server.port();
  // Five stalled clients for two workers: a partial body, a partial header block, a partial request line, and
  // two that send nothing.
  std::vector<std::unique_ptr<RawConn>> stalled;
  for (const std::string& part : {kInfer + "Content-Length: 100\r\n\r\n{\"inputs\"", kInfer + "Content-Length: 100\r\n",
                                  std::string("GET /v2/hea"), std::string(), std::string()}) {
    stalled.push_back(std::make_unique<RawConn>(port));
    if (!part.empty()) stalled.back()->send(part);
  }
  httplib::Client health("127.0.0.1", port);
  health.set_read_timeout(20, 0);
  const auto res = health.Get("/v2/health/ready");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // Every stalled connection was dropped: the partial requests with a 408, the silent ones closed.
  for (std::size_t i = 0; i < stalled.size(); ++i) {
    bool closed = false;
    const std::string r = stalled[i]->read_all(&closed);
    EXPECT_TRUE(closed) << "stalled connection " << i << " still open";
    if (i < 3) {
      EXPECT_EQ(status_of(r), 408) << i << ": " << r;
      EXPECT_EQ(error_of(r), "request not received in time: the server waits 1 s for a whole request (--read-timeout)");
    } else {
      EXPECT_EQ(r, "") << i;
    }
  }
  EXPECT_EQ(srv.client()->Get("/v2/health/live")->status, 200);
}

TEST_F(ServeRobustness, IdleKeepAliveConnectionsGiveTheirWorkerToNewClients) {
  auto o = options();
  o.threads = 1;
  o.keep_alive = 60;  // without giving way, the second client would wait 60 s (its own timeout is 20 s)
  RunningServer srv(o);
  const int port = srv.server.port();
  auto idle = srv.client();
  ASSERT_EQ(idle->Get("/v2/health/live")->status, 200);  // its connection stays open, holding the one worker
  // Connections that send nothing hold no worker either while someone waits.
  RawConn silent1(port), silent2(port);
  httplib::Client next("127.0.0.1", port);
  next.set_read_timeout(20, 0);
  auto res = next.Post("/v2/models/forest/infer", infer_body(data, 0, 3), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(output_floats(json::parse(res->body), "scores"), slice_scores(expected, 0, 3));
  // The client whose idle connection was closed reconnects on its next request.
  res = idle->Get("/v2/health/ready");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServeRobustness, BreakTestOddJsonAndOddRequestsAreAnsweredNeverCrash) {
  auto o = options();
  o.max_body_bytes = 16 << 20;
  RunningServer srv(o);
  const int port = srv.server.port();
  auto c = srv.client();
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string ok_x = R"({"name":"X","datatype":"FP32","shape":[1,6],"data":[1,2,3,4,5,6]})";
  // Nested 100,000 levels deep anywhere (an error message that dumped the shape overflowed the stack): 400.
  for (const std::string& body :
       {deep, R"({"inputs":[{"name":"X","datatype":"FP32","shape":)" + deep + R"(,"data":[1]}]})",
        R"({"inputs":[{"name":"X","datatype":"FP32","shape":[1,6],"data":)" + deep + "}]}",
        R"({"id":)" + deep + R"(,"inputs":[)" + ok_x + "]}"}) {
    auto r = c->Post("/v2/models/forest/infer", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(json::parse(r->body)["error"], "request body: JSON nested deeper than 32 levels (a request needs 5)");
  }
  auto r = c->Post("/v1/models/forest/score", "{\"rows\":" + deep + "}", "application/json");
  EXPECT_EQ(r->status, 400);
  // A shape with a million entries: 400, and the message quotes only its start.
  json shape = json::array();
  for (int i = 0; i < 1000000; ++i) shape.push_back(1);
  r = c->Post("/v2/models/forest/infer",
              json{{"inputs", {{{"name", "X"}, {"datatype", "FP32"}, {"shape", shape}, {"data", {1}}}}}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_LT(r->body.size(), 300u);
  EXPECT_NE(r->body.find("expected [n, d] (2 dimensions), got [1,1,1,"), std::string::npos) << r->body;
  // Numbers past int64 / double, duplicate keys (the last one counts), bools: 400 or a normal answer.
  for (const auto& [body, status] : std::vector<std::pair<std::string, int>>{
           {R"({"inputs":[{"name":"X","datatype":"FP32","shape":[)" + std::string(400, '9') + R"(,6],"data":[1]}]})", 400},
           {R"({"inputs":[{"name":"X","datatype":"FP32","shape":[18446744073709551615,6],"data":[1]}]})", 400},
           {R"({"inputs":[{"name":"X","datatype":"FP32","shape":[9223372036854775807,6],"data":[1]}]})", 400},
           {R"({"inputs":[{"name":"X","datatype":"FP32","shape":[1,6],"data":[true,false,1,2,3,4]}]})", 400},
           {R"({"inputs":[{"name":"Y","name":"X","datatype":"FP32","shape":[1,6],"data":[1,2,3,4,5,6]}]})", 200},
           {R"({"inputs":[]})", 400}}) {
    r = c->Post("/v2/models/forest/infer", body, "application/json");
    EXPECT_EQ(r->status, status) << body.substr(0, 100) << " -> " << r->body;
  }
  // Records with thousands of field names the model does not have: dropped before a matrix is built.
  json recs = json::array();
  for (std::size_t i = 0; i < 50; ++i) {
    json rec = json::object();
    for (std::size_t j = 0; j < data.cols; ++j) rec[data.feature_names[j]] = data.X[i * data.cols + j];
    for (int k = 0; k < 2000; ++k) rec["extra_" + std::to_string(i) + "_" + std::to_string(k)] = k;
    recs.push_back(rec);
  }
  r = c->Post("/v1/models/forest/score", json{{"records", recs}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 200);
  EXPECT_EQ(json::parse(r->body)["scores"].get<std::vector<float>>(), slice_scores(expected, 0, 50));
  // HEAD answers the GET's headers without a body; OPTIONS and TRACE are 405 with Allow.
  r = c->Head("/v2/health/live");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  r = c->Options("/v2/models/forest/infer");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  std::string raw = round_trip(port, "TRACE /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(raw), 405) << raw;
  // Very long URLs and header blocks, a garbage request line, a Range header.
  raw = round_trip(port, "GET /v2/models/" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(raw), 414) << raw.substr(0, 200);
  raw = round_trip(port, "GET /v2/models/" + std::string(100000, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(raw), 431) << raw.substr(0, 200);
  std::string many = "GET /v2 HTTP/1.1\r\n";
  for (int i = 0; i < 20000; ++i) many += "X-A: b\r\n";
  raw = round_trip(port, many + "\r\n");
  EXPECT_EQ(status_of(raw), 431) << raw.substr(0, 200);
  EXPECT_EQ(error_of(raw), "request line and headers are larger than 65536 bytes");
  raw = round_trip(port, "GARBAGE\r\n\r\n");
  EXPECT_EQ(status_of(raw), 400) << raw;
  EXPECT_EQ(error_of(raw), "malformed HTTP request");
  RawConn range(port);
  range.send("GET /v2 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n");
  raw = range.read_all();
  EXPECT_EQ(status_of(raw), 200) << raw;
  EXPECT_EQ(json::parse(raw.substr(raw.find("\r\n\r\n") + 4))["name"], "nomaly");  // the whole JSON, not 2 bytes
  EXPECT_EQ(c->Get("/v2/health/ready")->status, 200);
}

}  // namespace
}  // namespace nomaly::test
