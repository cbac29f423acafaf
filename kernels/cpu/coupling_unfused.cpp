#include "kernels/coupling_unfused.h"

#include <cmath>

namespace lvk::kernels::cpu {

namespace {
template <class F>
void pass(index_t n, F f) {
#pragma omp parallel for schedule(static) if (n > (1 << 14))
  for (index_t i = 0; i < n; ++i) f(i);
}
}  // namespace

void coupling_forward_unfused(float* y, float* logdet, const float* x, const float* mask, const float* s_raw,
                              const float* t, float scale, index_t n, index_t d, float* scratch) {
  const index_t nd = n * d;
  float *s = scratch, *e = scratch + nd, *masked = scratch + 2 * nd;
  pass(nd, [=](index_t i) { s[i] = scale * std::tanh(s_raw[i]); });
  pass(nd, [=](index_t i) { e[i] = std::exp(s[i]); });
  pass(nd, [=](index_t i) { y[i] = x[i] * e[i]; });
  pass(nd, [=](index_t i) { y[i] = y[i] + t[i]; });
  pass(nd, [=](index_t i) { y[i] = mask[i % d] * x[i] + (1.0f - mask[i % d]) * y[i]; });
  pass(nd, [=](index_t i) { masked[i] = (1.0f - mask[i % d]) * s[i]; });
  pass(n, [=](index_t r) {
    float acc = 0.0f;
    for (index_t j = 0; j < d; ++j) acc += masked[r * d + j];
    logdet[r] = acc;
  });
}

}  // namespace lvk::kernels::cpu
