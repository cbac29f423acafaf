#pragma once
// Vectorised row passes of the Gumbel-softmax CPU twin (kernels/cpu/gumbel.cpp), forward and backward: Philox on W
// blocks at once (the uniforms bit for bit those of base/philox.h) and log/exp from kernels/cpu/simd_math.h. Against
// the scalar reference (checked in tests/test_gumbel_simd.cpp): same indices on the tested inputs; Gumbel noise within
// 4 ulp + 2^-22 absolute (the inner log's last-ulp error is absolute near g = 0); given the same scores, the softmax
// within 4 ulp where above 2^-100 (exp of a score more than 87 below the row max is flushed to 0, < 2^-125 of the row
// sum); the whole soft sample within a relative 2^-16 at tau = 0.6 (the noise's absolute error, divided by tau, moves
// the exponent); KL within 1e-6 + 2 ulp; the backward as stated at softmax_grad.
#include <cstdint>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/gumbel.h"

namespace lvk::kernels::cpu {

struct GumbelSimd {
  // Gumbel noise of rows [row0, row0 + rows) of a [*, k] logits array (the layout of
  // kernels/stochastic_math.h), written densely to g [rows, k].
  void (*noise)(float* g, index_t rows, index_t k, uint64_t seed, uint64_t offset, uint64_t row0);
  // The largest x[j] (-inf for an empty or all -inf row).
  float (*row_max)(const float* x, index_t k);
  // v[j] = ((l[j] - mx) + v[j]) * inv_tau in place (v holds the noise); returns the first index of
  // the maximum and stores the maximum in *vmax.
  index_t (*perturb)(float* v, float* vmax, const float* l, index_t k, float mx, float inv_tau);
  // v[j] = exp(v[j] - vmax) in place; returns their sum in double.
  double (*exp_sum)(float* v, index_t k, float vmax);
  // y[j] = v[j] * inv_s, the product in double as in the scalar twin.
  void (*scale)(float* y, const float* v, index_t k, double inv_s);
  // Entropy of softmax(l) from its max (kernels/cpu/gumbel.cpp's row_entropy), log of the sum in *log_s.
  double (*entropy)(const float* l, index_t k, float mx, double* log_s);
  // The relaxed sample's backward: dl[j] = y[j] (dy[j] - sum_i y[i] dy[i]) inv_tau. The dot runs in
  // f32 lanes, each summing at most 16 products of a block of 256 before the blocks add up in
  // double, and is rounded to f32 (within 17 2^-24 < 2^-19 of sum_i |y[i] dy[i]|); the rest in f32
  // (3 roundings): dl[j] is within 2^-21 of |dl[j]| plus y[j] inv_tau 2^-19 sum_i |y[i] dy[i]| of the
  // scalar twin's double arithmetic.
  void (*softmax_grad)(float* dl, const float* y, const float* dy, index_t k, float inv_tau);
  // The KL term's gradient added to dl: dl[j] += dkl q_j (log q_j + h), log q_j = (l[j] - mx) - log_s
  // in double, q_j = exp of it in f32 (0 below e^-87, and for masked l[j] = -inf).
  void (*kl_grad)(float* dl, const float* l, index_t k, float mx, double log_s, double h, float dkl);
};

// The variant for an ISA, or null for CpuIsa::base and for an ISA this CPU lacks.
const GumbelSimd* gumbel_simd(CpuIsa isa);

// gumbel_softmax_forward (kernels/gumbel.h) through the given passes; null runs the scalar reference.
void gumbel_softmax_forward_with(const GumbelSimd* simd, float* y, float* y_soft, int32_t* index, float* kl,
                                 const float* logits, index_t n, index_t k, float tau, uint64_t seed,
                                 uint64_t offset_in, bool hard, GumbelDeviceArgs dev);
void gumbel_softmax_backward_with(const GumbelSimd* simd, float* dlogits, const float* dy, const float* y_soft,
                                  const float* dkl, const float* logits, index_t n, index_t k, float tau,
                                  GumbelDeviceArgs dev);
void gumbel_noise_with(const GumbelSimd* simd, float* g, index_t n, index_t k, uint64_t seed, uint64_t offset);

}  // namespace lvk::kernels::cpu
