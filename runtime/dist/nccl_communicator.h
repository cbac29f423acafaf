#pragma once
// NCCL on CUDA tensors (only in CUDA builds that found NCCL, LVK_WITH_NCCL). Internal to
// runtime/dist.
#include <memory>

#include "runtime/dist/communicator.h"

namespace lvk::dist {

// A communicator of `bootstrap.size()` ranks over the current CUDA device: rank 0 creates the
// NCCL unique id and `bootstrap` (MPI, or the world of one) broadcasts it.
std::unique_ptr<Communicator> make_nccl(Communicator& bootstrap, Device device);

}  // namespace lvk::dist
