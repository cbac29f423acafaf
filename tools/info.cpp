// `lvk info`: version, build options, CUDA runtime/driver and each device, or why none is usable.
#include <cstdio>

#include "kernels/cpu/nn_conv_impls.h"
#include "runtime/context.h"
#include "runtime/device.h"
#include "runtime/dist/launch.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

std::string cuda_version(int v) {
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

void print_info() {
  const CudaStatus& cuda = cuda_status();
  std::printf("lvk %s\n", LVK_VERSION);
  std::printf("build:   %s, %s, CUDA backend %s (archs %s), CPU BLAS: %s, CPU conv: %s\n", LVK_BUILD_TYPE,
              LVK_BUILD_COMPILER,
              cuda.emulated ? "EMULATED"
              : cuda.built  ? "on"
                            : "off",
              LVK_BUILD_CUDA_ARCHS, LVK_BUILD_BLAS, kernels::cpu::conv_impl().name);
  if (cuda.built)
    std::printf("cuda:    runtime %s, driver %s\n", cuda_version(cuda.runtime_version).c_str(),
                cuda_version(cuda.driver_version).c_str());
  for (const CudaDeviceInfo& d : cuda.devices)
    std::printf("device:  cuda:%d %s, sm_%d%d, %d SMs, %.1f GiB\n", d.index, d.name.c_str(), d.compute_major,
                d.compute_minor, d.sm_count, static_cast<double>(d.total_memory) / (1ull << 30));
  if (cuda.emulated)
    std::printf(
        "note:    cuda:0 is EMULATED on the CPU (LVK_CUDA=EMU): every kernel runs with race, bounds and\n"
        "         divergence checks; results are checked, timings mean nothing. A real GPU is the final word.\n");
  if (!cuda.usable) std::printf("cuda:    no usable CUDA device: %s\n", cuda.reason.c_str());
  std::printf("ranks:   MPI %s, NCCL %s (mpirun -np N lvk train ...: CPU ranks need MPI, GPU ranks NCCL too)\n",
              dist::built_with_mpi() ? "yes" : "no", dist::built_with_nccl() ? "yes" : "no");
  std::printf("default: --device auto runs on %s\n", parse_device("auto").str().c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Print version, build options and the CUDA devices found");
  cmd->callback(print_info);
}

}  // namespace lvk::cli
