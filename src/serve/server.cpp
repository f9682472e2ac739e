// Routes of `nomaly serve` (server.hpp). Routing is done here, not by cpp-httplib's regex table: every method
// on every path reaches dispatch(), which answers 404/405 itself and counts every request in the metrics.
#include "nomaly/serve/server.hpp"

#include <signal.h>
#include <strings.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "nomaly/errors.hpp"
#include "nomaly/serve/metrics.hpp"
#include "nomaly/serve/model_cache.hpp"
#include "nomaly/serve/protocol.hpp"
#include "http_connection.hpp"

namespace nomaly::serve {

namespace {

struct Target {
  Route route = Route::Other;
  std::string id, version;
  bool versioned = false;
};

/// Splits the decoded path into segments and matches the route templates.
Target match(const std::string& path) {
  std::vector<std::string_view> seg;
  std::string_view p(path);
  if (p.empty() || p[0] != '/') return {};
  std::size_t pos = 1;
  while (pos <= p.size()) {
    const std::size_t next = std::min(p.find('/', pos), p.size());
    seg.push_back(p.substr(pos, next - pos));
    pos = next + 1;
  }
  Target t;
  const std::size_t n = seg.size();
  if (n == 1 && seg[0] == "metrics") t.route = Route::Metrics;
  else if (n == 1 && seg[0] == "v2") t.route = Route::Server;
  else if (n == 3 && seg[0] == "v2" && seg[1] == "health" && seg[2] == "live") t.route = Route::Live;
  else if (n == 3 && seg[0] == "v2" && seg[1] == "health" && seg[2] == "ready") t.route = Route::Ready;
  else if (n == 2 && seg[0] == "v1" && seg[1] == "models") t.route = Route::ListModels;
  else if (n == 4 && seg[0] == "v1" && seg[1] == "models" && seg[3] == "score") {
    t.route = Route::Score;
    t.id = seg[2];
  } else if (n >= 3 && seg[0] == "v2" && seg[1] == "models") {
    t.id = seg[2];
    std::size_t k = 3;
    if (n >= 5 && seg[3] == "versions") {
      t.versioned = true;
      t.version = seg[4];
      k = 5;
    }
    if (n == k) t.route = Route::Model;
    else if (n == k + 1 && seg[k] == "ready") t.route = Route::ModelReady;
    else if (n == k + 1 && seg[k] == "infer") t.route = Route::Infer;
  }
  return t;
}

bool is_post_route(Route r) { return r == Route::Infer || r == Route::Score; }

/// Constant-time comparison, so the key cannot be guessed byte by byte from response times.
bool same_key(const std::string& given, const std::string& key) {
  std::size_t diff = given.size() ^ key.size();
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(i < key.size() ? key[i] : 0);
  return diff == 0;
}

void reply(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.set_header("Content-Type", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, error_body(message));
}

/// Methods whose body cpp-httplib reads (through the content-reader handlers below); every other method is
/// answered before any body is read.
bool reads_body(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string too_large(std::size_t max_body) {
  return "request body is larger than the server's limit of " + std::to_string(max_body) + " bytes (--max-body-mb)";
}

/// A refusal decided from the request line and headers alone, before any of the body is read.
struct Refusal {
  int status = 0;
  std::string message;
};

/// Body framing checks (RFC 9112 section 6): a declared length over the limit is refused at once (413), a POST
/// to a scoring route without a length is 411 (cpp-httplib would read it until the client closes), and framings
/// that cpp-httplib would misread are refused rather than guessed.
Refusal check_framing(const httplib::Request& req, std::size_t max_body, bool post_route) {
  const std::size_t n_length = req.get_header_value_count("Content-Length");
  if (req.has_header("Transfer-Encoding")) {
    const std::string te = req.get_header_value("Transfer-Encoding");
    if (req.get_header_value_count("Transfer-Encoding") != 1 || ::strcasecmp(te.c_str(), "chunked") != 0)
      return {501, "Transfer-Encoding '" + te.substr(0, 64) + "' is not supported (send Content-Length, or Transfer-Encoding: chunked)"};
    if (n_length) return {400, "a request with both Content-Length and Transfer-Encoding is refused (send one of them)"};
    return {};
  }
  if (n_length == 0)
    return post_route && req.method == "POST"
               ? Refusal{411, "Content-Length required: send the body with a Content-Length header (or Transfer-Encoding: chunked)"}
               : Refusal{};
  const std::string v = req.get_header_value("Content-Length");
  for (std::size_t i = 1; i < n_length; ++i)
    if (req.get_header_value("Content-Length", i) != v) return {400, "Content-Length: the request has conflicting values"};
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    return {400, "Content-Length: '" + v.substr(0, 32) + "' is not a byte count"};
  if (std::stoull(v) > max_body) return {413, too_large(max_body)};
  return {};
}

/// Answer, then close the connection: the rest of the request (its body) is not read. cpp-httplib answers with
/// "Connection: close" when the request carries it (its request object is a non-const local: writable).
void close_after(const httplib::Request& req) {
  if (auto* c = detail::current_connection()) c->close_after = true;
  auto& r = const_cast<httplib::Request&>(req);
  r.headers.erase("Connection");
  r.headers.emplace("Connection", "close");
}

detail::ConnectionLimits limits_of(const ServerOptions& o) {
  detail::ConnectionLimits l;
  l.read_timeout = std::chrono::milliseconds(std::max<long long>(1, std::llround(o.read_timeout * 1000)));
  l.keep_alive = std::chrono::milliseconds(std::max<long long>(1, std::llround(o.keep_alive * 1000)));
  return l;
}

std::size_t workers_of(const ServerOptions& o) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return o.threads > 0 ? static_cast<std::size_t>(o.threads) : std::max(16u, 4 * cores);
}

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  ModelCache cache;
  Metrics metrics;
  detail::HttpServer http;
  std::thread thread;
  int port = -1;
  bool bound = false;
  std::atomic<bool> stopping{false}, in_run{false}, stop_sent{false};

  explicit Impl(ServerOptions o)
      : opt(std::move(o)),
        cache(opt.store, opt.format, OnnxOptions{opt.onnx_threads, 0}),
        http(workers_of(opt), limits_of(opt)) {
    configure();
  }

  void configure() {
    // cpp-httplib's default sets SO_REUSEPORT, which lets a second server bind a port that is in use and take half
    // of its connections. SO_REUSEADDR alone still allows a quick restart (TIME_WAIT) but refuses a live listener.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.set_tcp_nodelay(true);  // a response is written in two sends; Nagle would hold the second one back
    http.set_payload_max_length(opt.max_body_bytes);
    // A client sending "Expect: 100-continue" hears a refusal before it sends the body.
    http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (auto* c = detail::current_connection()) c->in_headers = false;
      const Target t = match(req.path);
      const Refusal f = check_framing(req, opt.max_body_bytes, is_post_route(t.route));
      if (!f.status) return 100;
      refuse(req, res, t.route, f);
      res.set_header("Content-Length", std::to_string(res.body.size()));  // cpp-httplib's early answer omits it
      return f.status;
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (auto* c = detail::current_connection()) c->in_headers = false;
      const Target t = match(req.path);
      if (const Refusal f = check_framing(req, opt.max_body_bytes, is_post_route(t.route)); f.status) {
        refuse(req, res, t.route, f);
        return httplib::Server::HandlerResponse::Handled;
      }
      // Byte ranges make no sense for API answers (cpp-httplib would cut the JSON): always the whole response.
      auto& r = const_cast<httplib::Request&>(req);
      r.ranges.clear();
      const bool framed = req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
      if (!reads_body(req.method) || !framed) {
        // No body to read (or one cpp-httplib would not read for this method, e.g. a GET with a body): answer now;
        // without a length cpp-httplib would read a DELETE's body until the client closes.
        if (framed) close_after(req);
        dispatch(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      // Bodies are JSON whatever the client calls them (`curl -d` says x-www-form-urlencoded; a multipart type
      // would send them to cpp-httplib's multipart parser). The request is cpp-httplib's non-const local.
      r.headers.erase("Content-Type");
      r.headers.emplace("Content-Type", "application/json");
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // The body is read here, not by cpp-httplib's default reader, to bound what a chunked or compressed
    // (Content-Encoding: gzip, deflate, br) body expands to: the limit applies to the bytes the handler gets.
    const auto with_body = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
      std::string body;
      if (req.has_header("Content-Length")) body.reserve(req.get_header_value<std::uint64_t>("Content-Length"));
      bool over = false;
      const bool ok = read([&](const char* data, std::size_t n) {
        if (n > opt.max_body_bytes - body.size()) {
          over = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
      if (!ok) {
        const auto* c = detail::current_connection();
        refuse(req, res, match(req.path).route,
               over                   ? Refusal{413, too_large(opt.max_body_bytes)}
               : c && c->timed_out    ? Refusal{408, timeout_message()}
                                      : Refusal{400, "request body: not readable (broken chunked framing or Content-Encoding, "
                                                     "or the client closed the connection)"});
        return;
      }
      const_cast<httplib::Request&>(req).body = std::move(body);
      dispatch(req, res);
    };
    http.Post(".*", with_body);
    http.Put(".*", with_body);
    http.Patch(".*", with_body);
    http.Delete(".*", with_body);
    // cpp-httplib's own refusals (a request it could not parse, a URI over 8 KiB, a read past the deadline): the
    // protocol's error shape, and the connection is closed (its stream position is unknown).
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // dispatch() wrote it
      const auto* c = detail::current_connection();
      Refusal f{res.status, "HTTP " + std::to_string(res.status)};
      if (c && c->timed_out) f = {408, timeout_message()};
      else if (c && c->headers_too_large) f = {431, detail::headers_too_large_message(http.limits())};
      else if (res.status == 414) f.message = "request URI is longer than 8192 bytes";
      else if (res.status == 413) f.message = too_large(opt.max_body_bytes);
      else if (res.status == 415) f.message = "Content-Encoding '" + req.get_header_value("Content-Encoding").substr(0, 64) + "' is not supported";
      else if (res.status == 400) f.message = "malformed HTTP request";
      refuse(req, res, match(req.path).route, f);
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      reply_error(res, 500, "internal error");
    });
  }

  std::string timeout_message() const { return detail::timeout_message(http.limits()); }

  /// A refusal before dispatch: the error body, "Connection: close", and the metrics.
  void refuse(const httplib::Request& req, httplib::Response& res, Route route, const Refusal& f) {
    reply_error(res, f.status, f.message);
    close_after(req);
    metrics.observe(route, f.status, 0.0);
  }

  void dispatch(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    const Target t = match(req.path);
    try {
      handle(t, req, res);
    } catch (const HttpError& e) {
      reply_error(res, e.status(), e.what());
    } catch (const InvalidDetectorId& e) {
      reply_error(res, 400, e.what());
    } catch (const NoSavedModel& e) {
      reply_error(res, 404, e.what());
    } catch (const DetectorNotFound& e) {
      reply_error(res, 404, e.what());
    } catch (const DataError& e) {
      reply_error(res, 400, e.what());
    } catch (const Error& e) {
      reply_error(res, 500, std::string("model error: ") + e.what());
    } catch (const std::bad_alloc&) {
      reply_error(res, 500, "out of memory while answering the request");
    } catch (const std::exception& e) {
      const std::string what = e.what();
      reply_error(res, 500, "internal error: " + what.substr(0, what.find('\n')));
    } catch (...) {
      reply_error(res, 500, "internal error");
    }
    metrics.observe(t.route, res.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  void handle(const Target& t, const httplib::Request& req, httplib::Response& res) {
    if (t.route == Route::Other) throw HttpError(404, "no route " + req.path + " (see GET /v2 and docs/serving.md)");
    const bool health = t.route == Route::Live || t.route == Route::Ready;
    if (!health && !opt.api_key.empty()) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (auth.compare(0, prefix.size(), prefix) != 0 || !same_key(auth.substr(prefix.size()), opt.api_key)) {
        res.set_header("WWW-Authenticate", "Bearer");
        throw HttpError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'");
      }
    }
    const bool post = is_post_route(t.route);
    const bool method_ok = post ? req.method == "POST" : (req.method == "GET" || req.method == "HEAD");
    if (!method_ok) {
      res.set_header("Allow", post ? "POST" : "GET, HEAD");
      throw HttpError(405, "method " + req.method + " is not allowed on " + route_name(t.route) + " (use " +
                               (post ? "POST" : "GET") + ")");
    }
    switch (t.route) {
      case Route::Live: return reply(res, 200, "{\"live\":true}");
      case Route::Ready: return reply(res, 200, "{\"ready\":true}");
      case Route::Server:
        return reply(res, 200, json{{"name", "nomaly"}, {"version", NOMALY_VERSION}, {"extensions", json::array()}}.dump());
      case Route::Metrics:
        res.status = 200;
        res.body = metrics.render(cache.loaded(), cache.reloads(), cache.load_failures());
        res.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        return;
      case Route::ListModels: {
        json out = json::object();
        for (const auto& [id, m] : cache.list()) out[id] = m;
        return reply(res, 200, out.dump());
      }
      default: break;
    }
    const auto m = model(t);
    switch (t.route) {
      case Route::Model: return reply(res, 200, model_metadata(*m).dump());
      case Route::ModelReady: return reply(res, 200, json{{"name", t.id}, {"ready", true}}.dump());
      case Route::Infer: return infer(*m, req, res);
      case Route::Score: return score(*m, req, res);
      default: throw HttpError(404, "no route " + req.path);
    }
  }

  std::shared_ptr<const ServedModel> model(const Target& t) {
    auto m = cache.get(t.id);
    if (t.versioned && t.version != m->version)
      throw HttpError(404, "model " + t.id + " has no version '" + t.version + "' (serving version " + m->version + ")");
    return m;
  }

  static json model_metadata(const ServedModel& m) {
    const ModelInfo& i = m.scorer->info();
    const auto d = i.n_features ? static_cast<std::int64_t>(i.n_features) : -1;
    return json{{"name", m.id},
                {"versions", {m.version}},
                {"platform", i.format == "onnx" && !i.stub ? "onnxruntime_onnx" : "nomaly_native"},
                {"inputs", {{{"name", "X"}, {"datatype", "FP32"}, {"shape", {-1, d}}}}},
                {"outputs",
                 {{{"name", "scores"}, {"datatype", "FP32"}, {"shape", {-1}}},
                  {{"name", "label"}, {"datatype", "INT64"}, {"shape", {-1}}}}},
                {"parameters",
                 {{"algorithm", i.algorithm}, {"detector_name", i.name}, {"format", i.format}, {"stub", i.stub},
                  {"threshold", i.threshold}, {"feature_names", i.feature_names}, {"trained_at", i.trained_at}}}};
  }

  void infer(const ServedModel& m, const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Inference-Header-Content-Length"))
      throw HttpError(400, "Inference-Header-Content-Length: the binary tensor extension is not supported; send JSON data");
    const Scorer& s = *m.scorer;
    const InferRequest r = parse_infer_request(req.body, s.info().n_features, m.id);
    const ScoreResult out = s.score(r.view());
    metrics.add_rows_scored(r.rows);
    reply(res, 200, encode_infer_response(m.id, m.version, r, out));
  }

  void score(const ServedModel& m, const httplib::Request& req, httplib::Response& res) {
    const Scorer& s = *m.scorer;
    const Dataset data = parse_score_request(req.body, s.info().n_features, s.info().feature_names);
    const ScoreResult out = s.score(data.view());
    metrics.add_rows_scored(data.rows);
    reply(res, 200, encode_score_response(m.id, m.version, s.info().threshold, out));
  }

  int bind() {
    if (bound) return port;
    port = opt.port == 0 ? http.bind_to_any_port(opt.host) : (http.bind_to_port(opt.host, opt.port) ? opt.port : -1);
    if (port < 0)
      throw Error("cannot listen on " + opt.host + ":" + std::to_string(opt.port) +
                      " (address in use, not permitted, or not an address of this machine)",
                  ExitCode::Usage);
    // cpp-httplib listens with a backlog of 5: a burst of new connections would wait for SYN retries (1 s).
    // listen() again on the bound socket only raises the backlog.
    ::listen(http.socket_fd(), SOMAXCONN);
    bound = true;
    return port;
  }

  void run() {
    in_run = true;
    if (!stopping) http.listen_after_bind();
    in_run = false;
  }

  void stop() {
    stopping = true;
    // run() may not have reached cpp-httplib's accept loop yet: wait until it runs (then stop it) or is gone.
    while (true) {
      if (http.is_running()) {
        // cpp-httplib's stop() must run once: a second call asserts on the closed socket.
        if (!stop_sent.exchange(true)) http.stop();
        break;
      }
      if (!in_run) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};

Server::Server(ServerOptions options) {
  // A client that hangs up mid-response must cost an EPIPE on that connection, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  impl_ = std::make_unique<Impl>(std::move(options));
}

Server::~Server() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int Server::bind() { return impl_->bind(); }

void Server::run() {
  impl_->bind();
  impl_->run();
}

void Server::start() {
  impl_->bind();
  impl_->thread = std::thread([this] { impl_->run(); });
  while (!impl_->http.is_running() && !impl_->stopping) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Server::stop() { impl_->stop(); }

int Server::port() const { return impl_->port; }

std::string Server::url() const { return "http://" + impl_->opt.host + ":" + std::to_string(impl_->port); }

}  // namespace nomaly::serve
