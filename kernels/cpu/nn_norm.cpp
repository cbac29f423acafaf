// CPU twins of kernels/nn_norm.h, in double.
#include "kernels/nn_norm.h"

#include <cmath>

namespace lvk::kernels::cpu {

void group_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                        index_t n, index_t c, index_t hw, index_t groups, float eps) {
  const index_t cg = c / groups, m = cg * hw;
#pragma omp parallel for schedule(static) if (n * c * hw > (1 << 16))
  for (index_t ng = 0; ng < n * groups; ++ng) {
    const index_t i = ng / groups, g = ng % groups;
    const float* xs = x + (i * c + g * cg) * hw;
    double s = 0.0;
    for (index_t k = 0; k < m; ++k) s += xs[k];
    const double mu = m > 0 ? s / double(m) : 0.0;
    double ss = 0.0;
    for (index_t k = 0; k < m; ++k) ss += (xs[k] - mu) * (xs[k] - mu);
    const double r = 1.0 / std::sqrt((m > 0 ? ss / double(m) : 0.0) + eps);
    mean[ng] = static_cast<float>(mu);
    rstd[ng] = static_cast<float>(r);
    for (index_t ch = 0; ch < cg; ++ch) {
      const index_t cc = g * cg + ch;
      for (index_t k = 0; k < hw; ++k) {
        const index_t idx = (i * c + cc) * hw + k;
        y[idx] = static_cast<float>((x[idx] - mu) * r * gamma[cc] + beta[cc]);
      }
    }
  }
}

void group_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* gamma, index_t n, index_t c, index_t hw, index_t groups,
                         float*) {
  const index_t cg = c / groups, m = cg * hw;
  if (dgamma || dbeta) {
    for (index_t cc = 0; cc < c; ++cc) {
      double sg = 0.0, sb = 0.0;
      for (index_t i = 0; i < n; ++i) {
        const index_t ng = i * groups + cc / cg;
        for (index_t k = 0; k < hw; ++k) {
          const index_t idx = (i * c + cc) * hw + k;
          sg += double(dy[idx]) * (x[idx] - mean[ng]) * rstd[ng];
          sb += dy[idx];
        }
      }
      if (dgamma) dgamma[cc] = static_cast<float>(sg);
      if (dbeta) dbeta[cc] = static_cast<float>(sb);
    }
  }
  if (!dx) return;
    // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma, over the group.
#pragma omp parallel for schedule(static) if (n * c * hw > (1 << 16))
  for (index_t ng = 0; ng < n * groups; ++ng) {
    const index_t i = ng / groups, grp = ng % groups;
    const double mu = mean[ng], r = rstd[ng];
    double sg = 0.0, sgx = 0.0;
    for (index_t ch = 0; ch < cg; ++ch) {
      const index_t cc = grp * cg + ch;
      for (index_t k = 0; k < hw; ++k) {
        const index_t idx = (i * c + cc) * hw + k;
        const double g = double(dy[idx]) * gamma[cc];
        sg += g;
        sgx += g * (x[idx] - mu) * r;
      }
    }
    const double mg = sg / double(m), mgx = sgx / double(m);
    for (index_t ch = 0; ch < cg; ++ch) {
      const index_t cc = grp * cg + ch;
      for (index_t k = 0; k < hw; ++k) {
        const index_t idx = (i * c + cc) * hw + k;
        const double g = double(dy[idx]) * gamma[cc];
        dx[idx] = static_cast<float>(r * (g - mg - (x[idx] - mu) * r * mgx));
      }
    }
  }
}

}  // namespace lvk::kernels::cpu
