#pragma once
// Row-major GEMM: C[M, N] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T.
// A is [M, K] (or [K, M] when trans_a), B is [K, N] (or [N, K] when trans_b).
// CPU: OpenBLAS sgemm when built with it, else a blocked loop. CUDA: cuBLAS, FP32 (no TF32).
#include "kernels/twins.h"

#if LVK_WITH_CUDA
#include <cublas_v2.h>
#endif

namespace lvk::kernels {

struct GemmShape {
  index_t m, n, k;
  bool trans_a = false, trans_b = false;
};

namespace cpu {
void sgemm(float* c, const float* a, const float* b, GemmShape shape, float alpha, float beta);
}
#if LVK_WITH_CUDA
namespace cuda {
void sgemm(float* c, const float* a, const float* b, GemmShape shape, float alpha, float beta, cublasHandle_t handle,
           cudaStream_t stream);
}
#endif

}  // namespace lvk::kernels
