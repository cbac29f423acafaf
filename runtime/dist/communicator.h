#pragma once
// The collectives data-parallel training needs, behind one small interface: all-reduce (sum or
// average, in place), broadcast, all-gather along dim 0 and a barrier. Implementations:
//   single  a world of one process: every call is a no-op (all_gather returns its input)
//   mpi     Open MPI (or any MPI-3) on CPU tensors
//   nccl    NCCL on CUDA tensors, enqueued on the compute stream (capturable in a CUDA Graph);
//           its unique id is broadcast over MPI
// Every rank must make the same calls in the same order with tensors of the same shape and dtype.
// Results are identical on every rank: the MPI all-reduce reduces to rank 0 and broadcasts
// (MPI_Allreduce does not promise identical bits on all ranks); NCCL's ring does by construction.
#include <memory>
#include <string>

#include "runtime/tensor.h"

namespace lvk::dist {

enum class ReduceOp { sum, avg };

// A collective in flight (see Communicator::start_all_reduce_).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  // Whether the result is there for whatever is enqueued next on the current stream: at once for
  // a collective ordered on a device stream; for a host-driven one, when it has completed. Each
  // call also lets a host-driven collective progress (MPI advances only inside MPI calls).
  virtual bool done() = 0;
  // Blocks until done().
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string kind() const = 0;  // "single", "mpi" or "nccl"
  // t: contiguous f32 or i32 (avg: f32 only) on the device this communicator serves.
  virtual void all_reduce_(Tensor& t, ReduceOp op) = 0;
  // all_reduce_ without blocking the caller: t must be neither read nor written until the
  // returned collective is done(). Stream-ordered implementations (NCCL) enqueue it on the
  // current stream; MPI starts non-blocking collectives. The default runs all_reduce_.
  virtual std::unique_ptr<PendingCollective> start_all_reduce_(Tensor& t, ReduceOp op);
  virtual void broadcast_(Tensor& t, int root) = 0;
  // Every rank's t concatenated along dim 0 in rank order; all ranks must pass the same shape.
  virtual Tensor all_gather(const Tensor& t) = 0;
  virtual void barrier() = 0;
  bool is_root() const { return rank() == 0; }
};

// The world of one process.
std::unique_ptr<Communicator> make_single();

}  // namespace lvk::dist
