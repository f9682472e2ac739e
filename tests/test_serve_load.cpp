// `nomaly serve` under load (issue 13): 8 clients x 500 requests, hot reload while clients score, saves killed
// with SIGKILL while the id is served, and SIGTERM/SIGINT of the real `nomaly serve` process. Every server runs
// on 127.0.0.1 with an ephemeral port; every answer is checked against the scorer's own scores.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "test_serve_util.hpp"

extern char** environ;

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Scores and version of one answer; empty scores when the request failed (error says why).
struct Answer {
  std::vector<float> scores;
  std::string version, error;
};

Answer infer(httplib::Client& c, const std::string& path, const std::string& body) {
  Answer a;
  auto r = c.Post(path, body, "application/json");
  if (!r) {
    a.error = "transport error " + httplib::to_string(r.error());
    return a;
  }
  if (r->status != 200) {
    a.error = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
    return a;
  }
  const json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    a.error = "unparsable response";
    return a;
  }
  a.scores = output_floats(j, "scores");
  a.version = j.value("model_version", "");
  return a;
}

TEST(ServeLoad, EightClientsFiveHundredRequestsEachMixingOneAndThousandRowBodies) {
  ServeStore store;
  const Dataset data = synthetic(3000, 6, 30, 5);
  const DetectorEntity e = iforest_entity(data, "forest", 7, 20);
  store.save(e);
  const std::vector<float> expected = e.model->score_samples(data.view());
  RunningServer srv(serve_options(store.dir.path));
  // Bodies are built once: the test measures the server, not the client's JSON writer. Each distinct body's
  // answer is checked against the scorer's scores once; under load every answer must equal it byte for byte
  // (the same rows and the same model give the same bytes), which checks all 4,000 without parsing 4,000.
  std::vector<std::string> bodies, answers;
  for (std::size_t i = 0; i < 64; ++i) bodies.push_back(infer_body(data, i * 37, 1));
  for (std::size_t k = 0; k < 4; ++k) bodies.push_back(infer_body(data, k * 500, 1000));
  {
    auto c = srv.client();
    for (std::size_t b = 0; b < bodies.size(); ++b) {
      const std::size_t begin = b < 64 ? b * 37 : (b - 64) * 500, n = b < 64 ? 1 : 1000;
      const auto r = c->Post("/v2/models/forest/infer", bodies[b], "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body.substr(0, 200);
      ASSERT_EQ(output_floats(json::parse(r->body), "scores"), slice_scores(expected, begin, n)) << "rows " << begin;
      answers.push_back(r->body);
    }
  }
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::string> errors(8);
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&, t] {
      auto c = srv.client();
      for (int i = 0; i < 500; ++i) {
        const std::size_t k = static_cast<std::size_t>(i * 8 + t);
        const std::size_t b = (i + t) % 5 == 0 ? 64 + k % 4 : k % 64;  // 1 in 5 requests has 1,000 rows
        const auto r = c->Post("/v2/models/forest/infer", bodies[b], "application/json");
        if (r && r->status == 200 && r->body == answers[b]) {
          ++ok;
        } else {
          ++wrong;
          if (errors[t].empty())
            errors[t] = !r ? "transport error " + httplib::to_string(r.error())
                           : "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
        }
      }
    });
  for (auto& th : clients) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& err : errors) EXPECT_EQ(err, "");
  EXPECT_EQ(ok.load(), 4000);
  EXPECT_EQ(wrong.load(), 0);
  std::printf("[ serve load ] 8 clients x 500 requests (1 in 5 with 1000 rows): %.2f s, %.0f requests/s\n", secs, 4000 / secs);
  const std::string m = srv.client()->Get("/metrics")->body;
  EXPECT_NE(m.find("nomaly_requests_total{route=\"/v2/models/{id}/infer\",status=\"200\"} 4068\n"), std::string::npos);
  EXPECT_NE(m.find("nomaly_rows_scored_total " + std::to_string(804 * 1000 + 3264) + "\n"), std::string::npos);
}

TEST(ServeLoad, HotReloadUnderLoadAnswersFromTheOldOrTheNewModelOnly) {
  ServeStore store;
  const Dataset data = synthetic(1500, 6, 15, 9);
  const DetectorEntity a = iforest_entity(data, "forest", 1, 40), b = iforest_entity(data, "forest", 2, 40);
  const std::vector<float> sa = a.model->score_samples(data.view()), sb = b.model->score_samples(data.view());
  store.save(a);
  const auto version_of = [&] { return store.service.saved_metadata("forest")->at("files")["model.nomaly"]["sha256"].get<std::string>().substr(0, 16); };
  const std::string va = version_of();
  RunningServer srv(serve_options(store.dir.path));
  const std::string small = infer_body(data, 10, 4), large = infer_body(data, 0, 1000);
  std::atomic<bool> done{false};
  std::atomic<int> from_a{0}, from_b{0}, bad{0};
  std::mutex mu;
  std::string first_bad;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      auto c = srv.client();
      for (int i = 0; !done; ++i) {
        const bool big = (i + t) % 4 == 0;
        const std::size_t begin = big ? 0 : 10, n = big ? 1000 : 4;
        const Answer ans = infer(*c, "/v2/models/forest/infer", big ? large : small);
        if (ans.scores == slice_scores(sa, begin, n) && ans.version == va) ++from_a;
        else if (ans.scores == slice_scores(sb, begin, n) && ans.version != va) ++from_b;
        else {
          ++bad;
          std::lock_guard lk(mu);
          if (first_bad.empty()) first_bad = ans.error.empty() ? "scores/version of neither model (" + ans.version + ")" : ans.error;
        }
      }
    });
  std::set<std::string> versions{va};
  for (int k = 0; k < 20; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    store.save(k % 2 == 0 ? b : a);  // 20 new saves: B, A, B, ..., A
    versions.insert(version_of());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  done = true;
  for (auto& th : clients) th.join();
  EXPECT_EQ(bad.load(), 0) << first_bad;
  EXPECT_GT(from_a.load(), 0);
  EXPECT_GT(from_b.load(), 0);
  EXPECT_EQ(versions.size(), 2u);  // a fit's file (and version) is the same every time it is saved
  // The last save (A) is what the server answers with now.
  auto c = srv.client();
  const Answer last = infer(*c, "/v2/models/forest/infer", small);
  EXPECT_EQ(last.scores, slice_scores(sa, 10, 4));
  EXPECT_EQ(last.version, version_of());
  const std::string m = c->Get("/metrics")->body;
  std::printf("[ serve reload ] 20 saves under load: %d answers from A, %d from B, %d errors\n", from_a.load(), from_b.load(), bad.load());
  EXPECT_NE(m.find("nomaly_model_load_failures_total 0\n"), std::string::npos) << m;
  EXPECT_EQ(m.find("nomaly_model_reloads_total 0\n"), std::string::npos) << m;  // the swaps happened
}

/// A child process with its stdout on a pipe.
struct Child {
  pid_t pid = -1;
  int out = -1;
  Child(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out = fds[0];
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
  /// One line of stdout, waiting at most `ms`.
  std::string line(int ms) {
    std::string s;
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    char ch;
    while (Clock::now() < end) {
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::read(out, &ch, 1) != 1) break;
      if (ch == '\n') break;
      s += ch;
    }
    return s;
  }
  /// Exit status, or -1 when it did not exit within `ms` (or died from a signal).
  int wait_exit(int ms) {
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
};

TEST(ServeLoad, SaveKilledWithSigkillNeverServesAHalfWrittenModel) {
  ServeStore store;
  const Dataset data = synthetic(2000, 6, 20, 13);
  const fs::path csv = store.dir.path / "train.csv";
  write_csv(csv.string(), data);
  const std::string cli = NOMALY_CLI_PATH, root = store.dir.path.string();
  const auto train = [&](const std::string& id, int seed) {
    return std::vector<std::string>{cli, "train", "--store", root, "--algorithm", "iforest", "--input", csv.string(),
                                    "--id", id, "--overwrite", "--param", "n_estimators=100", "--param", "random_state=" + std::to_string(seed)};
  };
  // The two fits the killed trainings write (training is deterministic for a seed): their scores are the only
  // acceptable answers. The served id's first training is the seed-1 reference.
  std::vector<std::vector<float>> want;
  for (const auto& [id, seed] : std::vector<std::pair<std::string, int>>{{"forest", 1}, {"ref2", 2}}) {
    Child c(train(id, seed));
    ASSERT_EQ(c.wait_exit(120000), 0);
    want.push_back(store.service.load_model(id)->score(data.view().slice(0, 50)).scores);
  }
  ASSERT_NE(want[0], want[1]);
  RunningServer srv(serve_options(store.dir.path));
  const std::string body = infer_body(data, 0, 50);
  std::atomic<bool> done{false};
  std::atomic<int> answers{0}, bad{0};
  std::string first_bad;
  std::thread client([&] {
    auto c = srv.client();
    while (!done) {
      const Answer a = infer(*c, "/v2/models/forest/infer", body);
      if (a.scores == want[0] || a.scores == want[1]) ++answers;
      else if (bad++ == 0) first_bad = a.error.empty() ? "scores of neither fit" : a.error;
    }
  });
  // Each training is killed the moment it creates a temp file in the id's folder: mid-save, where a half-written
  // model could appear (a kill at a random moment mostly lands in the process start or the fit).
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, (store.dir.path / "forest").c_str(), IN_CREATE | IN_MOVED_TO), 0);
  int kills = 0, completed = 0, k = 0;
  for (; kills < 2 && k < 8; ++k) {
    Child c(train("forest", 1 + (k % 2 == 0)));
    bool killed = false, exited = false;
    const auto end = Clock::now() + std::chrono::seconds(120);
    while (!killed && Clock::now() < end && !(exited = ::waitpid(c.pid, nullptr, WNOHANG) == c.pid)) {
      pollfd p{watch, POLLIN, 0};
      if (::poll(&p, 1, 5) <= 0) continue;
      alignas(inotify_event) char buf[4096];
      const ssize_t n = ::read(watch, buf, sizeof buf);
      for (ssize_t off = 0; off < n && !killed;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if (ev->len && std::string(ev->name).find(".tmp-") != std::string::npos) killed = ::kill(c.pid, SIGKILL) == 0;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    kills += killed;
    completed += exited;
    if (exited) c.pid = -1;  // reaped above; otherwise ~Child kills and reaps it
  }
  ::close(watch);
  done = true;
  client.join();
  EXPECT_EQ(bad.load(), 0) << first_bad;
  EXPECT_GT(answers.load(), 0);
  EXPECT_GT(kills, 0);
  // The store still loads a whole model under the id, which is one of the two fits.
  const auto after = store.service.load_model("forest")->score(data.view().slice(0, 50)).scores;
  EXPECT_TRUE(after == want[0] || after == want[1]);
  std::printf("[ serve sigkill ] %d trainings (%d killed mid-save, %d completed), %d answers, all from a whole model\n", k,
              kills, completed, answers.load());
}

TEST(ServeProcess, SigtermAndSigintStopTheRealServerWithExitZero) {
  ServeStore store;
  const Dataset data = synthetic(500, 6, 5, 21);
  const DetectorEntity e = iforest_entity(data, "forest");
  store.save(e);
  const std::vector<float> expected = e.model->score_samples(data.view().slice(0, 200));
  for (int sig : {SIGTERM, SIGINT}) {
    Child server({NOMALY_CLI_PATH, "serve", "--store", store.dir.path.string(), "--port", "0", "--threads", "4"});
    const std::string banner = server.line(20000);
    const auto at = banner.find("http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << banner;
    const int port = std::stoi(banner.substr(at + 17));
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post("/v2/models/forest/infer", infer_body(data, 0, 200), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    // A client keeps scoring while the signal arrives: every answer it gets is whole and right.
    std::atomic<bool> done{false};
    std::atomic<int> good{0}, bad{0};
    std::thread client([&] {
      httplib::Client cc("127.0.0.1", port);
      cc.set_keep_alive(true);
      cc.set_tcp_nodelay(true);
      while (!done) {
        auto rr = cc.Post("/v2/models/forest/infer", infer_body(data, 0, 200), "application/json");
        if (!rr) break;  // the server has stopped accepting
        if (rr->status == 200 && output_floats(json::parse(rr->body), "scores") == expected) ++good;
        else ++bad;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_EQ(::kill(server.pid, sig), 0);
    EXPECT_EQ(server.wait_exit(15000), 0) << "signal " << sig;
    done = true;
    client.join();
    EXPECT_GT(good.load(), 0);
    EXPECT_EQ(bad.load(), 0);
  }
}

}  // namespace
}  // namespace nomaly::test
