#pragma once
// Network-layer ops: Linear with fused bias + activation, standalone activations, losses and
// Philox-based parameter initialisation. f32, recorded on the tape.
#include <cstdint>

#include "kernels/nn_math.h"
#include "runtime/tensor.h"

namespace lvk {

using kernels::Activation;

// y = act(x w^T + b): x [N, in], w [out, in], b [out] (may be undefined), y [N, out].
// leaky_slope is used by Activation::leaky_relu and must be >= 0 (the backward reads the sign of y).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, Activation act = Activation::none,
              float leaky_slope = 0.01f);

// Sum over rows of x [rows, cols] -> [cols], deterministic. Not recorded: for backward closures.
Tensor column_sum(const Tensor& x);

// Elementwise activation of any shape.
Tensor activation(const Tensor& x, Activation act, float leaky_slope = 0.01f);
inline Tensor relu(const Tensor& x) {
  return activation(x, Activation::relu);
}
inline Tensor leaky_relu(const Tensor& x, float slope = 0.01f) {
  return activation(x, Activation::leaky_relu, slope);
}
inline Tensor silu(const Tensor& x) {
  return activation(x, Activation::silu);
}
// (No lvk::tanh wrapper: it would hide ::tanh(float) for unqualified calls inside namespace lvk.)
inline Tensor sigmoid(const Tensor& x) {
  return activation(x, Activation::sigmoid);
}

// How a loss reduces its per-element terms: plain sum, mean over elements, or sum divided by the
// leading (batch) dimension, the usual per-example ELBO term.
enum class Reduction { sum, mean, batch_mean };

// sum/mean of (pred - target)^2. Both operands receive gradients when they require them.
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::mean);
// Negative Bernoulli log-likelihood of target in [0, 1] under logits, stable for any |logit|.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::batch_mean);
// Negative Gaussian log-likelihood of x under N(mean, exp(logvar)), fixed scalar log-variance.
Tensor gaussian_nll(const Tensor& x, const Tensor& mean, float logvar, Reduction reduction = Reduction::batch_mean);
// Same with a learned elementwise log-variance of mean's shape.
Tensor gaussian_nll(const Tensor& x, const Tensor& mean, const Tensor& logvar,
                    Reduction reduction = Reduction::batch_mean);

// Parameter initialisation. Values are drawn from Philox stream (seed, offset) on the host and
// copied to `device`, so a seed gives bit-identical weights on every device.
enum class Init {
  torch_default,    // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), what torch.nn.Linear/Conv use
  kaiming_uniform,  // U(-b, b), b = sqrt(6 / fan_in): He init for ReLU layers
  kaiming_normal,   // N(0, 2 / fan_in)
  xavier_uniform,   // U(-b, b), b = sqrt(6 / (fan_in + fan_out))
  zeros,
};
Tensor init_parameter(const Shape& shape, Init init, int64_t fan_in, int64_t fan_out, uint64_t seed, uint64_t offset,
                      Device device = Device::cpu());

}  // namespace lvk
