// nomaly CLI entry point. Exit codes: 0 ok, 2 usage, 3 bad data, 4 model error, 5 output not written.
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "nomaly/errors.hpp"

int main(int argc, char** argv) {
  // Log lines (warnings such as the stub fallback) go to stderr, so stdout stays clean for --json and pipes.
  spdlog::set_default_logger(spdlog::stderr_color_mt("nomaly"));
  CLI::App app{"nomaly: anomaly detection on tabular data, exported as real ONNX models.\n"
               "Exit codes: 0 ok, 2 usage, 3 bad data, 4 model error, 5 output not written."};
  app.require_subcommand(1);
  app.set_version_flag("--version", NOMALY_VERSION);
  nomaly::cli::add_detect_commands(app);
  nomaly::cli::add_store_commands(app);
  nomaly::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(nomaly::ExitCode::Usage);
  } catch (const nomaly::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    // Foreign exceptions (libtorch, ORT) can carry multi-line stack dumps: the first line says what failed.
    const std::string what = e.what();
    std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
    return static_cast<int>(nomaly::ExitCode::ModelError);
  }
  return 0;
}
