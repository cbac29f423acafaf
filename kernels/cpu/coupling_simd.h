#pragma once
// Vectorised rows of the affine-coupling CPU twin (kernels/cpu/coupling.cpp): the rules of
// kernels/coupling_math.h in 8 (AVX2) or 16 (AVX-512) f32 lanes with tanh and exp from
// kernels/cpu/simd_math.h (<= 3 and <= 2 ulp) instead of libm's. Against the scalar rules
// (tests/test_coupling_simd.cpp): every output within 8 ulp of its magnitude plus 2^-20 of the
// magnitudes it is a difference of; logdet sums in double, per lane, then across lanes.
#include "kernels/cpu/cpu_isa.h"
#include "kernels/twins.h"

namespace lvk::kernels::cpu {

struct CouplingSimd {
  // Rows [0, rows) of a [rows, d] block of coupling_forward / coupling_inverse (kernels/coupling.h);
  // row r's logdet in logdet[r].
  void (*forward)(float* y, float* logdet, const float* x, const float* mask, const float* s_raw, const float* t,
                  float scale, index_t rows, index_t d);
  void (*inverse)(float* x, float* logdet, const float* y, const float* mask, const float* s_raw, const float* t,
                  float scale, index_t rows, index_t d);
  // The same block of coupling_forward_backward / coupling_inverse_backward; dlogdet may be null.
  void (*forward_backward)(float* dx, float* ds_raw, float* dt, const float* dy, const float* dlogdet, const float* x,
                           const float* mask, const float* s_raw, float scale, index_t rows, index_t d);
  void (*inverse_backward)(float* dy, float* ds_raw, float* dt, const float* dx, const float* dlogdet, const float* y,
                           const float* mask, const float* s_raw, const float* t, float scale, index_t rows, index_t d);
};

// The variant for an ISA, or null for CpuIsa::base and for an ISA this CPU (or LVK_CPU_ISA) lacks.
const CouplingSimd* coupling_simd(CpuIsa isa);

}  // namespace lvk::kernels::cpu
