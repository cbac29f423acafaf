// AVX2 (8 lanes) and AVX-512 (16 lanes) instantiations of the vectorised Gaussian pieces.
#include "kernels/cpu/gaussian_simd.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/philox_simd.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

namespace {

using namespace simd;

// Box-Muller on two uniform lanes: the cosine and the sine normal of each lane's pair.
template <int W>
LVK_SIMD_INLINE void box_muller_f(f32v<W> u1, f32v<W> u2, f32v<W>* cos_normal, f32v<W>* sin_normal) {
  const f32v<W> r2 = -2.0f * log_f<W>(u1);
  f32v<W> r;
  for (int l = 0; l < W; ++l)
    r[l] = __builtin_sqrtf(r2[l]);  // one vector sqrt (-fno-math-errno, kernels/CMakeLists.txt)
  *cos_normal = r * cos_2pi_f<W>(u2);
  *sin_normal = r * sin_2pi_f<W>(u2);
}

// Vectors of 4, 8 or 16 lanes of any element type: even[l], odd[l] to lanes 2l, 2l + 1 of
// (first, second).
template <class V>
LVK_SIMD_INLINE void interleave(V even, V odd, V* first, V* second) {
  constexpr int n = sizeof(V) / sizeof(even[0]);
  if constexpr (n == 4) {
    *first = __builtin_shufflevector(even, odd, 0, 4, 1, 5);
    *second = __builtin_shufflevector(even, odd, 2, 6, 3, 7);
  } else if constexpr (n == 8) {
    *first = __builtin_shufflevector(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
    *second = __builtin_shufflevector(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
  } else {
    static_assert(n == 16);
    *first = __builtin_shufflevector(even, odd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    *second = __builtin_shufflevector(even, odd, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  }
}

// Block b's normals 4b .. 4b + 3 are (cos, sin) of its pair of words 0, 1, then of words 2, 3 (the
// layout of kernels/stochastic_math.h): lane l's four values to out[4l .. 4l + 3], 4W floats.
template <int W>
LVK_SIMD_INLINE void store_quads(float* out, f32v<W> cos0, f32v<W> sin0, f32v<W> cos1, f32v<W> sin1) {
  using F = f32v<W>;
  using D = f64v<W / 2>;  // a (cos, sin) pair as one 64-bit lane
  F p0, p1, q0, q1;
  interleave(cos0, sin0, &p0, &p1);
  interleave(cos1, sin1, &q0, &q1);
  D a, b, c, d;
  interleave(bits<D>(p0), bits<D>(q0), &a, &b);
  interleave(bits<D>(p1), bits<D>(q1), &c, &d);
  store(out, a), store(out + W, b), store(out + 2 * W, c), store(out + 3 * W, d);
}

// W blocks give 4W normals; a start or end inside a block goes through a staging buffer.
template <int W>
LVK_SIMD_INLINE void normals(float* out, uint64_t first, index_t count, uint64_t seed, uint64_t offset) {
  uint64_t block = first / 4;
  index_t skip = static_cast<index_t>(first & 3), done = 0;
  float quads[4 * W];
  while (done < count) {
    u32v<W> w[4];
    philox_blocks<W>(w, seed, offset, block);
    f32v<W> cos0, sin0, cos1, sin1;
    box_muller_f<W>(to_uniform<W>(w[0]), to_uniform<W>(w[1]), &cos0, &sin0);
    box_muller_f<W>(to_uniform<W>(w[2]), to_uniform<W>(w[3]), &cos1, &sin1);
    const index_t take = std::min<index_t>(4 * W - skip, count - done);
    if (take == 4 * W) {
      store_quads<W>(out + done, cos0, sin0, cos1, sin1);
    } else {
      store_quads<W>(quads, cos0, sin0, cos1, sin1);
      std::copy(quads + skip, quads + skip + take, out + done);
    }
    done += take;
    skip = 0;
    block += W;
  }
}

template <int W>
LVK_SIMD_INLINE f32v<W> clamp_lv(f32v<W> lv) {
  lv = lv < kLogvarMin ? f32v<W>{} + kLogvarMin : lv;
  return lv > kLogvarMax ? f32v<W>{} + kLogvarMax : lv;
}

// What the S samples of one input row share: lv clamped, and sigma = exp(lv / 2).
template <int W>
LVK_SIMD_INLINE void row_scales(float* sigma, float* lv, const float* logvar, index_t d) {
  index_t j = 0;
  for (; j + W <= d; j += W) {
    const f32v<W> l = clamp_lv<W>(load<f32v<W>>(logvar + j));
    store(lv + j, l);
    store(sigma + j, exp_f<W>(0.5f * l));
  }
  if (j < d) {
    const f32v<W> l = clamp_lv<W>(load_part<W>(logvar + j, d - j, 0.0f));
    store_part<W>(lv + j, l, d - j);
    store_part<W>(sigma + j, exp_f<W>(0.5f * l), d - j);
  }
}

// z for W columns, and the row sums' terms: lv + eps^2 for log q and mu^2 + sigma^2 - 1 - lv for the
// KL (their constant factors and offsets applied once per row). Filled lanes (mu = lv = eps = 0,
// sigma = 1) give zero terms.
template <int W>
LVK_SIMD_INLINE f32v<W> sample_terms(f32v<W> m, f32v<W> sigma, f32v<W> lv, f32v<W> e, F64x<W>* lq_sum, F64x<W>* kl_sum,
                                     bool want_kl) {
  *lq_sum += widen_cvt(lv + e * e);
  if (want_kl) *kl_sum += widen_cvt((m * m + sigma * sigma - 1.0f) - lv);
  return m + sigma * e;
}

template <int W>
LVK_SIMD_INLINE void sample_row(float* z, double* log_q, double* kl, const float* mu, const float* sigma,
                                const float* lv, const float* eps, index_t d) {
  using F = f32v<W>;
  F64x<W> lq_sum = {}, kl_sum = {};
  const bool want_kl = kl != nullptr;
  index_t j = 0;
  for (; j + W <= d; j += W)
    store(z + j, sample_terms<W>(load<F>(mu + j), load<F>(sigma + j), load<F>(lv + j), load<F>(eps + j), &lq_sum,
                                 &kl_sum, want_kl));
  if (j < d) {
    const index_t n = d - j;
    store_part<W>(
        z + j,
        sample_terms<W>(load_part<W>(mu + j, n, 0.0f), load_part<W>(sigma + j, n, 1.0f), load_part<W>(lv + j, n, 0.0f),
                        load_part<W>(eps + j, n, 0.0f), &lq_sum, &kl_sum, want_kl),
        n);
  }
  *log_q = -static_cast<double>(kHalfLog2Pi) * static_cast<double>(d) - 0.5 * lane_sum(lq_sum);
  if (want_kl) *kl = 0.5 * lane_sum(kl_sum);
}

// Columns [j, j + U W) of one row of the backward (kernels/cpu/gaussian_simd.h's backward_row); with
// U = 1 the vector may be partial (lanes < W), the rest of its lanes zero-filled and not stored.
template <int W, int U>
LVK_SIMD_INLINE void backward_cols(float* dmu, float* dlogvar, const float* dz, const float* z, index_t plane,
                                   index_t s, float shift, float dkl, const float* mu, const float* logvar, index_t j,
                                   index_t lanes, index_t ahead) {
  using F = f32v<W>;
  static_assert(U == 1 || U % 2 == 0);
  const bool full = lanes == W;
  F m[U], gm[U], gl[U];
  for (int u = 0; u < U; ++u) {
    m[u] = full ? load<F>(mu + j + u * W) : load_part<W>(mu + j, lanes, 0.0f);
    gm[u] = gl[u] = F{};
  }
  for (index_t t = 0; t < s; ++t) {
    const float* dzt = dz + t * plane + j;
    const float* zt = z + t * plane + j;
    // The next row's lines of these sample rows: 2 S streams at once outrun the hardware prefetchers.
    if (U > 1 && s > 1)
      for (int c = 0; c < U * W; c += 16) {  // 16 floats a 64-byte line
        __builtin_prefetch(dzt + ahead + c);
        __builtin_prefetch(zt + ahead + c);
      }
    for (int u = 0; u < U; ++u) {
      const F g = full ? load<F>(dzt + u * W) : load_part<W>(dzt, lanes, 0.0f);
      const F e = (full ? load<F>(zt + u * W) : load_part<W>(zt, lanes, 0.0f)) - m[u];  // sigma eps
      gm[u] += g;
      gl[u] += g * e;
    }
  }
  for (int u = 0; u < U; ++u) {
    const F raw = full ? load<F>(logvar + j + u * W) : load_part<W>(logvar + j, lanes, 0.0f);
    const F kl_lv = dkl * 0.5f * (exp_f<W>(clamp_lv<W>(raw)) - 1.0f);
    const i32v<W> inside = (raw >= kLogvarMin) & (raw <= kLogvarMax);
    const F out_mu = gm[u] + dkl * m[u];
    const F out_lv =
        (0.5f * gl[u] + shift + kl_lv) * (inside ? F{} + 1.0f : F{});  // NaN stays NaN, as in the scalar twin
    if (full) {
      store(dmu + j + u * W, out_mu);
      store(dlogvar + j + u * W, out_lv);
    } else {
      store_part<W>(dmu + j, out_mu, lanes);
      store_part<W>(dlogvar + j, out_lv, lanes);
    }
  }
}

// Four vectors at a time keep four independent sums in flight over the S samples.
template <int W>
LVK_SIMD_INLINE void backward_row(float* dmu, float* dlogvar, const float* dz, const float* z, index_t plane, index_t s,
                                  float shift, float dkl, const float* mu, const float* logvar, index_t d) {
  index_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W)
    backward_cols<W, 4>(dmu, dlogvar, dz, z, plane, s, shift, dkl, mu, logvar, j, W, d);
  for (; j < d; j += W)
    backward_cols<W, 1>(dmu, dlogvar, dz, z, plane, s, shift, dkl, mu, logvar, j, std::min<index_t>(W, d - j), d);
}

#define LVK_GAUSSIAN_SIMD(W, TARGET)                                                                                  \
  __attribute__((target(TARGET), flatten)) void normals_##W(float* out, uint64_t first, index_t count, uint64_t seed, \
                                                            uint64_t offset) {                                        \
    normals<W>(out, first, count, seed, offset);                                                                      \
  }                                                                                                                   \
  __attribute__((target(TARGET))) void row_scales_##W(float* sigma, float* lv, const float* logvar, index_t d) {      \
    row_scales<W>(sigma, lv, logvar, d);                                                                              \
  }                                                                                                                   \
  __attribute__((target(TARGET), flatten)) void row_##W(float* z, double* log_q, double* kl, const float* mu,         \
                                                        const float* sigma, const float* lv, const float* eps,        \
                                                        index_t d) {                                                  \
    sample_row<W>(z, log_q, kl, mu, sigma, lv, eps, d);                                                               \
  }                                                                                                                   \
  __attribute__((target(TARGET))) void backward_row_##W(float* dmu, float* dlogvar, const float* dz, const float* z,  \
                                                        index_t plane, index_t s, float shift, float dkl,             \
                                                        const float* mu, const float* logvar, index_t d) {            \
    backward_row<W>(dmu, dlogvar, dz, z, plane, s, shift, dkl, mu, logvar, d);                                        \
  }
LVK_GAUSSIAN_SIMD(8, "avx2,fma")
LVK_GAUSSIAN_SIMD(16, "avx512f,avx512vl,avx512dq,avx2,fma")
#undef LVK_GAUSSIAN_SIMD

}  // namespace

const GaussianSimd* gaussian_simd() {
  static const GaussianSimd avx2{normals_8, row_scales_8, row_8, backward_row_8},
      avx512{normals_16, row_scales_16, row_16, backward_row_16};
  switch (cpu_isa()) {
    case CpuIsa::avx512:
      return &avx512;
    case CpuIsa::avx2:
      return &avx2;
    default:
      return nullptr;
  }
}

}  // namespace lvk::kernels::cpu
