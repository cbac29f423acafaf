// CPU twins of kernels/coupling.h: a loop per row, logdet accumulated in double. On AVX2 and
// AVX-512 the rows run in vector lanes (kernels/cpu/coupling_simd.h); the scalar loops below, with
// libm's tanh and exp, are the reference (LVK_CPU_ISA=base runs them).
#include "kernels/coupling.h"

#include <algorithm>

#include "kernels/coupling_math.h"
#include "kernels/cpu/coupling_simd.h"

namespace lvk::kernels::cpu {

namespace {
constexpr index_t kParallelElements = 1 << 15;  // below this, threads cost more than they save

// Applies `rule` (forward or inverse, passed as a lambda so it inlines) to each row and reduces its
// logdet terms.
template <class Rule>
void transform_rows(float* out, float* logdet, const float* in, const float* mask, const float* s_raw, const float* t,
                    float scale, index_t n, index_t d, Rule rule) {
#pragma omp parallel for schedule(static) if (n * d >= kParallelElements)
  for (index_t r = 0; r < n; ++r) {
    double acc = 0.0;
    for (index_t j = 0; j < d; ++j) {
      const index_t i = r * d + j;
      const coupling::Forward f = rule(in[i], mask[j], s_raw[i], t[i], scale);
      out[i] = f.y;
      acc += f.logdet_term;
    }
    logdet[r] = static_cast<float>(acc);
  }
}

const CouplingSimd* lanes() {
  static const CouplingSimd* v = coupling_simd(cpu_isa());
  return v;
}

// A [n, d] array in blocks of rows through a vectorised block function fn(first row, rows), the
// blocks spread over threads.
template <class Block>
void simd_blocks(index_t n, index_t d, Block fn) {
  const index_t rows = std::max<index_t>(1, 4096 / std::max<index_t>(d, 1)), blocks = (n + rows - 1) / rows;
#pragma omp parallel for schedule(static) if (n * d >= kParallelElements)
  for (index_t b = 0; b < blocks; ++b) fn(b * rows, std::min(rows, n - b * rows));
}
}  // namespace

void coupling_forward(float* y, float* logdet, const float* x, const float* mask, const float* s_raw, const float* t,
                      float scale, index_t n, index_t d) {
  if (const CouplingSimd* v = lanes())
    return simd_blocks(n, d, [&](index_t r, index_t m) {
      v->forward(y + r * d, logdet + r, x + r * d, mask, s_raw + r * d, t + r * d, scale, m, d);
    });
  transform_rows(y, logdet, x, mask, s_raw, t, scale, n, d,
                 [](float v, float m, float sr, float tt, float sc) { return coupling::forward(v, m, sr, tt, sc); });
}

void coupling_inverse(float* x, float* logdet, const float* y, const float* mask, const float* s_raw, const float* t,
                      float scale, index_t n, index_t d) {
  if (const CouplingSimd* v = lanes())
    return simd_blocks(n, d, [&](index_t r, index_t m) {
      v->inverse(x + r * d, logdet + r, y + r * d, mask, s_raw + r * d, t + r * d, scale, m, d);
    });
  transform_rows(x, logdet, y, mask, s_raw, t, scale, n, d,
                 [](float v, float m, float sr, float tt, float sc) { return coupling::inverse(v, m, sr, tt, sc); });
}

void coupling_forward_backward(float* dx, float* ds_raw, float* dt, const float* dy, const float* dlogdet,
                               const float* x, const float* mask, const float* s_raw, float scale, index_t n,
                               index_t d) {
  if (const CouplingSimd* v = lanes())
    return simd_blocks(n, d, [&](index_t r, index_t m) {
      const index_t o = r * d;
      v->forward_backward(dx + o, ds_raw + o, dt + o, dy + o, dlogdet ? dlogdet + r : nullptr, x + o, mask, s_raw + o,
                          scale, m, d);
    });
#pragma omp parallel for schedule(static) if (n * d >= kParallelElements)
  for (index_t r = 0; r < n; ++r) {
    const float dld = dlogdet ? dlogdet[r] : 0.0f;
    for (index_t j = 0; j < d; ++j) {
      const index_t i = r * d + j;
      const coupling::Grads g = coupling::forward_grads(dy[i], dld, x[i], mask[j], s_raw[i], scale);
      dx[i] = g.dx, ds_raw[i] = g.ds_raw, dt[i] = g.dt;
    }
  }
}

void coupling_inverse_backward(float* dy, float* ds_raw, float* dt, const float* dx, const float* dlogdet,
                               const float* y, const float* mask, const float* s_raw, const float* t, float scale,
                               index_t n, index_t d) {
  if (const CouplingSimd* v = lanes())
    return simd_blocks(n, d, [&](index_t r, index_t m) {
      const index_t o = r * d;
      v->inverse_backward(dy + o, ds_raw + o, dt + o, dx + o, dlogdet ? dlogdet + r : nullptr, y + o, mask, s_raw + o,
                          t + o, scale, m, d);
    });
#pragma omp parallel for schedule(static) if (n * d >= kParallelElements)
  for (index_t r = 0; r < n; ++r) {
    const float dld = dlogdet ? dlogdet[r] : 0.0f;
    for (index_t j = 0; j < d; ++j) {
      const index_t i = r * d + j;
      const coupling::Grads g = coupling::inverse_grads(dx[i], dld, y[i], mask[j], s_raw[i], t[i], scale);
      dy[i] = g.dx, ds_raw[i] = g.ds_raw, dt[i] = g.dt;
    }
  }
}

}  // namespace lvk::kernels::cpu
