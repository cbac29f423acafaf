#pragma once
// Network-layer kernels: Linear (GEMM + fused bias/activation), activations, deterministic column
// sums (bias gradients) and elementwise losses. CPU twins in cpu/nn.cpp, CUDA twins in
// cuda/nn.cu and cuda/nn_linear.cu. Row-major; pointers marked "nullable" may be nullptr.
#include "kernels/nn_math.h"
#include "kernels/twins.h"

#if LVK_WITH_CUDA
#include <cublasLt.h>
#include <cublas_v2.h>
#endif

namespace lvk::kernels {

// Floats of scratch space column_sum needs on CUDA for [rows, cols] (the CPU twin needs none).
index_t column_sum_workspace_size(index_t rows, index_t cols);
// Bytes of cuBLASLt workspace the CUDA linear_forward may use.
constexpr size_t kLinearWorkspaceBytes = size_t{8} << 20;

#define LVK_NN_DECLS(...)                                                                                            \
  /* y[r, c] = act(x[r, c] + bias[c]); z (nullable) receives the pre-activation. y may alias x. */                   \
  void bias_act_forward(float* y /* [rows, cols] */, float* z /* [rows, cols] */, const float* x /* [rows, cols] */, \
                        const float* bias /* [cols], nullable */, index_t rows, index_t cols, Activation act,        \
                        float slope __VA_ARGS__);                                                                    \
  /* dz = dy * act'(.) from y or z (see activation_needs_preact); dz may alias dy. */                                \
  void act_backward(float* dz /* [n] */, const float* dy /* [n] */, const float* y /* [n] */,                        \
                    const float* z /* [n], nullable unless needed */, index_t n, Activation act,                     \
                    float slope __VA_ARGS__);                                                                        \
  /* out[c] = sum over rows of x[r, c], in a fixed order (no atomics). */                                            \
  void column_sum(float* out /* [cols] */, const float* x /* [rows, cols] */, index_t rows, index_t cols,            \
                  float* workspace /* [column_sum_workspace_size] */ __VA_ARGS__);                                   \
  /* terms[i] = loss_term(kind, a[i], b[i], c[i], param); c nullable unless kind == gaussian_nll. */                 \
  void loss_terms(float* terms /* [n] */, const float* a /* [n] */, const float* b /* [n] */,                        \
                  const float* c /* [n] */, index_t n, LossKind kind, float param __VA_ARGS__);                      \
  /* d{a,b,c}[i] = factor * dloss[0] * d term_i / d{a,b,c}; each output nullable (skipped). */                       \
  void loss_backward(float* da, float* db, float* dc /* [n] each */, const float* a, const float* b, const float* c, \
                     const float* dloss /* [1] */, float factor, index_t n, LossKind kind, float param __VA_ARGS__);

namespace cpu {
LVK_NN_DECLS()
// y = act(x w^T + bias) for x [n, in], w [out, in]; z (nullable) gets x w^T + bias.
void linear_forward(float* y /* [n, out] */, float* z /* [n, out], nullable */, const float* x /* [n, in] */,
                    const float* w /* [out, in] */, const float* bias /* [out], nullable */, index_t n, index_t in,
                    index_t out, Activation act, float slope);
}  // namespace cpu
#if LVK_WITH_CUDA
namespace cuda {
LVK_NN_DECLS(, cudaStream_t stream)
// cuBLASLt with the bias (and ReLU / GELU) fused into the GEMM epilogue; other activations run as
// one extra elementwise pass. Falls back to cuBLAS + bias_act_forward when Lt finds no algorithm.
void linear_forward(float* y, float* z, const float* x, const float* w, const float* bias, index_t n, index_t in,
                    index_t out, Activation act, float slope, cublasLtHandle_t lt, cublasHandle_t blas,
                    void* workspace /* kLinearWorkspaceBytes */, cudaStream_t stream);
}  // namespace cuda
#endif
#undef LVK_NN_DECLS

}  // namespace lvk::kernels
