#pragma once
// The CUDA half of the context: one compute stream and lazily created library handles.
// Only for files built with the CUDA backend.
#include "base/cuda_check.h"

namespace lvk::cuda {

cudaStream_t stream();    // the compute stream every op launches on (or a StreamScope's)
cublasHandle_t cublas();  // bound to stream(); FP32 math (no TF32) by default
cublasLtHandle_t cublaslt();
cudnnHandle_t cudnn();  // bound to stream()

// Stream-ordered device memory (cudaMallocAsync on the device's pool). LVK_SYNC_ALLOC=1 switches
// to plain cudaMalloc/cudaFree so compute-sanitizer sees every buffer.
void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;
bool sync_alloc();

// Makes `s` this thread's compute stream for the guard's lifetime: every launch, library call,
// allocation and free goes there (how the Python package runs on the caller's stream). Memory
// allocated inside the scope may outlive it; its free is then ordered on the stream current then.
class StreamScope {
 public:
  explicit StreamScope(cudaStream_t s);
  ~StreamScope();
  StreamScope(const StreamScope&) = delete;
  StreamScope& operator=(const StreamScope&) = delete;

 private:
  cudaStream_t previous_;
  bool previous_set_;
};

}  // namespace lvk::cuda
