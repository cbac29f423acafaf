// CPU twins of kernels/nn.h: plain loops (OpenMP over independent elements), double accumulators
// for reductions so the reference is the more exact side.
#include "kernels/matmul.h"
#include "kernels/nn.h"

#include <vector>

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t column_sum_workspace_size(index_t, index_t) { return 0; }  // the CUDA build defines it in cuda/nn.cu
#endif

namespace cpu {

using namespace nn_math;

void bias_act_forward(float* y, float* z, const float* x, const float* bias, index_t rows, index_t cols,
                      Activation act, float slope) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const index_t i = r * cols + c;
      const float pre = x[i] + (bias ? bias[c] : 0.0f);
      if (z) z[i] = pre;
      y[i] = activate(act, pre, slope);
    }
}

void act_backward(float* dz, const float* dy, const float* y, const float* z, index_t n, Activation act, float slope) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) dz[i] = dy[i] * activation_grad(act, y ? y[i] : 0.0f, z ? z[i] : 0.0f, slope);
}

void column_sum(float* out, const float* x, index_t rows, index_t cols, float*) {
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) acc[c] += x[r * cols + c];
  for (index_t c = 0; c < cols; ++c) out[c] = static_cast<float>(acc[c]);
}

void loss_terms(float* terms, const float* a, const float* b, const float* c, index_t n, LossKind kind, float param) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) terms[i] = loss_term(kind, a[i], b[i], c ? c[i] : 0.0f, param);
}

void loss_backward(float* da, float* db, float* dc, const float* a, const float* b, const float* c, const float* dloss,
                   float factor, index_t n, LossKind kind, float param) {
  const float g = factor * dloss[0];
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) {
    float ga, gb, gc;
    loss_term_grad(kind, a[i], b[i], c ? c[i] : 0.0f, param, &ga, &gb, &gc);
    if (da) da[i] = g * ga;
    if (db) db[i] = g * gb;
    if (dc) dc[i] = g * gc;
  }
}

void linear_forward(float* y, float* z, const float* x, const float* w, const float* bias, index_t n, index_t in,
                    index_t out, Activation act, float slope) {
  sgemm(y, x, w, GemmShape{n, out, in, false, true}, 1.0f, 0.0f);
  if (act != Activation::none || bias || z) bias_act_forward(y, z, y, bias, n, out, act, slope);
}

}  // namespace cpu
}  // namespace lvk::kernels
