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

// Box-Muller from two uniform lanes.
template <int W>
LVK_SIMD_INLINE f32v<W> box_muller_f(f32v<W> u1, f32v<W> u2) {
  const f32v<W> r2 = -2.0f * log_f<W>(u1);
  f32v<W> r;
  for (int l = 0; l < W; ++l)
    r[l] = __builtin_sqrtf(r2[l]);  // one vector sqrt (-fno-math-errno, kernels/CMakeLists.txt)
  return r * cos_2pi_f<W>(u2);
}

// even[l], odd[l] to out[2l], out[2l + 1].
template <int W>
LVK_SIMD_INLINE void interleave(float* out, f32v<W> even, f32v<W> odd) {
  if constexpr (W == 8) {
    store(out, __builtin_shufflevector(even, odd, 0, 8, 1, 9, 2, 10, 3, 11));
    store(out + 8, __builtin_shufflevector(even, odd, 4, 12, 5, 13, 6, 14, 7, 15));
  } else if constexpr (W == 16) {
    store(out, __builtin_shufflevector(even, odd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    store(out + 16, __builtin_shufflevector(even, odd, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
  } else {
    for (int l = 0; l < W; ++l) out[2 * l] = even[l], out[2 * l + 1] = odd[l];
  }
}

// Normal i uses words 0, 1 (i even) or 2, 3 (i odd) of block i / 2: W blocks give 2W normals.
template <int W>
LVK_SIMD_INLINE void normals(float* out, uint64_t first, index_t count, uint64_t seed, uint64_t offset) {
  uint64_t block = first / 2;
  index_t skip = static_cast<index_t>(first & 1), done = 0;
  float pair[2 * W];
  while (done < count) {
    u32v<W> w[4];
    philox_blocks<W>(w, seed, offset, block);
    const f32v<W> even = box_muller_f<W>(to_uniform<W>(w[0]), to_uniform<W>(w[1]));
    const f32v<W> odd = box_muller_f<W>(to_uniform<W>(w[2]), to_uniform<W>(w[3]));
    const index_t take = std::min<index_t>(2 * W - skip, count - done);
    if (take == 2 * W) {
      interleave<W>(out + done, even, odd);
    } else {
      interleave<W>(pair, even, odd);
      std::copy(pair + skip, pair + skip + take, out + done);
    }
    done += take;
    skip = 0;
    block += W;
  }
}

template <int W>
LVK_SIMD_INLINE void sample_row(float* z, double* log_q, double* kl, const float* mu, const float* logvar,
                                const float* eps, index_t d) {
  using F = f32v<W>;
  F64x<W> lq_acc = {}, kl_acc = {};
  i32v<W> lane;
  for (int l = 0; l < W; ++l) lane[l] = l;
  for (index_t j = 0; j < d; j += W) {
    const index_t n = std::min<index_t>(W, d - j);
    F m = {}, lv = {}, e = {};
    if (n == W) {
      m = load<F>(mu + j), lv = load<F>(logvar + j), e = load<F>(eps + j);
    } else {
      for (index_t l = 0; l < n; ++l) m[l] = mu[j + l], lv[l] = logvar[j + l], e[l] = eps[j + l];
    }
    lv = lv < kLogvarMin ? F{} + kLogvarMin : lv;
    lv = lv > kLogvarMax ? F{} + kLogvarMax : lv;
    const F zv = m + exp_f<W>(0.5f * lv) * e;
    if (n == W) {
      store(z + j, zv);
    } else {
      for (index_t l = 0; l < n; ++l) z[j + l] = zv[l];
    }
    const i32v<W> valid = lane < static_cast<int32_t>(n);
    const F lq = -kHalfLog2Pi - 0.5f * lv - 0.5f * e * e;
    lq_acc += widen<W>(valid ? lq : F{});
    if (kl) {
      const F k = 0.5f * (m * m + exp_f<W>(lv) - 1.0f - lv);
      kl_acc += widen<W>(valid ? k : F{});
    }
  }
  *log_q = lane_sum(lq_acc);
  if (kl) *kl = lane_sum(kl_acc);
}

template <int W>
LVK_SIMD_INLINE f32v<W> clamp_lv(f32v<W> lv) {
  lv = lv < kLogvarMin ? f32v<W>{} + kLogvarMin : lv;
  return lv > kLogvarMax ? f32v<W>{} + kLogvarMax : lv;
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
  __attribute__((target(TARGET))) void row_##W(float* z, double* log_q, double* kl, const float* mu,                  \
                                               const float* logvar, const float* eps, index_t d) {                    \
    sample_row<W>(z, log_q, kl, mu, logvar, eps, d);                                                                  \
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
  static const GaussianSimd avx2{normals_8, row_8, backward_row_8}, avx512{normals_16, row_16, backward_row_16};
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
