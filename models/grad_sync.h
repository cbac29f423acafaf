#pragma once
// Gradient averaging across data-parallel ranks, overlapped with the backward pass. Gradients go in
// buckets of about `bucket_bytes` (small ones packed into one buffer so that each collective moves
// a useful amount, large ones alone and in place); a bucket's all-reduce starts as soon as the tape
// reports every gradient in it final, while the backward pass goes on:
//
//   sync.begin(params);
//   tape.on_leaf_gradient_final(sync.hook());
//   tape.backward(loss);
//   sync.finish(params);  // every rank now holds the mean gradients
//
// Buckets start in one fixed order on every rank (a bucket that is complete early waits for the
// ones before it), so the ranks' collectives always pair up. On CUDA (NCCL) the packing, the
// collective and the unpacking run on a side stream forked from the compute stream and joined back
// by finish(), which a CUDA Graph capture records as a fork and a join; on the CPU (MPI) they are
// non-blocking collectives that progress whenever the tape reports a gradient. Every rank then
// holds the same gradients, so the global-norm clipping, the non-finite guard and the update are
// the same on all of them.
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "models/module.h"
#include "runtime/dist/communicator.h"
#include "runtime/side_stream.h"
#include "runtime/tape.h"

namespace lvk {

class GradientSync {
 public:
  static constexpr size_t kDefaultBucketBytes = size_t{25} << 20;
  GradientSync(dist::Communicator& comm, Device device, size_t bucket_bytes = kDefaultBucketBytes);

  // Plans this pass's buckets over the parameters whose gradients are defined now (from the
  // second step on, all that ever get one), last parameter first: the order in which the backward
  // pass tends to finish them. Every rank must have the same gradients defined.
  void begin(const ParameterList& params);
  // `leaf`'s gradient is final: starts, in plan order, every bucket whose gradients all are.
  void gradient_final(const Tensor& leaf);
  Tape::LeafFinalHook hook() {
    return [this](const Tensor& leaf) { gradient_final(leaf); };
  }
  // Starts the buckets left, waits for them all, then averages any gradient first defined during
  // this pass (on the first step, all of them) the same way. Afterwards work on the compute stream
  // sees the averaged gradients.
  void finish(const ParameterList& params);
  // The whole exchange after a backward pass, without overlap: begin() then finish().
  void average(const ParameterList& params);

  // Averages one-element f32 tensors in place with a single collective (each small collective
  // costs a full latency of the ring). A tensor listed twice is averaged once.
  void average_scalars(const std::vector<Tensor>& scalars);

  // The last pass: collectives, bytes they moved per rank, and how many of the collectives started
  // before finish(), i.e. overlapped with the backward pass.
  int last_collectives() const { return last_collectives_; }
  size_t last_bytes() const { return last_bytes_; }
  int last_overlapped() const { return last_overlapped_; }

 private:
  struct Bucket {
    std::vector<Tensor> grads;
    std::vector<const void*> owners;  // the parameters' ids, in the order of grads
    int64_t elements = 0;
    int waiting = 0;  // gradients not final yet
    std::unique_ptr<dist::PendingCollective> collective;
    bool unpacked = false;  // the mean is back in the gradients (or was reduced in place)
  };
  // Buckets over the defined gradients of `params` that no bucket of this pass holds yet.
  void plan(const ParameterList& params);
  void launch_ready();
  void launch(size_t index);
  void unpack(size_t index);
  void poll();
  void drain();  // starts every bucket left, waits for all, joins the side stream

  dist::Communicator& comm_;
  size_t bucket_bytes_;
  SideStream side_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const void*, size_t> bucket_of_;  // gradient's parameter id -> bucket
  size_t launched_ = 0;                                // buckets [0, launched_) have started
  // Packed buckets' buffers, by bucket index, reused at fixed addresses (replays of a captured step
  // read them there).
  std::vector<Tensor> staging_;
  Tensor scalars_;  // the packed scalars, at a fixed address
  int last_collectives_ = 0;
  size_t last_bytes_ = 0;
  int last_overlapped_ = 0;
};

}  // namespace lvk
