// CPU twin of kernels/mixture.h: per point, one streaming log-sum-exp over the components, with the
// quadratic form accumulated in float over D (vectorisable) and the log-sum-exp in double.
#include "kernels/mixture.h"

#include <cmath>
#include <vector>

namespace lvk::kernels::cpu {

namespace {

// Per component: precision = exp(-logvar) and the log-normaliser -(sum logvar + D log 2 pi) / 2.
struct Components {
  std::vector<float> precision;
  std::vector<double> constant;
};

Components prepare(const float* logvar, index_t n, index_t d) {
  constexpr double kLog2Pi = 1.8378770664093454836;
  Components c{std::vector<float>(static_cast<size_t>(n * d)), std::vector<double>(static_cast<size_t>(n))};
  for (index_t i = 0; i < n; ++i) {
    double lv = 0.0;
    for (index_t k = 0; k < d; ++k) {
      c.precision[i * d + k] = std::exp(-logvar[i * d + k]);
      lv += logvar[i * d + k];
    }
    c.constant[i] = -0.5 * (lv + static_cast<double>(d) * kLog2Pi);
  }
  return c;
}

// log N(z_j; mu_i, diag exp(logvar_i)).
double pair_log_density(const float* zj, const float* mi, const Components& c, index_t i, index_t d) {
  const float* wi = c.precision.data() + i * d;
  float q = 0.0f;
  for (index_t k = 0; k < d; ++k) {
    const float diff = zj[k] - mi[k];
    q += diff * diff * wi[k];
  }
  return c.constant[i] - 0.5 * q;
}

}  // namespace

void gaussian_mixture_log_density(float* out, const float* z, const float* mu, const float* logvar, index_t m,
                                  index_t n, index_t d, float* /*workspace*/) {
  const Components c = prepare(logvar, n, d);
  const double log_n = std::log(static_cast<double>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (index_t j = 0; j < m; ++j) {
    const float* zj = z + j * d;
    double running_max = -INFINITY, running_sum = 0.0;
    for (index_t i = 0; i < n; ++i) {
      const double v = pair_log_density(zj, mu + i * d, c, i, d);
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

void gaussian_mixture_log_density_backward(float* dz, float* dmu, float* dlogvar, const float* dout, const float* out,
                                           const float* z, const float* mu, const float* logvar, index_t m, index_t n,
                                           index_t d, float* /*workspace*/) {
  const Components c = prepare(logvar, n, d);
  const double log_n = std::log(static_cast<double>(n));
  auto weight = [&](index_t j, index_t i) {  // dout_j r_ji
    return dout[j] * std::exp(pair_log_density(z + j * d, mu + i * d, c, i, d) - out[j] - log_n);
  };
#pragma omp parallel for schedule(static)
  for (index_t j = 0; j < m; ++j) {
    std::vector<double> acc(static_cast<size_t>(d), 0.0);
    for (index_t i = 0; i < n; ++i) {
      const double w = weight(j, i);
      for (index_t k = 0; k < d; ++k) acc[k] += w * (mu[i * d + k] - z[j * d + k]) * c.precision[i * d + k];
    }
    for (index_t k = 0; k < d; ++k) dz[j * d + k] = static_cast<float>(acc[k]);
  }
#pragma omp parallel for schedule(static)
  for (index_t i = 0; i < n; ++i) {
    std::vector<double> am(static_cast<size_t>(d), 0.0), av(static_cast<size_t>(d), 0.0);
    for (index_t j = 0; j < m; ++j) {
      const double w = weight(j, i);
      for (index_t k = 0; k < d; ++k) {
        const double diff = z[j * d + k] - mu[i * d + k], p = c.precision[i * d + k];
        am[k] += w * diff * p;
        av[k] += w * 0.5 * (diff * diff * p - 1.0);
      }
    }
    for (index_t k = 0; k < d; ++k)
      dmu[i * d + k] = static_cast<float>(am[k]), dlogvar[i * d + k] = static_cast<float>(av[k]);
  }
}

}  // namespace lvk::kernels::cpu
