// `nomaly serve`: an HTTP scoring service over the model store that speaks the Open Inference Protocol v2
// (KServe v2 / Triton REST), so clients written for those servers work unchanged.
//
// Routes (docs/serving.md has request/response examples):
//   GET  /v2/health/live, /v2/health/ready              200 {"live"|"ready": true}; never need the API key
//   GET  /v2                                            server metadata {"name","version","extensions"}
//   GET  /v2/models/{id}[/versions/{v}]                 model metadata: inputs X FP32 [-1,d], outputs scores/label
//   GET  /v2/models/{id}[/versions/{v}]/ready           200 {"name","ready":true}
//   POST /v2/models/{id}[/versions/{v}]/infer           v2 inference (see protocol.hpp)
//   GET  /v1/models                                     the store listing (`nomaly list --json`)
//   POST /v1/models/{id}/score                          {"rows": ...} or {"records": ...} -> scores, labels, threshold
//   GET  /metrics                                       Prometheus text (metrics.hpp)
// Errors are {"error": "..."}: 400 bad input (naming the field), 401 missing/wrong bearer token, 404 unknown
// model or route, 405 wrong method (with Allow), 408 request not received within read_timeout, 411 POST without
// Content-Length, 413 body over max_body_bytes (a declared Content-Length is refused before the body is read),
// 431 headers over 64 KiB, 500 model errors, 501 a Transfer-Encoding other than chunked. After a 408/411/413/431
// the connection is closed without reading the rest. Every request runs inside a catch-all: no request can stop
// the process.
//
// Threads: one HTTP worker per open connection (cpp-httplib's pool, `threads` workers), keep-alive on,
// TCP_NODELAY on. An idle keep-alive connection gives its worker up after 2 s, or after 20 ms when a new client
// waits for a worker. Models are scored on the worker thread; ONNX sessions get `onnx_threads` intra-op threads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "nomaly/persistence/service.hpp"

namespace nomaly::serve {

struct ServerOptions {
  std::filesystem::path store = "./nomaly-store";
  std::string host = "127.0.0.1";  ///< binding another address is the caller's explicit choice
  int port = 8080;                 ///< 0 = an ephemeral port (see Server::port())
  int threads = 0;                 ///< HTTP worker threads; 0 = max(16, 4 x cores)
  Format format = Format::Native;  ///< which saved file to serve
  std::size_t max_body_bytes = 64u << 20;
  std::string api_key;             ///< non-empty: `Authorization: Bearer <key>` on every route but health
  int onnx_threads = 1;            ///< ONNX Runtime intra-op threads per session (requests run in parallel)
  /// Seconds a client has to send a whole request (request line, headers and body) from its first byte; a new
  /// connection that sends nothing is closed after it. A late request is answered 408 and its connection closed.
  double read_timeout = 5.0;
  /// Seconds an idle keep-alive connection waits for its next request; it gives its worker up after 20 ms of
  /// silence instead when a new client waits for a worker.
  double keep_alive = 2.0;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  ///< stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port and returns the bound port. Throws nomaly::Error (usage) naming the address when it
  /// cannot be bound (in use, not permitted, not an address).
  int bind();
  /// Serves until stop() (binds first when bind() was not called). Returns after in-flight requests finished.
  void run();
  /// bind() + run() on a background thread; returns once the server accepts connections.
  void start();
  /// Stops accepting; in-flight requests finish, then run() returns. Safe from any thread, idempotent.
  void stop();

  int port() const;
  /// "http://host:port".
  std::string url() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nomaly::serve
