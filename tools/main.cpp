// lvk: one binary, one subcommand per job. Library errors (lvk::Error) end the program with their
// message and exit code 1; flag errors are reported by CLI11.
#include <cstdio>
#include <exception>

#include "runtime/error.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lvk: hand-written CUDA kernels for latent-variable models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lvk ") + LVK_VERSION);
  lvk::cli::add_info_command(app);
  lvk::cli::add_train_command(app);
  lvk::cli::add_data_command(app);
  lvk::cli::add_quantize_commands(app);
  lvk::cli::add_bench_quantize_command(app);
  lvk::cli::add_eval_command(app);
  lvk::cli::add_picture_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const lvk::Error& e) {
    std::fprintf(stderr, "lvk: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lvk: unexpected error: %s\n", e.what());
    return 2;
  }
  return 0;
}
