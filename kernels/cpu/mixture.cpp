// CPU twin of kernels/mixture.h: per point, one streaming log-sum-exp over the components, with the
// quadratic form accumulated in float over D (vectorisable) and the log-sum-exp in double.
#include <cmath>
#include <vector>

#include "kernels/mixture.h"

namespace lvk::kernels::cpu {

void gaussian_mixture_log_density(float* out, const float* z, const float* mu, const float* logvar, index_t m,
                                  index_t n, index_t d, float* /*workspace*/) {
  constexpr double kLog2Pi = 1.8378770664093454836;
  std::vector<float> precision(static_cast<size_t>(n * d));
  std::vector<double> constant(static_cast<size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    double lv = 0.0;
    for (index_t k = 0; k < d; ++k) {
      precision[i * d + k] = std::exp(-logvar[i * d + k]);
      lv += logvar[i * d + k];
    }
    constant[i] = -0.5 * (lv + static_cast<double>(d) * kLog2Pi);
  }
  const double log_n = std::log(static_cast<double>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (index_t j = 0; j < m; ++j) {
    const float* zj = z + j * d;
    double running_max = -INFINITY, running_sum = 0.0;
    for (index_t i = 0; i < n; ++i) {
      const float* mi = mu + i * d;
      const float* wi = precision.data() + i * d;
      float q = 0.0f;
      for (index_t k = 0; k < d; ++k) {
        const float diff = zj[k] - mi[k];
        q += diff * diff * wi[k];
      }
      const double v = constant[i] - 0.5 * q;
      if (v > running_max) {
        running_sum = running_sum * std::exp(running_max - v) + 1.0;
        running_max = v;
      } else {
        running_sum += std::exp(v - running_max);
      }
    }
    out[j] = static_cast<float>(running_max + std::log(running_sum) - log_n);
  }
}

}  // namespace lvk::kernels::cpu
