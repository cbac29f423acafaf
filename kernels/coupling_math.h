#pragma once
// The per-element rules of affine coupling, shared verbatim by the CPU and CUDA twins so the two
// cannot drift apart. See kernels/coupling.h for the formulas.
#include <cmath>

#if defined(__CUDACC__)
#define LVK_COUPLING_HD __host__ __device__ __forceinline__
#else
#define LVK_COUPLING_HD inline
#endif

namespace lvk::kernels::coupling {

struct Forward {
  float y, logdet_term;
};

LVK_COUPLING_HD float log_scale(float s_raw, float scale) {
  return scale * tanhf(s_raw);
}

LVK_COUPLING_HD Forward forward(float x, float m, float s_raw, float t, float scale) {
  const float s = log_scale(s_raw, scale);
  return {m * x + (1.0f - m) * (x * expf(s) + t), (1.0f - m) * s};
}

LVK_COUPLING_HD Forward inverse(float y, float m, float s_raw, float t, float scale) {
  const float s = log_scale(s_raw, scale);
  return {m * y + (1.0f - m) * (y - t) * expf(-s), -(1.0f - m) * s};
}

struct Grads {
  float dx, ds_raw, dt;
};

// d/d(s_raw) of scale * tanh(s_raw) = scale * (1 - tanh^2).
LVK_COUPLING_HD float dlog_scale(float s_raw, float scale) {
  const float th = tanhf(s_raw);
  return scale * (1.0f - th * th);
}

// Gradients of forward through y (dy) and through its logdet term (dld).
LVK_COUPLING_HD Grads forward_grads(float dy, float dld, float x, float m, float s_raw, float scale) {
  const float s = log_scale(s_raw, scale), e = expf(s), u = 1.0f - m;
  const float ds = u * (dy * x * e + dld);
  return {dy * (m + u * e), ds * dlog_scale(s_raw, scale), u * dy};
}

// Gradients of inverse, where x_out = m y + u (y - t) e^{-s} and the logdet term is -u s.
LVK_COUPLING_HD Grads inverse_grads(float dx, float dld, float y, float m, float s_raw, float t, float scale) {
  const float s = log_scale(s_raw, scale), e = expf(-s), u = 1.0f - m;
  const float ds = -u * (dx * (y - t) * e + dld);
  return {dx * (m + u * e), ds * dlog_scale(s_raw, scale), -u * dx * e};
}

}  // namespace lvk::kernels::coupling
