// CPU twin of kernels/made.h: one sample at a time (OpenMP over samples), the first layer's
// pre-activations updated incrementally, deeper layers re-evaluated per step, logdet in double.
#include "kernels/made.h"

#include <algorithm>
#include <vector>

#include "kernels/coupling_math.h"

namespace lvk::kernels::cpu {

namespace {
float dot(const float* a, const float* b, index_t n) {
  float acc = 0.0f;
  for (index_t k = 0; k < n; ++k) acc += a[k] * b[k];
  return acc;
}
}  // namespace

void made_inverse(float* x, float* logdet, const float* u, const MadeWeights& m, float scale, index_t n) {
  const index_t d = m.d, h = m.h;
  // W_in transposed so the incremental update reads one contiguous column per step.
  std::vector<float> w_in_t(static_cast<size_t>(d * h));
  for (index_t k = 0; k < h; ++k)
    for (index_t j = 0; j < d; ++j) w_in_t[j * h + k] = m.w_in[k * d + j];
#pragma omp parallel for schedule(static) if (n * d * h >= (1 << 16))
  for (index_t r = 0; r < n; ++r) {
    std::vector<float> pre(m.b_in, m.b_in + h), act(h), next(h);
    double acc = 0.0;
    for (index_t t = 0; t < d; ++t) {
      const index_t i = m.order[t];
      for (index_t k = 0; k < h; ++k) act[k] = std::max(pre[k], 0.0f);
      for (int l = 0; l + 1 < m.hidden_layers; ++l) {
        const float* w = m.w_hidden + l * h * h;
        for (index_t k = 0; k < h; ++k) next[k] = std::max(dot(w + k * h, act.data(), h) + m.b_hidden[l * h + k], 0.0f);
        act.swap(next);
      }
      const float shift = dot(m.w_shift + i * h, act.data(), h) + m.b_shift[i];
      const float alpha_raw = dot(m.w_log_scale + i * h, act.data(), h) + m.b_log_scale[i];
      const coupling::Forward f = coupling::forward(u[r * d + i], 0.0f, alpha_raw, shift, scale);
      x[r * d + i] = f.y;
      acc += f.logdet_term;
      const float* column = w_in_t.data() + i * h;
      for (index_t k = 0; k < h; ++k) pre[k] += column[k] * f.y;
    }
    if (logdet) logdet[r] = static_cast<float>(acc);
  }
}

}  // namespace lvk::kernels::cpu
