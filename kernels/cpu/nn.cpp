// CPU twins of kernels/nn.h: plain loops (OpenMP over independent elements), double accumulators
// for reductions so the reference is the more exact side.
#include "kernels/nn.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/loss_simd.h"

namespace lvk::kernels {

#if !LVK_WITH_CUDA
index_t column_sum_workspace_size(index_t, index_t) {
  return 0;
}  // the CUDA build defines it in cuda/nn.cu
#endif

namespace cpu {

using namespace nn_math;

namespace {
// The activation as a template parameter, so the switch leaves the inner loop and the loop
// vectorises (it ran 10x slower per element with the switch inside).
template <Activation A>
void bias_act_rows(float* y, float* z, const float* x, const float* bias, index_t rows, index_t cols, float slope) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float* zr = z ? z + r * cols : nullptr;
    for (index_t c = 0; c < cols; ++c) {
      const float pre = xr[c] + (bias ? bias[c] : 0.0f);
      if (zr) zr[c] = pre;
      yr[c] = activate(A, pre, slope);
    }
  }
}
}  // namespace

void bias_act_forward(float* y, float* z, const float* x, const float* bias, index_t rows, index_t cols, Activation act,
                      float slope) {
  switch (act) {
    case Activation::none:
      return bias_act_rows<Activation::none>(y, z, x, bias, rows, cols, slope);
    case Activation::relu:
      return bias_act_rows<Activation::relu>(y, z, x, bias, rows, cols, slope);
    case Activation::leaky_relu:
      return bias_act_rows<Activation::leaky_relu>(y, z, x, bias, rows, cols, slope);
    case Activation::silu:
      return bias_act_rows<Activation::silu>(y, z, x, bias, rows, cols, slope);
    case Activation::tanh:
      return bias_act_rows<Activation::tanh>(y, z, x, bias, rows, cols, slope);
    case Activation::sigmoid:
      return bias_act_rows<Activation::sigmoid>(y, z, x, bias, rows, cols, slope);
    case Activation::gelu:
      return bias_act_rows<Activation::gelu>(y, z, x, bias, rows, cols, slope);
  }
}

namespace {
// One vector loop per activation over the operand it needs (y or z, activation_needs_preact),
// derivative first in the product; `simd` holds also when dz is dy, and kernels/CMakeLists.txt lets
// relu's select vectorise. The scalar loop, with relu's data-dependent branch, took 12% of a VQ-VAE
// train step. A derivative that reads nothing (no activation) may come without an operand.
template <Activation A>
void act_backward_n(float* dz, const float* dy, const float* y, const float* z, index_t n, float slope) {
  const float* operand = activation_needs_preact(A) ? z : y;
  if (!operand) {
    const float g = activation_grad(A, 0.0f, 0.0f, slope);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (index_t i = 0; i < n; ++i) dz[i] = dy[i] * g;
    return;
  }
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) {
    const float v = operand[i];
    dz[i] = dy[i] * activation_grad(A, v, v, slope);
  }
}
}  // namespace

void act_backward(float* dz, const float* dy, const float* y, const float* z, index_t n, Activation act, float slope) {
  switch (act) {
    case Activation::none:
      return act_backward_n<Activation::none>(dz, dy, y, z, n, slope);
    case Activation::relu:
      return act_backward_n<Activation::relu>(dz, dy, y, z, n, slope);
    case Activation::leaky_relu:
      return act_backward_n<Activation::leaky_relu>(dz, dy, y, z, n, slope);
    case Activation::silu:
      return act_backward_n<Activation::silu>(dz, dy, y, z, n, slope);
    case Activation::tanh:
      return act_backward_n<Activation::tanh>(dz, dy, y, z, n, slope);
    case Activation::sigmoid:
      return act_backward_n<Activation::sigmoid>(dz, dy, y, z, n, slope);
    case Activation::gelu:
      return act_backward_n<Activation::gelu>(dz, dy, y, z, n, slope);
  }
}

void column_sum(float* out, const float* x, index_t rows, index_t cols, float*) {
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) acc[c] += x[r * cols + c];
  for (index_t c = 0; c < cols; ++c) out[c] = static_cast<float>(acc[c]);
}

namespace {
constexpr index_t kLossChunk = 1 << 14;  // elements per parallel task of the vectorised BCE

const BceSimd* bce_fast(LossKind kind) {
  static const BceSimd* simd = bce_simd(cpu_isa());
  return kind == LossKind::bce_logits ? simd : nullptr;
}
}  // namespace

void loss_terms(float* terms, const float* a, const float* b, const float* c, index_t n, LossKind kind, float param) {
  if (const BceSimd* simd = bce_fast(kind)) {
    const index_t chunks = (n + kLossChunk - 1) / kLossChunk;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (index_t k = 0; k < chunks; ++k)
      simd->terms(terms + k * kLossChunk, a + k * kLossChunk, b + k * kLossChunk,
                  std::min(kLossChunk, n - k * kLossChunk));
    return;
  }
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) terms[i] = loss_term(kind, a[i], b[i], c ? c[i] : 0.0f, param);
}

void loss_backward(float* da, float* db, float* dc, const float* a, const float* b, const float* c, const float* dloss,
                   float factor, index_t n, LossKind kind, float param) {
  const float g = factor * dloss[0];
  if (const BceSimd* simd = bce_fast(kind)) {
    if (dc) std::fill(dc, dc + n, 0.0f);
    const index_t chunks = (n + kLossChunk - 1) / kLossChunk;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (index_t k = 0; k < chunks; ++k) {
      const index_t at = k * kLossChunk;
      simd->backward(da ? da + at : nullptr, db ? db + at : nullptr, a + at, b + at, g, std::min(kLossChunk, n - at));
    }
    return;
  }
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (index_t i = 0; i < n; ++i) {
    float ga, gb, gc;
    loss_term_grad(kind, a[i], b[i], c ? c[i] : 0.0f, param, &ga, &gb, &gc);
    if (da) da[i] = g * ga;
    if (db) db[i] = g * gb;
    if (dc) dc[i] = g * gc;
  }
}

}  // namespace cpu
}  // namespace lvk::kernels
