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

template <int W>
LVK_SIMD_INLINE void backward_acc(double* gmu, double* glv, const float* dz, const float* logvar, const float* eps,
                                  index_t d) {
  using F = f32v<W>;
  index_t j = 0;
  for (; j + W <= d; j += W) {
    const F g = load<F>(dz + j);
    const F h = g * (0.5f * exp_f<W>(0.5f * clamp_lv<W>(load<F>(logvar + j)))) * load<F>(eps + j);
    store_f64<W>(gmu + j, load_f64<W>(gmu + j) + widen<W>(g));
    store_f64<W>(glv + j, load_f64<W>(glv + j) + widen<W>(h));
  }
  for (; j < d; ++j) {
    const float sigma = std::exp(0.5f * clamp_logvar(logvar[j]));
    gmu[j] += dz[j];
    glv[j] += static_cast<double>(dz[j] * (0.5f * sigma) * eps[j]);
  }
}

template <int W>
LVK_SIMD_INLINE void backward_end(float* dmu, float* dlogvar, const double* gmu, const double* glv, double shift,
                                  float dkl, const float* mu, const float* logvar, index_t d) {
  using F = f32v<W>;
  index_t j = 0;
  for (; j + W <= d; j += W) {
    const F raw = load<F>(logvar + j), m = load<F>(mu + j);
    const F kl_lv = dkl * 0.5f * (exp_f<W>(clamp_lv<W>(raw)) - 1.0f);
    const i32v<W> inside = (raw >= kLogvarMin) & (raw <= kLogvarMax);
    const F lv_f = narrow<W>(load_f64<W>(glv + j) + shift + widen<W>(kl_lv));
    store(dmu + j, narrow<W>(load_f64<W>(gmu + j) + widen<W>(dkl * m)));
    store(dlogvar + j, lv_f * (inside ? F{} + 1.0f : F{}));  // a product, as in the scalar twin: NaN stays NaN
  }
  for (; j < d; ++j) {
    const float lv = clamp_logvar(logvar[j]);
    dmu[j] = static_cast<float>(gmu[j] + static_cast<double>(dkl * mu[j]));
    const double g = glv[j] + shift + static_cast<double>(dkl * 0.5f * (std::exp(lv) - 1.0f));
    dlogvar[j] = static_cast<float>(g) * logvar_mask(logvar[j]);
  }
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
  __attribute__((target(TARGET))) void backward_acc_##W(double* gmu, double* glv, const float* dz,                    \
                                                        const float* logvar, const float* eps, index_t d) {           \
    backward_acc<W>(gmu, glv, dz, logvar, eps, d);                                                                    \
  }                                                                                                                   \
  __attribute__((target(TARGET))) void backward_end_##W(float* dmu, float* dlogvar, const double* gmu,                \
                                                        const double* glv, double shift, float dkl, const float* mu,  \
                                                        const float* logvar, index_t d) {                             \
    backward_end<W>(dmu, dlogvar, gmu, glv, shift, dkl, mu, logvar, d);                                               \
  }
LVK_GAUSSIAN_SIMD(8, "avx2,fma")
LVK_GAUSSIAN_SIMD(16, "avx512f,avx512vl,avx512dq,avx2,fma")
#undef LVK_GAUSSIAN_SIMD

}  // namespace

const GaussianSimd* gaussian_simd() {
  static const GaussianSimd avx2{normals_8, row_8, backward_acc_8, backward_end_8},
      avx512{normals_16, row_16, backward_acc_16, backward_end_16};
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
