// CPU twins of kernels/categorical_nll.h: the reference. One row at a time (rows in parallel),
// the sum of exponentials in double.
#include "kernels/categorical_nll.h"

#include <cmath>
#include <limits>

namespace lvk::kernels::cpu {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr index_t kParallelMin = 1 << 15;
constexpr float kInf = std::numeric_limits<float>::infinity();

bool in_range(int32_t t, index_t k) {
  return t >= 0 && static_cast<index_t>(t) < k;
}
}  // namespace

void categorical_nll_forward(float* nll, float* lse, const float* logits, const int32_t* target, index_t n, index_t k) {
#pragma omp parallel for schedule(static) if (n * k >= kParallelMin)
  for (index_t r = 0; r < n; ++r) {
    const float* l = logits + r * k;
    float mx = -kInf;
    for (index_t j = 0; j < k; ++j) mx = std::max(mx, l[j]);
    double s = 0.0;
    if (mx != -kInf)
      for (index_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(l[j]) - mx);
    const double row_lse = static_cast<double>(mx) + std::log(s);  // -inf - inf = NaN for an all -inf row
    lse[r] = static_cast<float>(row_lse);
    nll[r] = in_range(target[r], k) ? static_cast<float>(row_lse - l[target[r]]) : std::nanf("");
  }
}

void categorical_nll_backward(float* dlogits, const float* dnll, const float* logits, const float* lse,
                              const int32_t* target, index_t n, index_t k) {
#pragma omp parallel for schedule(static) if (n * k >= kParallelMin)
  for (index_t r = 0; r < n; ++r) {
    const float* l = logits + r * k;
    float* d = dlogits + r * k;
    const index_t t = in_range(target[r], k) ? target[r] : -1;
    for (index_t j = 0; j < k; ++j) d[j] = (std::exp(l[j] - lse[r]) - (j == t ? 1.0f : 0.0f)) * dnll[r];
  }
}

}  // namespace lvk::kernels::cpu
