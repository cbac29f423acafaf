#pragma once
// MPI on CPU tensors (only in builds with MPI, LVK_WITH_MPI). Internal to runtime/dist.
#include <memory>

#include "runtime/dist/communicator.h"

namespace lvk::dist {

// Initialises MPI once (MPI_THREAD_FUNNELED) and returns a communicator over a duplicate of
// MPI_COMM_WORLD whose errors are returned (MPI_ERRORS_RETURN) and thrown as lvk::Error.
std::unique_ptr<Communicator> make_mpi();
// The rank of this process among the ranks of its machine (MPI_Comm_split_type SHARED).
int mpi_local_rank();
// MPI_Abort on MPI_COMM_WORLD when MPI is initialised and not finalised.
void mpi_abort(int code);

}  // namespace lvk::dist
