// Helpers of the `nomaly serve` tests: a store with fitted models, an in-process server on 127.0.0.1 with an
// ephemeral port, request bodies, and response decoding.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "nomaly/persistence/service.hpp"
#include "nomaly/serve/server.hpp"
#include "test_persistence_util.hpp"
#include "test_util.hpp"

namespace nomaly::test {

/// A store directory with helpers to (re)save fitted detectors under an id.
struct ServeStore {
  TempDir dir;
  std::shared_ptr<StoreDetectorRepository> repo = std::make_shared<StoreDetectorRepository>(dir.path);
  ModelPersistenceService service{repo, dir.path};

  /// Registers `e` under its id and saves it in `format`.
  void save(const DetectorEntity& e, Format format = Format::Native) {
    repo->save(e);
    service.save_model(e.id, format);
  }
};

/// An Isolation Forest fitted on `data` (the ONNX converter exists for it).
inline DetectorEntity iforest_entity(const Dataset& data, const std::string& id, int seed = 7, int trees = 25) {
  return fitted_entity("iforest", data, {{"n_estimators", trees}, {"max_samples", 128}, {"random_state", seed}}, id, id);
}

/// Starts a server over `store` on an ephemeral port; stopped by the destructor.
struct RunningServer {
  serve::Server server;
  explicit RunningServer(serve::ServerOptions o) : server(with_ephemeral_port(std::move(o))) { server.start(); }
  static serve::ServerOptions with_ephemeral_port(serve::ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    if (o.threads == 0) o.threads = 16;
    return o;
  }
  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    c->set_keep_alive(true);
    // cpp-httplib's client writes headers and body in separate sends: with Nagle's algorithm each request waits
    // for the server's delayed ACK (40 ms), which made the 4,000-request load test take 20 s.
    c->set_tcp_nodelay(true);
    c->set_read_timeout(30, 0);
    return c;
  }
};

inline serve::ServerOptions serve_options(const std::filesystem::path& store, Format f = Format::Native) {
  serve::ServerOptions o;
  o.store = store;
  o.format = f;
  return o;
}

/// A v2 infer body with rows [begin, begin+count) of `data`, flat FP32 data.
inline std::string infer_body(const Dataset& data, std::size_t begin, std::size_t count, const std::string& id = "") {
  json x = json::array();
  for (std::size_t i = begin; i < begin + count; ++i)
    for (std::size_t j = 0; j < data.cols; ++j) x.push_back(data.X[i * data.cols + j]);
  json body = {{"inputs", {{{"name", "X"}, {"shape", {count, data.cols}}, {"datatype", "FP32"}, {"data", x}}}}};
  if (!id.empty()) body["id"] = id;
  return body.dump();
}

/// The named output's data of a v2 infer response, as floats.
inline std::vector<float> output_floats(const json& response, const std::string& name) {
  for (const auto& o : response.at("outputs"))
    if (o.at("name") == name) {
      std::vector<float> v;
      for (const auto& x : o.at("data")) v.push_back(x.get<float>());
      return v;
    }
  ADD_FAILURE() << "no output " << name << " in " << response.dump().substr(0, 300);
  return {};
}

inline std::vector<float> slice_scores(const std::vector<float>& all, std::size_t begin, std::size_t count) {
  return {all.begin() + static_cast<std::ptrdiff_t>(begin), all.begin() + static_cast<std::ptrdiff_t>(begin + count)};
}

}  // namespace nomaly::test
