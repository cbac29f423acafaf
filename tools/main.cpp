// lvk: one binary, one subcommand per job. Library errors (lvk::Error) end the program with their
// message and exit code 1; flag errors are reported by CLI11.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "runtime/error.h"
#include "tools/commands.h"

namespace {

// OpenMP threads that busy-wait between parallel regions take the cores from OpenBLAS's own threads
// (and from anything else running): on a shared 2-core machine that made CPU training 2-8x slower.
// libgomp reads the policy when it loads, so an unset policy becomes "passive" by re-executing
// once; a policy the user set is kept.
void prefer_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_wait(argv);
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
