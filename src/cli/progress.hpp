// Progress on stderr for long fits and scores (issue 15): silent for the first ~2 s, then one throttled line,
// then "done in X s". --quiet turns it off; --verbose also prints every deep-learning epoch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "nomaly/dataset.hpp"

namespace nomaly {
class Detector;
}

namespace nomaly::cli {

enum class Verbosity { Quiet, Normal, Verbose };
/// Set from the global --quiet / --verbose flags (main.cpp); Normal by default.
void set_verbosity(Verbosity v);
Verbosity verbosity();
/// Adds --quiet,-q and --verbose,-v to the app; they are accepted after the subcommand too (fallthrough, which
/// subcommands inherit only when they are added after this call).
void add_verbosity_flags(CLI::App& app);

/// RAII: while alive, a watcher thread prints "<what> ... 2.0 s" after 2 s and then every 5 s (on a TTY the line
/// is rewritten in place), and "<what> ... done in 3.1 s" when stopped, only if it printed anything.
class ProgressLine {
 public:
  explicit ProgressLine(std::string what);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  /// Stops the watcher (idempotent); the destructor calls it.
  void stop();

 private:
  void run();
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, printed_ = false, tty_ = false;
  std::thread thread_;
};

/// det.fit(X) under a ProgressLine "fitting <algorithm> on <rows> x <cols>".
void fit_with_progress(Detector& det, MatrixView X);

}  // namespace nomaly::cli
