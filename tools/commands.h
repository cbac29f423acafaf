#pragma once
// Each subcommand registers itself on the app; main() only parses and reports errors.
#include <CLI/CLI.hpp>

namespace lvk::cli {

void add_info_command(CLI::App& app);
void add_data_command(CLI::App& app);

}  // namespace lvk::cli
