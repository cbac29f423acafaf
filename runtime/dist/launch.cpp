// Joining the launcher's world; MPI and NCCL are optional at build time (LVK_WITH_MPI,
// LVK_WITH_NCCL), so every use sits behind those switches.
#include "runtime/dist/launch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "runtime/dist/watchdog.h"
#if LVK_WITH_MPI
#include "runtime/dist/mpi_communicator.h"
#endif
#if LVK_WITH_NCCL
#include "runtime/dist/nccl_communicator.h"
#endif

namespace lvk::dist {

namespace {

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

bool nccl_forced() {
  const char* v = std::getenv("LVK_DIST_NCCL");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

[[maybe_unused]] void narrow_visible_gpus(int local_rank) {
  std::vector<std::string> list;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES"); v != nullptr && *v != '\0') {
    std::stringstream in(v);
    for (std::string item; std::getline(in, item, ',');) list.push_back(item);
  }
  const std::string mine =
      list.empty() ? std::to_string(local_rank) : list[static_cast<size_t>(local_rank) % list.size()];
  setenv("CUDA_VISIBLE_DEVICES", mine.c_str(), 1);
}

std::unique_ptr<Communicator> over_cuda(std::unique_ptr<Communicator> bootstrap, Device device) {
#if LVK_WITH_NCCL
  return make_nccl(*bootstrap, device);
#else
  (void)device;
  if (bootstrap->size() == 1 && !nccl_forced()) return bootstrap;
  fail("dist: ", bootstrap->size(), " ranks with CUDA tensors need NCCL, and this lvk was built without it ",
#if LVK_EMU
       "(the emulated GPU of LVK_CUDA=EMU has no NCCL); use --device cpu for CPU ranks over MPI"
#else
       "(nccl.h and libnccl not found next to the CUDA toolkit); install NCCL and rebuild, or use --device cpu"
#endif
  );
#endif
}

}  // namespace

bool built_with_mpi() {
#if LVK_WITH_MPI
  return true;
#else
  return false;
#endif
}
bool built_with_nccl() {
#if LVK_WITH_NCCL
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() {
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMI_SIZE") || env_set("PMIX_RANK");
}

int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      const int n = std::atoi(v);
      if (n >= 1) return n;
    }
  return 1;
}

World join_world(const std::string& device_name) {
  World world;
  if (!launched_by_mpi()) {
    world.device = parse_device(device_name);
    world.comm = make_single();
    if (world.device.is_cuda() && nccl_forced()) world.comm = over_cuda(std::move(world.comm), world.device);
    return world;
  }
#if LVK_WITH_MPI
  std::unique_ptr<Communicator> mpi = make_mpi();
  world.local_rank = mpi_local_rank();
#if LVK_WITH_CUDA && !LVK_EMU
  if (device_name != "cpu") narrow_visible_gpus(world.local_rank);
#endif
  world.device = parse_device(device_name);
  world.comm = world.device.is_cuda() ? over_cuda(std::move(mpi), world.device) : std::move(mpi);
  if (world.comm->size() > 1) start_watchdog(world.comm->rank(), watchdog_timeout_from_env());
  return world;
#else
  const int n = launched_world_size();
  if (n > 1)
    fail("dist: started by an MPI launcher as one of ", n,
         " ranks, but this lvk was built without MPI; install libopenmpi-dev (Debian) and rebuild, or run one process");
  world.device = parse_device(device_name);
  world.comm = make_single();
  return world;
#endif
}

void abort_world(const std::string& why) {
#if LVK_WITH_MPI
  if (!launched_by_mpi() || launched_world_size() <= 1) return;
  std::fprintf(stderr, "lvk: rank %s failed: %s; ending all ranks\n",
               std::getenv("OMPI_COMM_WORLD_RANK") ? std::getenv("OMPI_COMM_WORLD_RANK")
                                                   : (std::getenv("PMI_RANK") ? std::getenv("PMI_RANK") : "?"),
               why.c_str());
  std::fflush(stderr);
  mpi_abort(1);
#else
  (void)why;
#endif
}

}  // namespace lvk::dist
