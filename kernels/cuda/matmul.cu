// cuBLAS glue for row-major GEMM. cuBLAS is column-major: a row-major C[M, N] is a column-major
// C^T[N, M], so we ask for C^T = op(B)^T op(A)^T, i.e. swap the operands and keep the flags.
#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/matmul.h"

namespace lvk::kernels::cuda {

void sgemm(float* c, const float* a, const float* b, GemmShape s, float alpha, float beta, cublasHandle_t handle,
           cudaStream_t stream) {
  if (s.m == 0 || s.n == 0) return;
  LVK_CUBLAS_CHECK(cublasSetStream(handle, stream));
  // cuBLAS requires every leading dimension to be at least 1, also when k = 0 makes it empty.
  const int64_t lda = std::max<int64_t>(1, s.trans_a ? s.m : s.k);
  const int64_t ldb = std::max<int64_t>(1, s.trans_b ? s.k : s.n);
  LVK_CUBLAS_CHECK(cublasSgemm_64(handle, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  s.n, s.m, s.k, &alpha, b, ldb, a, lda, &beta, c, s.n));
}

}  // namespace lvk::kernels::cuda
