#pragma once
// Scalar activation and loss formulas shared by the CPU and CUDA twins of kernels/nn.h, so both
// evaluate the same expressions (the GPU may still differ by a few ulp in expf/tanhf).
#include <cmath>

#if defined(__CUDACC__)
#define LVK_NN_HD __host__ __device__ __forceinline__
#else
#define LVK_NN_HD inline
#endif

namespace lvk::kernels {

// Activations a Linear can fuse after its bias. The backward of relu, leaky_relu, tanh and
// sigmoid needs only the output y; silu and gelu need the pre-activation z.
enum class Activation : int { none = 0, relu, leaky_relu, silu, tanh, sigmoid, gelu };

inline bool activation_needs_preact(Activation a) {
  return a == Activation::silu || a == Activation::gelu;
}

namespace nn_math {

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/pi); GELU is the tanh form cuBLASLt uses
constexpr float kGeluA = 0.044715f;

LVK_NN_HD float sigmoid(float x) {
  // Never exponentiates a large positive number, so no inf/inf for large |x|.
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

LVK_NN_HD float activate(Activation a, float z, float slope) {
  switch (a) {
    case Activation::none:
      return z;
    case Activation::relu:
      return z > 0.0f ? z : 0.0f;
    case Activation::leaky_relu:
      return z > 0.0f ? z : slope * z;
    case Activation::silu:
      return z * sigmoid(z);
    case Activation::tanh:
      return tanhf(z);
    case Activation::sigmoid:
      return sigmoid(z);
    case Activation::gelu:
      return 0.5f * z * (1.0f + tanhf(kGeluC * (z + kGeluA * z * z * z)));
  }
  return z;
}

// d act / d z, from the output y or the pre-activation z (whichever the activation needs).
LVK_NN_HD float activation_grad(Activation a, float y, float z, float slope) {
  switch (a) {
    case Activation::none:
      return 1.0f;
    case Activation::relu:
      return y > 0.0f ? 1.0f : 0.0f;
    case Activation::leaky_relu:
      return y > 0.0f ? 1.0f : slope;
    case Activation::silu: {
      const float s = sigmoid(z);
      return s * (1.0f + z * (1.0f - s));
    }
    case Activation::tanh:
      return 1.0f - y * y;
    case Activation::sigmoid:
      return y * (1.0f - y);
    case Activation::gelu: {
      const float t = tanhf(kGeluC * (z + kGeluA * z * z * z));
      return 0.5f * (1.0f + t) + 0.5f * z * (1.0f - t * t) * kGeluC * (1.0f + 3.0f * kGeluA * z * z);
    }
  }
  return 1.0f;
}

}  // namespace nn_math

// Per-element losses (a, b, c are the op's operands, see kernels/nn.h).
enum class LossKind : int {
  mse = 0,             // (a - b)^2, a = prediction, b = target
  bce_logits,          // max(a,0) - a b + log1p(exp(-|a|)), a = logits, b = target in [0, 1]
  gaussian_nll_fixed,  // 0.5 (log 2pi + lv + (a - b)^2 e^-lv), a = x, b = mean, lv = param
  gaussian_nll,        // same with lv = c elementwise (learned log-variance)
};

namespace nn_math {
constexpr float kLog2Pi = 1.8378770664093453f;

LVK_NN_HD float loss_term(LossKind k, float a, float b, float c, float param) {
  switch (k) {
    case LossKind::mse:
      return (a - b) * (a - b);
    case LossKind::bce_logits:
      return fmaxf(a, 0.0f) - a * b + log1pf(expf(-fabsf(a)));
    case LossKind::gaussian_nll_fixed:
      return 0.5f * (kLog2Pi + param + (a - b) * (a - b) * expf(-param));
    case LossKind::gaussian_nll:
      return 0.5f * (kLog2Pi + c + (a - b) * (a - b) * expf(-c));
  }
  return 0.0f;
}

// Partial derivatives of loss_term with respect to a, b and c.
LVK_NN_HD void loss_term_grad(LossKind k, float a, float b, float c, float param, float* ga, float* gb, float* gc) {
  *ga = *gb = *gc = 0.0f;
  switch (k) {
    case LossKind::mse:
      *ga = 2.0f * (a - b), *gb = -*ga;
      return;
    case LossKind::bce_logits:
      *ga = sigmoid(a) - b, *gb = -a;
      return;
    case LossKind::gaussian_nll_fixed:
      *ga = (a - b) * expf(-param), *gb = -*ga;
      return;
    case LossKind::gaussian_nll: {
      const float iv = expf(-c);
      *ga = (a - b) * iv, *gb = -*ga, *gc = 0.5f * (1.0f - (a - b) * (a - b) * iv);
      return;
    }
  }
}

}  // namespace nn_math
}  // namespace lvk::kernels
