#pragma once
// log q_agg(z_j) = log (1/N) sum_i N(z_j; mu_i, diag exp(logvar_i)) for every row of z, without
// materialising the M x N log-density matrix (kernels/mixture.h). For evaluation (ELBO surgery) and
// the VampPrior's log p(z); recorded on the tape (gradients to z, mu and logvar).
#include "runtime/tensor.h"

namespace lvk {

// z [M, D], mu and logvar [N, D] with N >= 1 -> [M].
Tensor gaussian_mixture_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar);

}  // namespace lvk
