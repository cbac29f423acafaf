#pragma once
// The reference FP32 GEMM behind the emulated cublasSgemm and cublasLtMatmul.
#include <cstdint>

namespace lvk_emu {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
  const float* a = nullptr;  // op(A) is m x k
  int64_t lda = 1;
  const float* b = nullptr;  // op(B) is k x n
  int64_t ldb = 1;
  const float* c = nullptr;  // read only when beta != 0
  int64_t ldc = 1;
  float* d = nullptr;  // may equal c (same ld)
  int64_t ldd = 1;
  bool tf32 = false;  // round A and B to TF32 first, as TF32 tensor-core math does
};

// D = alpha op(A) op(B) + beta C, column-major. Each element accumulates its k products in FP32 in
// increasing k order, so results repeat bit for bit. As in BLAS, alpha == 0 or k == 0 reads
// neither A nor B, and beta == 0 does not read C.
void reference_gemm(const GemmArgs& g);

}  // namespace lvk_emu
