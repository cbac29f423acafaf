#pragma once
// Portable SIMD lanes for the CPU kernels: GCC/Clang vector extensions, so one template body
// serves AVX2 (W = 8) and AVX-512 (W = 16). The bodies are always_inline and get their ISA from
// the caller, a function compiled with __attribute__((target(...))) and picked by cpu_isa().
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define LVK_SIMD_INLINE inline __attribute__((always_inline))

// Vector arguments and returns of these helpers never cross a call (always_inline), so GCC's
// warning that their ABI depends on the ISA does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lvk::kernels::cpu::simd {

template <int W>
struct Lanes {
  typedef float f32 __attribute__((vector_size(W * 4)));
  typedef int32_t i32 __attribute__((vector_size(W * 4)));
  typedef uint32_t u32 __attribute__((vector_size(W * 4)));
  typedef uint64_t u64 __attribute__((vector_size(W * 8)));
  typedef double f64 __attribute__((vector_size(W * 8)));
};
template <int W>
using f32v = typename Lanes<W>::f32;
template <int W>
using i32v = typename Lanes<W>::i32;
template <int W>
using u32v = typename Lanes<W>::u32;
template <int W>
using u64v = typename Lanes<W>::u64;
template <int W>
using f64v = typename Lanes<W>::f64;

template <class V>
LVK_SIMD_INLINE V load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <class V>
LVK_SIMD_INLINE void store(void* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}
// Reinterprets the bits (float <-> integer lanes).
template <class To, class From>
LVK_SIMD_INLINE To bits(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &v, sizeof(To));
  return out;
}
// The first n < W lanes from p, the others `fill`: row tails run through the same lane code.
template <int W>
LVK_SIMD_INLINE f32v<W> load_part(const float* p, long n, float fill) {
  f32v<W> v = f32v<W>{} + fill;
  for (long l = 0; l < n; ++l) v[l] = p[l];
  return v;
}
template <int W>
LVK_SIMD_INLINE void store_part(float* p, f32v<W> v, long n) {
  for (long l = 0; l < n; ++l) p[l] = v[l];
}
template <int W>
LVK_SIMD_INLINE i32v<W> iota32() {
  i32v<W> v;
  for (int l = 0; l < W; ++l) v[l] = l;
  return v;
}
template <int W>
LVK_SIMD_INLINE u64v<W> iota64() {
  u64v<W> v;
  for (int l = 0; l < W; ++l) v[l] = static_cast<uint64_t>(l);
  return v;
}

// W lanes of doubles as two vectors of W / 2. One W-lane double vector is twice the register that
// W floats fill (64 bytes under AVX2), and GCC keeps such vectors on the stack; two halves stay in
// registers.
template <int W>
struct F64x {
  f64v<W / 2> lo, hi;
};
template <int W>
LVK_SIMD_INLINE F64x<W> operator+(F64x<W> a, F64x<W> b) {
  return {a.lo + b.lo, a.hi + b.hi};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator-(F64x<W> a, F64x<W> b) {
  return {a.lo - b.lo, a.hi - b.hi};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator*(F64x<W> a, F64x<W> b) {
  return {a.lo * b.lo, a.hi * b.hi};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator+(F64x<W> a, double b) {
  return {a.lo + b, a.hi + b};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator-(F64x<W> a, double b) {
  return {a.lo - b, a.hi - b};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator*(F64x<W> a, double b) {
  return {a.lo * b, a.hi * b};
}
template <int W>
LVK_SIMD_INLINE F64x<W> operator*(double a, F64x<W> b) {
  return {a * b.lo, a * b.hi};
}
template <int W>
LVK_SIMD_INLINE F64x<W>& operator+=(F64x<W>& a, F64x<W> b) {
  return a = a + b;
}
template <int W>
LVK_SIMD_INLINE F64x<W>& operator-=(F64x<W>& a, F64x<W> b) {
  return a = a - b;
}
// Float lanes to doubles and back (rounding to nearest).
template <int W>
LVK_SIMD_INLINE F64x<W> widen(f32v<W> v) {
  using H = f64v<W / 2>;
  if constexpr (W == 4) {
    return {__builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), H),
            __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), H)};
  } else if constexpr (W == 8) {
    return {__builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), H),
            __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), H)};
  } else {
    static_assert(W == 16);
    return {__builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), H),
            __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), H)};
  }
}
// widen in one conversion instruction per half: GCC 12 lowers the generic 4- and 8-lane float to
// double conversions above into 2-lane ones plus inserts. Target functions, not always_inline (GCC
// refuses to inline a target function into a generic template): a caller that wants them inlined
// is a flatten function of its ISA (kernels/cpu/philox_simd.h does the same).
__attribute__((target("avx2"))) inline F64x<8> widen_cvt(f32v<8> v) {
  __m256 x;
  std::memcpy(&x, &v, sizeof x);
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
  F64x<8> out;
  std::memcpy(&out.lo, &lo, sizeof lo);
  std::memcpy(&out.hi, &hi, sizeof hi);
  return out;
}
__attribute__((target("avx512f"))) inline F64x<16> widen_cvt(f32v<16> v) {
  __m512 x;
  std::memcpy(&x, &v, sizeof x);
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x)),
                hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
  F64x<16> out;
  std::memcpy(&out.lo, &lo, sizeof lo);
  std::memcpy(&out.hi, &hi, sizeof hi);
  return out;
}

template <int W>
LVK_SIMD_INLINE f32v<W> narrow(F64x<W> d) {
  using Hf = f32v<W / 2>;
  const Hf a = __builtin_convertvector(d.lo, Hf), b = __builtin_convertvector(d.hi, Hf);
  if constexpr (W == 4) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3);
  } else if constexpr (W == 8) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
  } else {
    static_assert(W == 16);
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
}
template <int W>
LVK_SIMD_INLINE F64x<W> load_f64(const double* p) {
  return {load<f64v<W / 2>>(p), load<f64v<W / 2>>(p + W / 2)};
}
template <int W>
LVK_SIMD_INLINE void store_f64(double* p, F64x<W> d) {
  store(p, d.lo);
  store(p + W / 2, d.hi);
}
// The sum of the W lanes, pairwise (a few vector adds rather than W dependent scalar ones).
template <int W>
LVK_SIMD_INLINE double lane_sum(F64x<W> d) {
  double t[W / 2];
  store(t, d.lo + d.hi);
  for (int h = W / 4; h >= 1; h /= 2)
    for (int l = 0; l < h; ++l) t[l] += t[l + h];
  return t[0];
}

}  // namespace lvk::kernels::cpu::simd
