#include "cli/progress.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "nomaly/detector.hpp"

namespace nomaly::cli {

namespace {
std::atomic<Verbosity> g_verbosity{Verbosity::Normal};
constexpr auto kFirst = std::chrono::seconds(2);  // shorter runs print nothing
// NOMALY_PROGRESS_AFTER_MS overrides kFirst (tests check the line without a 2 s fit).
std::chrono::steady_clock::duration first_delay() {
  const char* env = std::getenv("NOMALY_PROGRESS_AFTER_MS");
  if (!env || !*env) return kFirst;
  char* end = nullptr;
  const long ms = std::strtol(env, &end, 10);
  return *end || ms < 0 ? kFirst : std::chrono::milliseconds(ms);
}
constexpr auto kEvery = std::chrono::seconds(5);  // throttle: one line per 5 s (a log file stays short)

std::string seconds_text(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}
}  // namespace

void set_verbosity(Verbosity v) { g_verbosity = v; }
Verbosity verbosity() { return g_verbosity; }

void add_verbosity_flags(CLI::App& app) {
  app.fallthrough();
  app.add_flag_callback("--quiet,-q", [] { set_verbosity(Verbosity::Quiet); },
                        "No progress lines on stderr (warnings and errors still print)");
  app.add_flag_callback("--verbose,-v", [] { set_verbosity(Verbosity::Verbose); },
                        "Also print every training epoch of the deep detectors");
}

ProgressLine::ProgressLine(std::string what)
    : what_(std::move(what)), start_(std::chrono::steady_clock::now()), tty_(::isatty(STDERR_FILENO) == 1) {
  if (verbosity() != Verbosity::Quiet) thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine() { stop(); }

void ProgressLine::stop() {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (printed_)
    std::cerr << (tty_ ? "\r" : "") << what_ << " ... done in " << seconds_text(std::chrono::steady_clock::now() - start_)
              << (tty_ ? "   " : "") << "\n"
              << std::flush;
}

void ProgressLine::run() {
  std::unique_lock lock(mu_);
  auto next = start_ + first_delay();
  while (!cv_.wait_until(lock, next, [this] { return done_; })) {
    std::cerr << (tty_ ? "\r" : "") << what_ << " ... " << seconds_text(std::chrono::steady_clock::now() - start_)
              << (tty_ ? "" : "\n") << std::flush;
    printed_ = true;
    next += tty_ ? std::chrono::seconds(1) : kEvery;
  }
}

void fit_with_progress(Detector& det, MatrixView X) {
  ProgressLine p("fitting " + det.algorithm() + " on " + std::to_string(X.rows) + " x " + std::to_string(X.cols));
  det.fit(X);
}

}  // namespace nomaly::cli
