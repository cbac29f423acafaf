// Built only with the CUDA backend: the error paths of the checks in base/cuda_check.h.
#include "base/cuda_check.h"

namespace lvk {

namespace detail {
void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  fail("CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in ", call, " at ", file, ":", line);
}
void throw_cublas_error(cublasStatus_t st, const char* call, const char* file, int line) {
  fail("cuBLAS error ", cublasGetStatusName(st), " (", cublasGetStatusString(st), ") in ", call, " at ", file, ":",
       line);
}
void throw_cudnn_error(cudnnStatus_t st, const char* call, const char* file, int line) {
  fail("cuDNN error ", cudnnGetErrorString(st), " in ", call, " at ", file, ":", line);
}
}  // namespace detail

}  // namespace lvk
