#pragma once
// Checks for CUDA, cuBLAS and cuDNN calls, naming the call, file and line. Only for files built
// with the CUDA backend.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "base/error.h"

namespace lvk::detail {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn_error(cudnnStatus_t st, const char* call, const char* file, int line);
}  // namespace lvk::detail

#define LVK_CUDA_CHECK(call)                                                                           \
  do {                                                                                                 \
    cudaError_t lvk_err_ = (call);                                                                     \
    if (lvk_err_ != cudaSuccess) ::lvk::detail::throw_cuda_error(lvk_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define LVK_CUBLAS_CHECK(call)                                                                                   \
  do {                                                                                                           \
    cublasStatus_t lvk_st_ = (call);                                                                             \
    if (lvk_st_ != CUBLAS_STATUS_SUCCESS) ::lvk::detail::throw_cublas_error(lvk_st_, #call, __FILE__, __LINE__); \
  } while (0)

#define LVK_CUDNN_CHECK(call)                                                                                  \
  do {                                                                                                         \
    cudnnStatus_t lvk_st_ = (call);                                                                            \
    if (lvk_st_ != CUDNN_STATUS_SUCCESS) ::lvk::detail::throw_cudnn_error(lvk_st_, #call, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: catches bad launch configurations at the launch site. Does not
// synchronize (asynchronous faults surface at the next synchronizing call).
#define LVK_LAUNCH_CHECK(kernel_name) LVK_CUDA_CHECK(cudaPeekAtLastError())
