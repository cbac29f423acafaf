#pragma once
// A second CUDA stream for work that overlaps the compute stream, such as the gradient all-reduce
// that runs while the backward pass goes on. fork() and join() are event waits in both
// directions, so they order correctly inside a CUDA Graph capture too (the capture then spans
// both streams). For a CPU device, or a build without CUDA, every call is a no-op and work stays
// on the caller's thread.
#include "runtime/device.h"

namespace lvk {

class SideStream {
 public:
  explicit SideStream(Device device);
  ~SideStream();
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;

  // Work enqueued on the side from now on runs after everything the compute stream holds now.
  void fork();
  // Work enqueued on the compute stream from now on runs after everything the side holds now.
  // Every fork must be joined before a capture ends.
  void join();

  // Makes the side stream this thread's current stream (launches, copies, allocations and
  // stream-ordered collectives go there) for the guard's lifetime.
  class Scope {
   public:
    explicit Scope(SideStream& side);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    void* guard_ = nullptr;  // cuda::StreamScope, when the side stream exists
  };

 private:
  void* stream_ = nullptr;   // cudaStream_t; null when there is nothing to overlap with
  void* forked_ = nullptr;   // cudaEvent_t recorded on the compute stream by fork()
  void* joined_ = nullptr;   // cudaEvent_t recorded on the side stream by join()
  bool joined_back_ = true;  // no fork since the last join
};

}  // namespace lvk
