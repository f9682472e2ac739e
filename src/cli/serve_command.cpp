// `nomaly serve`: the HTTP scoring service (issue 13) over the model store. The server itself is the
// nomaly_serve library (include/nomaly/serve/server.hpp); this file only parses options and handles signals.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/serve/server.hpp"

namespace nomaly::cli {

namespace {

struct ServeOptions {
  std::string store, host = "127.0.0.1", format = "native", api_key;
  int port = 8080, threads = 0;
  bool api_key_given = false;
  double max_body_mb = 64, read_timeout = 5;
};

void run_serve(const ServeOptions& o) {
  serve::ServerOptions so;
  so.store = o.store;
  so.host = o.host;
  so.port = o.port;
  so.threads = o.threads;
  so.format = parse_format(o.format);
  if (!(o.max_body_mb > 0) || o.max_body_mb > 1 << 20)
    throw ParameterError("--max-body-mb must be a number in (0, 1048576], got " + std::to_string(o.max_body_mb));
  so.max_body_bytes = static_cast<std::size_t>(o.max_body_mb * 1024 * 1024);
  if (!(o.read_timeout >= 0.001) || o.read_timeout > 3600)
    throw ParameterError("--read-timeout must be a number of seconds in [0.001, 3600], got " + std::to_string(o.read_timeout));
  so.read_timeout = o.read_timeout;
  so.api_key = o.api_key;
  // An empty key would turn authentication off without a word (an unset $KEY in --api-key "$KEY").
  if (o.api_key_given && o.api_key.empty())
    throw ParameterError("--api-key is empty: give the key clients must send as 'Authorization: Bearer KEY', or omit "
                         "--api-key to serve without one");
  if (so.api_key.empty())
    if (const char* k = std::getenv("NOMALY_API_KEY")) {
      if (!*k)
        throw ParameterError("NOMALY_API_KEY is set but empty: set it to the key, or unset it to serve without one");
      so.api_key = k;
    }

  // Request bodies of 1,000 rows are ~0.5 MB: above glibc's default mmap threshold each one would be mapped and
  // unmapped again (a page fault per 4 KiB, a fifth of the server's time in profiles). Keep them in the heap.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  // SIGTERM/SIGINT are blocked in every thread (the server's workers inherit this mask) and taken by one
  // waiting thread, which stops the server: accepting ends, in-flight requests finish, run() returns.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  serve::Server server(so);
  const int port = server.bind();
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    const timespec tick{0, 100'000'000};
    while (!done) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        spdlog::info("serve: signal {} received, stopping", sig);
        server.stop();
        return;
      }
    }
  });
  std::cout << "nomaly serve: listening on http://" << so.host << ":" << port << " (store " << so.store.string()
            << ", format " << o.format << (so.api_key.empty() ? "" : ", API key required") << ")" << std::endl;
  server.run();
  done = true;
  waiter.join();
  std::cout << "nomaly serve: stopped" << std::endl;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  const char* env = std::getenv("NOMALY_STORE");
  o->store = env && *env ? env : "./nomaly-store";
  auto* c = app.add_subcommand("serve", "Serve the store's models over HTTP (Open Inference Protocol v2, see docs/serving.md)");
  c->add_option("--store", o->store, "Model store directory (default $NOMALY_STORE or ./nomaly-store)");
  c->add_option("--host", o->host, "Address to bind (default 127.0.0.1; another address exposes the models to that network)")
      ->capture_default_str();
  c->add_option("--port", o->port, "TCP port (0 = any free port, printed at start)")->capture_default_str()->check(CLI::Range(0, 65535));
  c->add_option("--threads", o->threads, "HTTP worker threads = concurrent connections served (0 = max(16, 4 x cores))")
      ->check(CLI::Range(0, 4096));
  c->add_option("--format,-f", o->format, "Saved format to serve: native | onnx")->capture_default_str();
  c->add_option("--max-body-mb", o->max_body_mb, "Largest request body in MiB; larger bodies get 413")->capture_default_str();
  c->add_option("--read-timeout", o->read_timeout,
                "Seconds a client has to send a whole request (headers and body); later ones get 408 and are closed")
      ->capture_default_str();
  c->add_option("--api-key", o->api_key,
                "Require 'Authorization: Bearer KEY' on every route but /v2/health/* (or set NOMALY_API_KEY)");
  c->callback([o, c] {
    o->api_key_given = c->get_option("--api-key")->count() > 0;
    run_serve(*o);
  });
}

}  // namespace nomaly::cli
