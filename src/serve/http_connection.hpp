// The connection layer of `nomaly serve` (internal): cpp-httplib parses requests and writes responses, but its
// own socket loop (Debian's 0.11.4) has three gaps a client can use to stall the server:
//   - a Content-Length over the body limit is answered 413 only after the server read and dropped the whole body;
//   - a POST without Content-Length (and not chunked) is read until the client closes;
//   - its read timeout restarts on every byte, and an idle keep-alive connection holds its worker for the whole
//     keep-alive timeout even while new clients wait for a worker.
// HttpServer replaces only that loop (cpp-httplib's virtual process_and_close_socket) with one that bounds each
// request by a deadline, closes a connection after a refusal without reading the rest, and gives the worker of
// an idle keep-alive connection to a waiting client. Parsing stays cpp-httplib's (process_request).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace nomaly::serve::detail {

struct ConnectionLimits {
  /// A request (request line, headers and body) must arrive within this time of its first byte; a new
  /// connection that sends nothing is closed after it too.
  std::chrono::milliseconds read_timeout{5000};
  /// How long an idle keep-alive connection waits for its next request (less when a new client waits).
  std::chrono::milliseconds keep_alive{2000};
  /// Request line and headers together; more is refused with 431 (cpp-httplib does not bound the header count).
  std::size_t max_header_bytes = 64 << 10;
};

/// What the request being served on this thread tells its connection (see current_connection()).
struct ConnectionState {
  bool close_after = false;        ///< close after this response: the rest of the request was not read
  bool timed_out = false;          ///< the request did not arrive within read_timeout
  bool headers_too_large = false;  ///< request line + headers exceeded max_header_bytes
  bool in_headers = true;          ///< set false by the handlers once the headers were parsed
};

/// The state of the connection this thread serves; nullptr outside a request.
ConnectionState* current_connection();

/// The error messages of the two connection limits (one text for every place that answers them).
std::string timeout_message(const ConnectionLimits& limits);
std::string headers_too_large_message(const ConnectionLimits& limits);

class HttpServer : public httplib::Server {
 public:
  /// `workers` HTTP worker threads; limits as above.
  HttpServer(std::size_t workers, ConnectionLimits limits);
  int socket_fd() const { return svr_sock_; }
  /// Accepted connections that no worker has picked up yet.
  int waiting() const { return waiting_.load(); }
  const ConnectionLimits& limits() const { return limits_; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  ConnectionLimits limits_;
  std::atomic<int> waiting_{0};
};

}  // namespace nomaly::serve::detail
