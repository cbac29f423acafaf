#pragma once
// The CUDA half of the context: one compute stream and lazily created library handles.
// Only for files built with the CUDA backend.
#include "runtime/cuda_check.h"

namespace lvk::cuda {

cudaStream_t stream();              // the compute stream every op launches on
cublasHandle_t cublas();            // bound to stream(); FP32 math (no TF32) by default
cublasLtHandle_t cublaslt();
cudnnHandle_t cudnn();              // bound to stream()

// Stream-ordered device memory (cudaMallocAsync on the device's pool). LVK_SYNC_ALLOC=1 switches
// to plain cudaMalloc/cudaFree so compute-sanitizer sees every buffer.
void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;
bool sync_alloc();

}  // namespace lvk::cuda
