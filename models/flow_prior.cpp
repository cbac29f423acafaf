#include "models/flow_prior.h"

#include <cmath>
#include <string>
#include <vector>

#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/storage.h"

namespace lvk {

Tensor FlowPrior::log_prob(const Tensor& z) const {
  const std::string op = std::string(name()) + ".log_prob";
  check_finite(op.c_str(), "z", z);
  return log_prob_unchecked(z);
}

Tensor FlowPrior::log_prob_unchecked(const Tensor& z) const {
  FlowResult f = forward(z);
  const Tensor zeros = Tensor::zeros(f.u.shape(), DType::f32, f.u.device());
  return add(gaussian_log_density(f.u, zeros, zeros), f.log_det);
}

void FlowPrior::standardize_actnorm(const char* who, const Tensor& x, const Tensor& log_scale, const Tensor& bias) {
  LVK_CHECK(x.rank() == 2 && x.dim(0) >= 2, who, ": ActNorm initialisation needs a batch of at least 2 rows, got ",
            x.str());
  const int64_t n = x.dim(0), d = x.dim(1);
  const std::vector<float> v = x.to_vector<float>();
  std::vector<float> ls(d), b(d);
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0, var = 0;
    for (int64_t r = 0; r < n; ++r) mean += v[r * d + j];
    mean /= n;
    for (int64_t r = 0; r < n; ++r) var += (v[r * d + j] - mean) * (v[r * d + j] - mean);
    const double std_dev = std::sqrt(var / n) + 1e-6;
    ls[j] = static_cast<float>(-std::log(std_dev));
    b[j] = static_cast<float>(-mean / std_dev);
  }
  copy_bytes(log_scale.raw(), log_scale.device(), ls.data(), Device::cpu(), log_scale.bytes());
  copy_bytes(bias.raw(), bias.device(), b.data(), Device::cpu(), bias.bytes());
}

}  // namespace lvk
