#pragma once
// Joining the world of ranks a launcher started (mpirun, srun --mpi=pmix). A process that no
// launcher started never initialises MPI: it is a world of one at no cost.
#include <memory>
#include <string>

#include "runtime/device.h"
#include "runtime/dist/communicator.h"

namespace lvk::dist {

// Whether a launcher started this process: OMPI_COMM_WORLD_SIZE (Open MPI), PMI_SIZE (MPICH,
// Slurm PMI-2) or PMIX_RANK (PMIx, Slurm's --mpi=pmix) is set.
bool launched_by_mpi();
// The world size the launcher announced, 1 when there is none (read from the environment,
// before MPI is initialised).
int launched_world_size();

struct World {
  std::unique_ptr<Communicator> comm;  // over `device`: MPI on the CPU, NCCL on CUDA
  Device device;                       // for CUDA: this rank's GPU (local rank modulo GPUs)
  int local_rank = 0;                  // rank among the processes of this machine
};

// Whether this build can run more than one rank: over MPI (CPU ranks, and the launch of any), and
// over NCCL (GPU ranks).
bool built_with_mpi();
bool built_with_nccl();

// The device named by `device_name` (parse_device's names) and the communicator over it. Outside
// a launcher: a world of one, except that LVK_DIST_NCCL=1 with a CUDA device builds a one-rank
// NCCL communicator (to exercise NCCL on one GPU). Under a launcher: MPI is initialised (once) and
// the local rank found with MPI_Comm_split_type(SHARED); for CUDA, before the CUDA runtime starts,
// CUDA_VISIBLE_DEVICES is narrowed to the local rank's GPU (the local rank-th entry of the list
// already set, or GPU local_rank), so "cuda:0" is the rank's own GPU, and NCCL is bootstrapped.
// Throws naming what is missing when the build has no MPI (or no NCCL for CUDA) and more than one
// rank was asked for.
World join_world(const std::string& device_name);

// Ends the whole job after an error on this rank: prints `why` naming the rank and calls
// MPI_Abort, so that ranks waiting in a collective do not hang. Does nothing outside a launcher
// (or in a world of one), where returning the error is enough.
void abort_world(const std::string& why);

}  // namespace lvk::dist
