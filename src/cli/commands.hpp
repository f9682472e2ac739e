// CLI command groups. Each group lives in its own file and adds its subcommands to the app.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace nomaly::cli {

/// detect, quickstart, algorithms, inspect, verify (cli/detect_commands.cpp).
void add_detect_commands(CLI::App& app);
/// train, save, load, export, list, delete, score (cli/store_commands.cpp).
void add_store_commands(CLI::App& app);
/// serve (cli/serve_command.cpp).
void add_serve_command(CLI::App& app);
/// Validator for a whole number >= 0 (0 keeps the meaning `zero`), for --batch-size and --threads.
CLI::Validator non_negative_int(const std::string& zero);

/// True when `name` is a subcommand of `app` (cli/suggest.cpp).
bool is_command(const CLI::App& app, const std::string& name);
/// "unknown command 'trian'; did you mean 'train'? Commands: ..." (the closest name within 2 edits or by prefix).
std::string unknown_command_message(const CLI::App& app, const std::string& name);

}  // namespace nomaly::cli
