// "Did you mean": an unknown subcommand is answered with the closest name, not CLI11's "A subcommand is required".
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace nomaly::cli {

namespace {

/// Levenshtein distance (insert, delete, substitute = 1).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(c->get_name());
  return names;
}

}  // namespace

bool is_command(const CLI::App& app, const std::string& name) {
  const auto names = command_names(app);
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string unknown_command_message(const CLI::App& app, const std::string& name) {
  const auto names = command_names(app);
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& n : names) {
    const std::size_t d = edit_distance(name, n);
    if (d < best_d) best_d = d, best = n;
  }
  std::string msg = "unknown command '" + name + "'";
  // A suggestion only when it is plausibly a typo: at most 2 edits, or a prefix of a command.
  if (!best.empty() && (best_d <= 2 || best.rfind(name, 0) == 0)) msg += "; did you mean '" + best + "'?";
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  return msg + " Commands: " + all + " (nomaly --help).";
}

}  // namespace nomaly::cli
