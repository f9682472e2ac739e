// Routes of `nomaly serve` (server.hpp). Routing is done here, not by cpp-httplib's regex table: every method
// on every path reaches dispatch(), which answers 404/405 itself and counts every request in the metrics.
#include "nomaly/serve/server.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "nomaly/errors.hpp"
#include "nomaly/serve/metrics.hpp"
#include "nomaly/serve/model_cache.hpp"
#include "nomaly/serve/protocol.hpp"

namespace nomaly::serve {

namespace {

/// cpp-httplib's server with access to its listening socket (to raise the listen backlog).
class HttpServer : public httplib::Server {
 public:
  int socket_fd() const { return svr_sock_; }
};

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

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  ModelCache cache;
  Metrics metrics;
  HttpServer http;
  std::thread thread;
  int port = -1;
  bool bound = false;
  std::atomic<bool> stopping{false}, in_run{false}, stop_sent{false};

  explicit Impl(ServerOptions o)
      : opt(std::move(o)), cache(opt.store, opt.format, OnnxOptions{opt.onnx_threads, 0}) {
    configure();
  }

  void configure() {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t workers = opt.threads > 0 ? static_cast<std::size_t>(opt.threads) : std::max(16u, 4 * cores);
    // cpp-httplib owns the queue it gets from this factory (it wraps the pointer in a unique_ptr).
    http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    // cpp-httplib's default sets SO_REUSEPORT, which lets a second server bind a port that is in use and take half
    // of its connections. SO_REUSEADDR alone still allows a quick restart (TIME_WAIT) but refuses a live listener.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.set_tcp_nodelay(true);  // a response is written in two sends; Nagle would hold the second one back
    http.set_keep_alive_max_count(1000);
    // An idle keep-alive connection holds its worker until this timeout, and stop() waits for it: keep it short.
    http.set_keep_alive_timeout(2);
    http.set_read_timeout(30, 0);
    http.set_write_timeout(30, 0);
    http.set_payload_max_length(opt.max_body_bytes);
    http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
      // Bodies are JSON whatever the client calls them (`curl -d` says x-www-form-urlencoded), and cpp-httplib caps
      // form-encoded bodies at 8 KiB (a constant compiled into Debian's library): read them as JSON. The request
      // object is cpp-httplib's own non-const local, so writing its headers here is well-defined.
      auto& r = const_cast<httplib::Request&>(req);
      if (r.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
        r.headers.erase("Content-Type");
        r.headers.emplace("Content-Type", "application/json");
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    const auto any = [this](const httplib::Request& req, httplib::Response& res) { dispatch(req, res); };
    http.Get(".*", any);
    http.Post(".*", any);
    http.Put(".*", any);
    http.Patch(".*", any);
    http.Delete(".*", any);
    http.Options(".*", any);
    // cpp-httplib's own refusals (413 body too large, 400 unparsable request line): the protocol's error shape.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // dispatch() wrote it
      std::string msg = "HTTP " + std::to_string(res.status);
      if (res.status == 413)
        msg = "request body is larger than the server's limit of " + std::to_string(opt.max_body_bytes) +
              " bytes (--max-body-mb)";
      else if (res.status == 400)
        msg = "malformed HTTP request";
      reply_error(res, res.status, msg);
      metrics.observe(match(req.path).route, res.status, 0.0);
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      reply_error(res, 500, "internal error");
    });
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
