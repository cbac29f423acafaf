// lvk: one binary, one subcommand per job. Library errors (lvk::Error) end the program with their
// message and exit code 1; flag errors are reported by CLI11.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

#include "base/error.h"
#include "runtime/dist/launch.h"
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

// A run whose output goes to a file or a pipe (a batch job) must not lose its last lines when it
// is killed: stdout is block-buffered there by default, so make it line-buffered.
void line_buffer_logs() {
  if (isatty(fileno(stdout)) == 0) std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

}  // namespace

namespace lvk::cli {

void print_note(const std::string& text) {
  if (!text.empty()) std::fprintf(stderr, "lvk: note: %s\n", text.c_str());
}

}  // namespace lvk::cli

int main(int argc, char** argv) {
  prefer_passive_openmp_wait(argv);
  line_buffer_logs();
  // Past a file-size limit (ulimit -f) the kernel kills the writer with SIGXFSZ, silently and
  // mid-checkpoint; ignored, the write fails with EFBIG and the writer reports it like a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
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
  lvk::cli::add_verify_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const lvk::Error& e) {
    std::fprintf(stderr, "lvk: error: %s\n", e.what());
    lvk::dist::abort_world(e.what());  // other ranks may wait for this one in a collective
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "lvk: error: out of memory; a size (batch, model width, data count) is too large for this "
                 "machine\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lvk: unexpected error: %s\n", e.what());
    lvk::dist::abort_world(e.what());
    return 2;
  }
  return 0;
}
