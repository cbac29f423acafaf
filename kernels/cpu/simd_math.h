#pragma once
// Vectorised f32 log, exp and cos(2 pi u) for the stochastic CPU kernels (kernels/cpu/simd.h
// lanes). Error bounds, checked exhaustively over their use in tests/test_simd_math.cpp:
//   log_f:     positive normal x, <= 2 ulp
//   exp_f:     |x| <= 80, <= 2 ulp
//   cos_2pi_f: u in [-1/4, 1] (Philox uniforms), <= 3 ulp (2.46 measured), exact argument reduction
//   sin_2pi_f: u in [0, 1] (Philox uniforms), <= 3 ulp, cos_2pi_f(u - 1/4)
//   tanh_f:    every x, <= 3 ulp (checked on a dense grid of [-10, 10], tiny and huge x)
// Polynomials are truncated Taylor series whose dropped terms are below 2^-28 of the result on the
// reduced ranges, so the error is the f32 rounding of a handful of operations.
#include "kernels/cpu/simd.h"

namespace lvk::kernels::cpu::simd {

// round-to-nearest-even of |x| < 2^22 without a library call: adding 1.5 * 2^23 pushes the
// fraction bits out.
template <int W>
LVK_SIMD_INLINE f32v<W> round_f(f32v<W> x) {
  return (x + 12582912.0f) - 12582912.0f;
}

// log x = e ln 2 + log m, m in [sqrt(1/2), sqrt(2)): log m = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| <= 0.172, series to s^9. m - 1 is exact (Sterbenz), so log stays relatively accurate near 1.
template <int W>
LVK_SIMD_INLINE f32v<W> log_f(f32v<W> x) {
  using I = i32v<W>;
  const I xi = bits<I>(x);
  I e = (xi >> 23) - 127;
  f32v<W> m = bits<f32v<W>>((xi & 0x7fffff) | 0x3f800000);
  const I big = m > 1.41421356f;  // lanes: -1 where true
  m = big ? m * 0.5f : m;
  e -= big;
  const f32v<W> f = m - 1.0f, s = f / (m + 1.0f), s2 = s * s;
  const f32v<W> poly = ((((2.0f / 9) * s2 + 2.0f / 7) * s2 + 2.0f / 5) * s2 + 2.0f / 3) * s2;
  const f32v<W> ef = __builtin_convertvector(e, f32v<W>);
  // ln 2 split so that e * hi is exact for |e| < 2^8.
  return ef * 0.693145751953125f + (ef * 1.42860676533018705e-6f + (2.0f * s + s * poly));
}

// exp x = 2^n exp r, n = round(x / ln 2), |r| <= ln 2 / 2, series to r^7.
template <int W>
LVK_SIMD_INLINE f32v<W> exp_f(f32v<W> x) {
  const f32v<W> n = round_f<W>(x * 1.44269504f);
  const f32v<W> r = (x - n * 0.693145751953125f) - n * 1.42860676533018705e-6f;
  f32v<W> p = f32v<W>{} + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const i32v<W> scale = (__builtin_convertvector(n, i32v<W>) + 127) << 23;
  return p * bits<f32v<W>>(scale);
}

// cos(2 pi u) = sin(2 pi t), t = 1/4 - |u - round(u)| in [-1/4, 1/4]: both subtractions are exact
// for u a multiple of 2^-24 in [0, 1], so the only error is the odd series in t (to t^11).
template <int W>
LVK_SIMD_INLINE f32v<W> cos_2pi_f(f32v<W> u) {
  const f32v<W> x = u - round_f<W>(u);
  const f32v<W> t = 0.25f - (x < 0.0f ? -x : x), t2 = t * t;
  constexpr double k2pi = 6.283185307179586476925;
  constexpr float c1 = static_cast<float>(k2pi), c3 = static_cast<float>(-k2pi * k2pi * k2pi / 6),
                  c5 = static_cast<float>(k2pi * k2pi * k2pi * k2pi * k2pi / 120),
                  c7 = static_cast<float>(-k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi / 5040),
                  c9 = static_cast<float>(k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi / 362880),
                  c11 = static_cast<float>(-k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi * k2pi /
                                           39916800);
  f32v<W> p = f32v<W>{} + c11;
  p = p * t2 + c9;
  p = p * t2 + c7;
  p = p * t2 + c5;
  p = p * t2 + c3;
  p = p * t2 + c1;
  return p * t;
}

// sin(2 pi u) = cos(2 pi (u - 1/4)); u - 1/4 is exact for a Philox uniform (a multiple of 2^-24 in
// [0, 1]), so cos_2pi_f's reduction stays exact and sin keeps its relative accuracy near its zeros.
template <int W>
LVK_SIMD_INLINE f32v<W> sin_2pi_f(f32v<W> u) {
  return cos_2pi_f<W>(u - 0.25f);
}

// tanh x = sign(x) m / (m + 2), m = expm1(2|x|) = 2^n expm1(r) + (2^n - 1) with exp_f's reduction
// (n >= 0 here). expm1(r) = r + r^2 P(r) keeps m relatively accurate near 0, where 1 - 2 / (e^2x + 1)
// would cancel, so one formula and one division serve every x (2.42 ulp measured over every float
// in [1e-8, 10.5]). |x| is capped at 10, where tanh rounds to 1 in f32.
template <int W>
LVK_SIMD_INLINE f32v<W> tanh_f(f32v<W> x) {
  using F = f32v<W>;
  const i32v<W> sign = bits<i32v<W>>(x) & static_cast<int32_t>(0x80000000);
  F ax = bits<F>(bits<i32v<W>>(x) ^ sign);
  ax = ax > 10.0f ? F{} + 10.0f : ax;
  const F y = 2.0f * ax;
  const F n = round_f<W>(y * 1.44269504f);
  const F r = (y - n * 0.693145751953125f) - n * 1.42860676533018705e-6f;
  F p = F{} + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  const F scale = bits<F>((__builtin_convertvector(n, i32v<W>) + 127) << 23);
  const F m = scale * (r + r * r * p) + (scale - 1.0f);
  return bits<F>(bits<i32v<W>>(m / (m + 2.0f)) | sign);  // a NaN passes every step as NaN
}

}  // namespace lvk::kernels::cpu::simd
