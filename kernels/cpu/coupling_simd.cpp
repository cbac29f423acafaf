// AVX2 (8 lanes) and AVX-512 (16 lanes) instantiations of the affine-coupling rows. Each lane runs
// the formulas of kernels/coupling_math.h in the same order; tails run through the same lane code
// with zero fill (mask 0, s_raw 0: the logdet term of a filled lane is exactly 0).
#include "kernels/cpu/coupling_simd.h"

#include <algorithm>
#include <utility>

#include "kernels/cpu/simd_math.h"

namespace lvk::kernels::cpu {

namespace {

using namespace simd;

template <int W>
struct Span {
  index_t j, n;  // first element, lanes in use
  LVK_SIMD_INLINE f32v<W> get(const float* p) const {
    return n == W ? load<f32v<W>>(p + j) : load_part<W>(p + j, n, 0.0f);
  }
  LVK_SIMD_INLINE void put(float* p, f32v<W> v) const {
    if (n == W)
      store(p + j, v);
    else
      store_part<W>(p + j, v, n);
  }
};

template <int W, bool Inverse>
LVK_SIMD_INLINE void transform_row(float* out, float* logdet, const float* in, const float* mask, const float* s_raw,
                                   const float* t, float scale, index_t d) {
  using F = f32v<W>;
  F64x<W> acc = {};
  for (index_t j = 0; j < d; j += W) {
    const Span<W> sp{j, std::min<index_t>(W, d - j)};
    const F v = sp.get(in), m = sp.get(mask), tt = sp.get(t), u = 1.0f - m;
    const F s = scale * tanh_f<W>(sp.get(s_raw));
    if (Inverse) {
      sp.put(out, m * v + u * (v - tt) * exp_f<W>(-s));
      acc -= widen<W>(u * s);
    } else {
      sp.put(out, m * v + u * (v * exp_f<W>(s) + tt));
      acc += widen<W>(u * s);
    }
  }
  *logdet = static_cast<float>(lane_sum(acc));
}

template <int W>
LVK_SIMD_INLINE void forward_backward_row(float* dx, float* ds_raw, float* dt, const float* dy, float dld,
                                          const float* x, const float* mask, const float* s_raw, float scale,
                                          index_t d) {
  using F = f32v<W>;
  for (index_t j = 0; j < d; j += W) {
    const Span<W> sp{j, std::min<index_t>(W, d - j)};
    const F g = sp.get(dy), xv = sp.get(x), m = sp.get(mask), u = 1.0f - m;
    const F th = tanh_f<W>(sp.get(s_raw)), e = exp_f<W>(scale * th);
    const F ds = u * (g * xv * e + dld);
    sp.put(dx, g * (m + u * e));
    sp.put(ds_raw, ds * (scale * (1.0f - th * th)));
    sp.put(dt, u * g);
  }
}

template <int W>
LVK_SIMD_INLINE void inverse_backward_row(float* dy, float* ds_raw, float* dt, const float* dx, float dld,
                                          const float* y, const float* mask, const float* s_raw, const float* t,
                                          float scale, index_t d) {
  using F = f32v<W>;
  for (index_t j = 0; j < d; j += W) {
    const Span<W> sp{j, std::min<index_t>(W, d - j)};
    const F g = sp.get(dx), yv = sp.get(y), m = sp.get(mask), tt = sp.get(t), u = 1.0f - m;
    const F th = tanh_f<W>(sp.get(s_raw)), e = exp_f<W>(-(scale * th));
    const F ds = -u * (g * (yv - tt) * e + dld);
    sp.put(dy, g * (m + u * e));
    sp.put(ds_raw, ds * (scale * (1.0f - th * th)));
    sp.put(dt, -u * g * e);
  }
}

// Lanes P, P + 2, ... of a then of b, in one vector: the transformed lanes of two vectors under an
// alternating mask.
template <int W, int P, size_t... L>
LVK_SIMD_INLINE f32v<W> pack_parity(f32v<W> a, f32v<W> b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, (P + 2 * static_cast<int>(L % (W / 2)) + (L < W / 2 ? 0 : W))...);
}
// The inverse for half H of the packed vector c: lane P + 2k from c[H W / 2 + k], the others from fill.
template <int W, int P, int H, size_t... L>
LVK_SIMD_INLINE f32v<W> unpack_parity(f32v<W> c, f32v<W> fill, std::index_sequence<L...>) {
  return __builtin_shufflevector(
      c, fill, (static_cast<int>(L) % 2 == P ? H * W / 2 + static_cast<int>(L) / 2 : W + static_cast<int>(L))...);
}

// th = tanh(s_raw), e = exp(k th) for U consecutive vectors (U % 4 == 0). P = 0 or 1: the mask
// alternates and only lanes of that parity are transformed, so each pair of vectors packs its
// transformed lanes into one and runs tanh and exp once (U / 2 chains side by side); the others get th = 0, e = 1 (NaN
// where s_raw is NaN, as tanh would give), values their outputs multiply by 1 - m = 0. P = -1: every lane.
template <int W, int P, int U>
LVK_SIMD_INLINE void tanh_exp(f32v<W> (&th)[U], f32v<W> (&e)[U], const float* s_raw, float k) {
  using F = f32v<W>;
  if constexpr (P < 0) {
    for (int g = 0; g < U; g += 4) {  // four chains at a time: eight would spill under AVX2
      for (int q = g; q < g + 4; ++q) th[q] = tanh_f<W>(load<F>(s_raw + q * W));
      for (int q = g; q < g + 4; ++q) e[q] = exp_f<W>(k * th[q]);
    }
  } else {
    const auto lanes = std::make_index_sequence<W>();
    F s[U], tc[U / 2], ec[U / 2];
    for (int q = 0; q < U; ++q) s[q] = load<F>(s_raw + q * W);
    for (int h = 0; h < U / 2; ++h) tc[h] = tanh_f<W>(pack_parity<W, P>(s[2 * h], s[2 * h + 1], lanes));
    for (int h = 0; h < U / 2; ++h) ec[h] = exp_f<W>(k * tc[h]);
    for (int q = 0; q < U; ++q) {
      const F fill_th = s[q] == s[q] ? F{} : s[q], fill_e = fill_th + 1.0f;
      th[q] = q % 2 == 0 ? unpack_parity<W, P, 0>(tc[q / 2], fill_th, lanes)
                         : unpack_parity<W, P, 1>(tc[q / 2], fill_th, lanes);
      e[q] = q % 2 == 0 ? unpack_parity<W, P, 0>(ec[q / 2], fill_e, lanes)
                        : unpack_parity<W, P, 1>(ec[q / 2], fill_e, lanes);
    }
  }
}

// The parity of the transformed lanes when mask[j] = 0 exactly on every other j (and 1 elsewhere),
// else -1.
inline int alternating_parity(const float* mask, index_t d) {
  if (d < 2 || d % 2) return -1;
  const int p = mask[0] == 0.0f ? 0 : 1;
  for (index_t j = 0; j < d; ++j)
    if (mask[j] != (j % 2 == p ? 0.0f : 1.0f)) return -1;
  return p;
}

// When W divides d, a block of rows is a flat run of whole vectors, each inside one row: the
// backwards take U = 8 consecutive vectors at once (rows at D = W, or chunks of one row). Each
// lane's tanh-then-exp is a long dependent chain; four independent chains side by side keep the FP
// pipes busy where one vector at a time left them waiting, and consecutive vectors keep one memory
// stream per array (four rows of D = 256 at once would be twelve).
template <int W>
struct Flat {
  static constexpr int U = 8;  // four packed chains under an alternating mask
  f32v<W> m[U];
  float dld[U];
  index_t col = 0, row = 0;
  // Mask and dlogdet of the next U vectors, then steps past them.
  LVK_SIMD_INLINE void next(const float* mask, const float* dlogdet, index_t d) {
    for (int q = 0; q < U; ++q) {
      m[q] = load<f32v<W>>(mask + col);
      dld[q] = dlogdet ? dlogdet[row] : 0.0f;
      col += W;
      if (col == d) col = 0, ++row;
    }
  }
};

template <int W, int P>
LVK_SIMD_INLINE void forward_backward_flat(float* dx, float* ds_raw, float* dt, const float* dy, const float* dlogdet,
                                           const float* x, const float* mask, const float* s_raw, float scale,
                                           index_t rows, index_t d) {
  using F = f32v<W>;
  constexpr int U = Flat<W>::U;
  Flat<W> f;
  const index_t count = rows * d;
  index_t i = 0;
  for (; i + U * W <= count; i += U * W) {
    f.next(mask, dlogdet, d);
    F th[U], e[U];
    tanh_exp<W, P>(th, e, s_raw + i, scale);
    for (int q = 0; q < U; ++q) {
      const index_t o = i + q * W;
      const F g = load<F>(dy + o), xv = load<F>(x + o), m = f.m[q], u = 1.0f - m;
      const F ds = u * (g * xv * e[q] + f.dld[q]);
      store(dx + o, g * (m + u * e[q]));
      store(ds_raw + o, ds * (scale * (1.0f - th[q] * th[q])));
      store(dt + o, u * g);
    }
  }
  for (index_t r = i / d; r < rows; ++r)  // the last rows, fewer than U vectors
    forward_backward_row<W>(dx + r * d, ds_raw + r * d, dt + r * d, dy + r * d, dlogdet ? dlogdet[r] : 0.0f, x + r * d,
                            mask, s_raw + r * d, scale, d);
}

template <int W, int P>
LVK_SIMD_INLINE void inverse_backward_flat(float* dy, float* ds_raw, float* dt, const float* dx, const float* dlogdet,
                                           const float* y, const float* mask, const float* s_raw, const float* t,
                                           float scale, index_t rows, index_t d) {
  using F = f32v<W>;
  constexpr int U = Flat<W>::U;
  Flat<W> f;
  const index_t count = rows * d;
  index_t i = 0;
  for (; i + U * W <= count; i += U * W) {
    f.next(mask, dlogdet, d);
    F th[U], e[U];
    tanh_exp<W, P>(th, e, s_raw + i, -scale);  // exp(-(scale th)): negation is exact
    for (int q = 0; q < U; ++q) {
      const index_t o = i + q * W;
      const F g = load<F>(dx + o), yv = load<F>(y + o), tt = load<F>(t + o), m = f.m[q], u = 1.0f - m;
      const F ds = -u * (g * (yv - tt) * e[q] + f.dld[q]);
      store(dy + o, g * (m + u * e[q]));
      store(ds_raw + o, ds * (scale * (1.0f - th[q] * th[q])));
      store(dt + o, -u * g * e[q]);
    }
  }
  for (index_t r = i / d; r < rows; ++r)
    inverse_backward_row<W>(dy + r * d, ds_raw + r * d, dt + r * d, dx + r * d, dlogdet ? dlogdet[r] : 0.0f, y + r * d,
                            mask, s_raw + r * d, t + r * d, scale, d);
}

// The row loops are written out in each target function: a lambda inside one would not inherit its
// target ISA, and GCC would compile the lanes for the baseline ISA (measured 4x slower).
#define LVK_COUPLING_SIMD(W, TARGET)                                                                                   \
  __attribute__((target(TARGET))) void forward_##W(float* y, float* logdet, const float* x, const float* mask,         \
                                                   const float* s_raw, const float* t, float scale, index_t rows,      \
                                                   index_t d) {                                                        \
    for (index_t r = 0, o = 0; r < rows; ++r, o += d)                                                                  \
      transform_row<W, false>(y + o, logdet + r, x + o, mask, s_raw + o, t + o, scale, d);                             \
  }                                                                                                                    \
  __attribute__((target(TARGET))) void inverse_##W(float* x, float* logdet, const float* y, const float* mask,         \
                                                   const float* s_raw, const float* t, float scale, index_t rows,      \
                                                   index_t d) {                                                        \
    for (index_t r = 0, o = 0; r < rows; ++r, o += d)                                                                  \
      transform_row<W, true>(x + o, logdet + r, y + o, mask, s_raw + o, t + o, scale, d);                              \
  }                                                                                                                    \
  __attribute__((target(TARGET))) void forward_backward_##W(                                                           \
      float* dx, float* ds_raw, float* dt, const float* dy, const float* dlogdet, const float* x, const float* mask,   \
      const float* s_raw, float scale, index_t rows, index_t d) {                                                      \
    if (d % W == 0) {                                                                                                  \
      const int p = alternating_parity(mask, d);                                                                       \
      if (p == 0) return forward_backward_flat<W, 0>(dx, ds_raw, dt, dy, dlogdet, x, mask, s_raw, scale, rows, d);     \
      if (p == 1) return forward_backward_flat<W, 1>(dx, ds_raw, dt, dy, dlogdet, x, mask, s_raw, scale, rows, d);     \
      return forward_backward_flat<W, -1>(dx, ds_raw, dt, dy, dlogdet, x, mask, s_raw, scale, rows, d);                \
    }                                                                                                                  \
    for (index_t r = 0, o = 0; r < rows; ++r, o += d)                                                                  \
      forward_backward_row<W>(dx + o, ds_raw + o, dt + o, dy + o, dlogdet ? dlogdet[r] : 0.0f, x + o, mask, s_raw + o, \
                              scale, d);                                                                               \
  }                                                                                                                    \
  __attribute__((target(TARGET))) void inverse_backward_##W(                                                           \
      float* dy, float* ds_raw, float* dt, const float* dx, const float* dlogdet, const float* y, const float* mask,   \
      const float* s_raw, const float* t, float scale, index_t rows, index_t d) {                                      \
    if (d % W == 0) {                                                                                                  \
      const int p = alternating_parity(mask, d);                                                                       \
      if (p == 0) return inverse_backward_flat<W, 0>(dy, ds_raw, dt, dx, dlogdet, y, mask, s_raw, t, scale, rows, d);  \
      if (p == 1) return inverse_backward_flat<W, 1>(dy, ds_raw, dt, dx, dlogdet, y, mask, s_raw, t, scale, rows, d);  \
      return inverse_backward_flat<W, -1>(dy, ds_raw, dt, dx, dlogdet, y, mask, s_raw, t, scale, rows, d);             \
    }                                                                                                                  \
    for (index_t r = 0, o = 0; r < rows; ++r, o += d)                                                                  \
      inverse_backward_row<W>(dy + o, ds_raw + o, dt + o, dx + o, dlogdet ? dlogdet[r] : 0.0f, y + o, mask, s_raw + o, \
                              t + o, scale, d);                                                                        \
  }
LVK_COUPLING_SIMD(8, "avx2,fma")
LVK_COUPLING_SIMD(16, "avx512f,avx512vl,avx512dq,avx2,fma")
#undef LVK_COUPLING_SIMD

}  // namespace

const CouplingSimd* coupling_simd(CpuIsa isa) {
  static const CouplingSimd avx2{forward_8, inverse_8, forward_backward_8, inverse_backward_8},
      avx512{forward_16, inverse_16, forward_backward_16, inverse_backward_16};
  const CpuIsa have = cpu_isa();  // never more than this CPU (or LVK_CPU_ISA) allows
  if (isa == CpuIsa::avx512 && have == CpuIsa::avx512) return &avx512;
  if (isa != CpuIsa::base && have != CpuIsa::base) return &avx2;
  return nullptr;
}

}  // namespace lvk::kernels::cpu
