// Emulated cuBLAS: handles and SGEMM, validated as the cuBLAS documentation specifies and run as
// stream-ordered work on the reference GEMM.
#include <algorithm>

#include "cublas_v2.h"
#include "handle_registry.h"
#include "lvk_emu/enqueue.h"
#include "ref_gemm.h"
#include "vendor_support.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace {

using lvk_emu::registry;

bool alive(cublasHandle_t h) {
  return registry<cublasContext>().alive(h);
}

bool valid_op(cublasOperation_t op) {
  return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

cublasStatus_t reject(const char* api, cublasStatus_t st, const char* reason) {
  lvk_emu::lib_log(api, reason);
  return st;
}

}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = registry<cublasContext>().create();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  return registry<cublasContext>().destroy(handle) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!version) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;  // like cuBLAS, a bad stream surfaces at the first launch
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!stream) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE) return CUBLAS_STATUS_INVALID_VALUE;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t* mode) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  const int base = static_cast<int>(mode) & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  switch (base) {
    case CUBLAS_DEFAULT_MATH:
    case CUBLAS_TENSOR_OP_MATH:
    case CUBLAS_PEDANTIC_MATH:
    case CUBLAS_TF32_TENSOR_OP_MATH:
    case CUBLAS_FP32_EMULATED_BF16X9_MATH:
    case CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH:
      handle->math = mode;
      return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                                 int64_t n, int64_t k, const float* alpha, const float* A, int64_t lda, const float* B,
                                 int64_t ldb, const float* beta, float* C, int64_t ldc) {
  static const char* api = "cublasSgemm";
  if (!alive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  // The documented argument checks, made whatever the sizes (an empty product included).
  if (!valid_op(transa) || !valid_op(transb)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "invalid operation");
  if (m < 0 || n < 0 || k < 0) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "negative m, n or k");
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
  const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
  if (lda < std::max<int64_t>(1, a_rows)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "lda < rows of A");
  if (ldb < std::max<int64_t>(1, b_rows)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "ldb < rows of B");
  if (ldc < std::max<int64_t>(1, m)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "ldc < m");
  if (!alpha || !beta) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "alpha or beta is NULL");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;

  const bool device_scalars = handle->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  if (device_scalars && (!lvk_emu::device_operand(alpha, sizeof(float), api, "alpha") ||
                         !lvk_emu::device_operand(beta, sizeof(float), api, "beta")))
    return CUBLAS_STATUS_EXECUTION_FAILED;
  if (!lvk_emu::device_operand(A, lvk_emu::matrix_span_bytes(a_rows, a_cols, lda, sizeof(float)), api, "A") ||
      !lvk_emu::device_operand(B, lvk_emu::matrix_span_bytes(b_rows, b_cols, ldb, sizeof(float)), api, "B") ||
      !lvk_emu::device_operand(C, lvk_emu::matrix_span_bytes(m, n, ldc, sizeof(float)), api, "C"))
    return CUBLAS_STATUS_EXECUTION_FAILED;

  lvk_emu::GemmArgs g;
  g.trans_a = ta, g.trans_b = tb, g.m = m, g.n = n, g.k = k;
  g.a = A, g.lda = lda, g.b = B, g.ldb = ldb, g.c = C, g.ldc = ldc, g.d = C, g.ldd = ldc;
  const int base_math = handle->math & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  g.tf32 = base_math == CUBLAS_TF32_TENSOR_OP_MATH && lvk_emu::tf32_allowed();
  if (!device_scalars) g.alpha = *alpha, g.beta = *beta;  // host scalars are read before returning
  const cudaError_t err = lvk_emu::enqueue(handle->stream, api, [g, device_scalars, alpha, beta]() mutable {
    if (device_scalars) g.alpha = *alpha, g.beta = *beta;
    lvk_emu::reference_gemm(g);
  });
  return err == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  return cublasSgemm_v2_64(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // extern "C"
