// CLI command groups. Each group lives in its own file and adds its subcommands to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace nomaly::cli {

/// detect, quickstart, algorithms, inspect, verify (cli/detect_commands.cpp).
void add_detect_commands(CLI::App& app);
/// train, save, load, export, list, delete, score (cli/store_commands.cpp).
void add_store_commands(CLI::App& app);
/// serve (cli/serve_command.cpp).
void add_serve_command(CLI::App& app);
/// Validator for a whole number >= 0 (0 keeps the meaning `zero`), for --batch-size and --threads.
CLI::Validator non_negative_int(const std::string& zero);

}  // namespace nomaly::cli
