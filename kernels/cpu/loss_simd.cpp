// AVX2 (8 lanes) and AVX-512 (16 lanes) instantiations of the vectorised BCE with logits.
#include "kernels/cpu/loss_simd.h"

#include "kernels/cpu/simd_math.h"

namespace lvk::kernels::cpu {

namespace {

using namespace simd;

// exp(-|a|) in (0, 1]; 0 past |a| = 80 (exp_f's range), where the true value is below 2^-115
// and vanishes beside every other part of the loss and its gradient.
template <int W>
LVK_SIMD_INLINE f32v<W> exp_neg_abs(f32v<W> a) {
  using F = f32v<W>;
  const F ax = a < 0.0f ? -a : a;
  const F e = exp_f<W>(-(ax > 80.0f ? F{} + 80.0f : ax));
  return ax > 80.0f ? F{} : e;
}

// log1p(e) for e in [0, 1]: u = 1 + e rounds, and e / (u - 1) (u - 1 exact) corrects log u to the
// logarithm of the unrounded sum; u == 1 leaves e itself.
template <int W>
LVK_SIMD_INLINE f32v<W> log1p_unit(f32v<W> e) {
  const f32v<W> u = 1.0f + e, d = u - 1.0f;
  const f32v<W> safe_d = d == 0.0f ? f32v<W>{} + 1.0f : d;
  return d == 0.0f ? e : log_f<W>(u) * (e / safe_d);
}

template <int W>
LVK_SIMD_INLINE f32v<W> bce_term(f32v<W> a, f32v<W> b) {
  return ((a > 0.0f ? a : f32v<W>{}) - a * b) + log1p_unit<W>(exp_neg_abs<W>(a));
}

// sigmoid(a) as nn_math::sigmoid writes it: 1 / (1 + e) for a >= 0, e / (1 + e) below.
template <int W>
LVK_SIMD_INLINE f32v<W> sigmoid_lanes(f32v<W> a) {
  const f32v<W> e = exp_neg_abs<W>(a), r = 1.0f / (1.0f + e);
  return a >= 0.0f ? r : e * r;
}

template <int W>
LVK_SIMD_INLINE void terms(float* out, const float* logits, const float* target, index_t n) {
  using F = f32v<W>;
  index_t i = 0;
  for (; i + W <= n; i += W) store(out + i, bce_term<W>(load<F>(logits + i), load<F>(target + i)));
  if (i < n)
    store_part<W>(out + i, bce_term<W>(load_part<W>(logits + i, n - i, 0.0f), load_part<W>(target + i, n - i, 0.0f)),
                  n - i);
}

template <int W>
LVK_SIMD_INLINE void backward(float* da, float* db, const float* logits, const float* target, float g, index_t n) {
  using F = f32v<W>;
  for (index_t i = 0; i < n; i += W) {
    const index_t k = n - i < W ? n - i : W;
    const F a = k == W ? load<F>(logits + i) : load_part<W>(logits + i, k, 0.0f);
    if (da) {
      const F b = k == W ? load<F>(target + i) : load_part<W>(target + i, k, 0.0f);
      const F d = g * (sigmoid_lanes<W>(a) - b);
      k == W ? store(da + i, d) : store_part<W>(da + i, d, k);
    }
    if (db) {
      const F d = g * -a;
      k == W ? store(db + i, d) : store_part<W>(db + i, d, k);
    }
  }
}

#define LVK_BCE_SIMD(W, TARGET)                                                                                     \
  __attribute__((target(TARGET))) void terms_##W(float* out, const float* logits, const float* target, index_t n) { \
    terms<W>(out, logits, target, n);                                                                               \
  }                                                                                                                 \
  __attribute__((target(TARGET))) void backward_##W(float* da, float* db, const float* logits, const float* target, \
                                                    float g, index_t n) {                                           \
    backward<W>(da, db, logits, target, g, n);                                                                      \
  }
LVK_BCE_SIMD(8, "avx2,fma")
LVK_BCE_SIMD(16, "avx512f,avx512vl,avx512dq,avx2,fma")
#undef LVK_BCE_SIMD

}  // namespace

const BceSimd* bce_simd(CpuIsa isa) {
  static const BceSimd avx2{terms_8, backward_8}, avx512{terms_16, backward_16};
  if (static_cast<int>(isa) > static_cast<int>(cpu_isa())) return nullptr;
  switch (isa) {
    case CpuIsa::avx512:
      return &avx512;
    case CpuIsa::avx2:
      return &avx2;
    default:
      return nullptr;
  }
}

}  // namespace lvk::kernels::cpu
