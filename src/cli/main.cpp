// nomaly CLI entry point. Exit codes: 0 ok, 2 usage, 3 bad data, 4 model error, 5 output not written.
#include <cstring>
#include <filesystem>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/params.hpp"

namespace {

const char* type_of(int code) {
  switch (code) {
    case 2: return "usage";
    case 3: return "bad_data";
    case 4: return "model_error";
    case 5: return "io";
    default: return "error";
  }
}

/// Prints the error: "error: msg" on stderr, and with --json also {"error", "exit_code", "type"} as the one
/// JSON object on stdout (where a script reading --json output looks). Returns the exit code.
int report(const std::string& msg, int code, bool as_json) {
  std::cerr << "error: " << msg << "\n";
  if (as_json)
    std::cout << nomaly::json{{"error", msg}, {"exit_code", code}, {"type", type_of(code)}}
                     .dump(-1, ' ', false, nomaly::json::error_handler_t::replace)  // a path may hold any bytes
              << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Log lines (warnings such as the stub fallback) go to stderr, so stdout stays clean for --json and pipes.
  spdlog::set_default_logger(spdlog::stderr_color_mt("nomaly"));
  CLI::App app{"nomaly: anomaly detection on tabular data, exported as real ONNX models.\n"
               "Exit codes: 0 ok, 2 usage, 3 bad data, 4 model error, 5 output not written (e.g. a read-only store)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", NOMALY_VERSION);
  nomaly::cli::add_verbosity_flags(app);  // first: subcommands inherit fallthrough when they are created
  nomaly::cli::add_detect_commands(app);
  nomaly::cli::add_store_commands(app);
  nomaly::cli::add_serve_command(app);
  bool as_json = false;
  for (int i = 1; i < argc; ++i) as_json = as_json || std::strcmp(argv[i], "--json") == 0;
  constexpr int kUsage = static_cast<int>(nomaly::ExitCode::Usage);
  int first = 1;  // the command: the first argument that is not a global flag
  while (first < argc && argv[first][0] == '-') ++first;
  if (first < argc && !nomaly::cli::is_command(app, argv[first]))
    return report(nomaly::cli::unknown_command_message(app, argv[first]), kUsage, as_json);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (as_json) return report(e.what(), kUsage, true);
    app.exit(e);
    return kUsage;
  } catch (const nomaly::Error& e) {
    return report(e.what(), static_cast<int>(e.exit_code()), as_json);
  } catch (const std::filesystem::filesystem_error& e) {
    // A folder that cannot be created or listed (read-only store, no permission): the input was fine.
    return report(e.what(), static_cast<int>(nomaly::ExitCode::Io), as_json);
  } catch (const std::exception& e) {
    // Foreign exceptions (libtorch, ORT) can carry multi-line stack dumps: the first line says what failed.
    const std::string what = e.what();
    return report(what.substr(0, what.find('\n')), static_cast<int>(nomaly::ExitCode::ModelError), as_json);
  }
  return 0;
}
