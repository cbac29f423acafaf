#pragma once
// Gradient averaging across data-parallel ranks: after the backward pass, every parameter's
// gradient is replaced by its mean over the ranks, in buckets of about `bucket_bytes` (small
// gradients are packed into one buffer so that each collective moves a useful amount, large ones
// go alone and in place). Every rank then holds the same gradients, so the global-norm clipping,
// the non-finite guard and the update are the same on all of them.
// The collectives go where the communicator puts them: NCCL on the compute stream (nothing waits),
// MPI synchronously on the CPU.
#include <cstddef>
#include <vector>

#include "models/module.h"
#include "runtime/dist/communicator.h"

namespace lvk {

class GradientSync {
 public:
  static constexpr size_t kDefaultBucketBytes = size_t{25} << 20;
  GradientSync(dist::Communicator& comm, size_t bucket_bytes = kDefaultBucketBytes);

  // Averages the defined gradients of `params` (every rank must have the same ones defined).
  void average(const ParameterList& params);
  // Averages one-element f32 tensors in place with a single collective (each small collective
  // costs a full latency of the ring). A tensor listed twice is averaged once.
  void average_scalars(const std::vector<Tensor>& scalars);
  // Collectives of the last average() and the bytes they moved per rank (for reports and tests).
  int last_collectives() const { return last_collectives_; }
  size_t last_bytes() const { return last_bytes_; }

 private:
  void flush(std::vector<Tensor>& bucket, int64_t elements);

  dist::Communicator& comm_;
  size_t bucket_bytes_;
  // Packed small gradients, one buffer per packed bucket, reused at fixed addresses (replays of a
  // captured step read them there).
  std::vector<Tensor> staging_;
  size_t packed_ = 0;  // packed buckets so far in this average()
  Tensor scalars_;     // the packed scalars, at a fixed address
  int last_collectives_ = 0;
  size_t last_bytes_ = 0;
};

}  // namespace lvk
