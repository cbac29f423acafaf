// AVX2 (8 lanes) and AVX-512 (16 lanes) instantiations of the vectorised Gumbel-softmax passes.
#include "kernels/cpu/gumbel_simd.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/philox_simd.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cpu {

namespace {

using namespace simd;
constexpr float kInf = std::numeric_limits<float>::infinity();
// exp_f needs a normal 2^n: below this its scale underflows, and the true exp is < 2^-125.
constexpr float kExpFloor = -87.0f;

// -log(-log u) on Philox words.
template <int W>
LVK_SIMD_INLINE f32v<W> gumbel_f(u32v<W> word) {
  return -log_f<W>(-log_f<W>(to_uniform<W>(word)));
}

// Columns [0, count) of the draws starting at block block0, densely: W blocks give 4W columns
// (column 4 l + w is word w of block block0 + l).
template <int W>
LVK_SIMD_INLINE void noise_span(float* g, index_t count, uint64_t seed, uint64_t offset, uint64_t block0) {
  float tmp[4 * W];
  for (index_t c = 0; c < count; c += 4 * W) {
    u32v<W> w[4];
    philox_blocks<W>(w, seed, offset, block0 + static_cast<uint64_t>(c / 4));
    for (int q = 0; q < 4; ++q) {
      const f32v<W> gq = gumbel_f<W>(w[q]);
      for (int l = 0; l < W; ++l) tmp[4 * l + q] = gq[l];
    }
    const index_t take = std::min<index_t>(4 * W, count - c);
    std::copy(tmp, tmp + take, g + c);
  }
}

template <int W>
LVK_SIMD_INLINE void noise(float* g, index_t rows, index_t k, uint64_t seed, uint64_t offset, uint64_t row0) {
  const uint64_t blocks = gumbel_blocks_per_row(k);
  if (k % 4 == 0) {  // rows carry no padding: the rows' draws are one contiguous span
    noise_span<W>(g, rows * k, seed, offset, row0 * blocks);
    return;
  }
  for (index_t r = 0; r < rows; ++r)
    noise_span<W>(g + r * k, k, seed, offset, (row0 + static_cast<uint64_t>(r)) * blocks);
}

template <int W>
LVK_SIMD_INLINE float row_max(const float* x, index_t k) {
  f32v<W> m = f32v<W>{} - kInf;
  for (index_t j = 0; j < k; j += W) {
    const f32v<W> v = j + W <= k ? load<f32v<W>>(x + j) : load_part<W>(x + j, k - j, -kInf);
    m = m < v ? v : m;  // std::max's order: a NaN in v is ignored, as in the scalar loop
  }
  float out = -kInf;
  for (int l = 0; l < W; ++l) out = std::max(out, m[l]);
  return out;
}

template <int W>
LVK_SIMD_INLINE index_t perturb(float* v, float* vmax, const float* l, index_t k, float mx, float inv_tau) {
  using F = f32v<W>;
  using I = i32v<W>;
  F best_v = F{} - kInf;
  I best_i = {}, idx = iota32<W>();
  for (index_t j = 0; j < k; j += W, idx += W) {
    const index_t n = std::min<index_t>(W, k - j);
    const F lj = n == W ? load<F>(l + j) : load_part<W>(l + j, n, -kInf);
    const F t = ((lj - mx) + (n == W ? load<F>(v + j) : load_part<W>(v + j, n, 0.0f))) * inv_tau;
    if (n == W) {
      store(v + j, t);
    } else {
      store_part<W>(v + j, t, n);
    }
    const I gt = t > best_v;  // strict: each lane keeps its first maximum
    best_v = gt ? t : best_v;
    best_i = gt ? idx : best_i;
  }
  float m = -kInf;
  index_t best = 0;
  for (int q = 0; q < W; ++q)
    if (best_v[q] > m || (best_v[q] == m && best_i[q] < best)) m = best_v[q], best = best_i[q];
  *vmax = m;
  return best;
}

template <int W>
LVK_SIMD_INLINE f32v<W> exp_floored(f32v<W> x) {
  const f32v<W> e = exp_f<W>(x);
  return x < kExpFloor ? f32v<W>{} : e;  // also -inf (masked) -> 0; NaN stays NaN
}

template <int W>
LVK_SIMD_INLINE double exp_sum(float* v, index_t k, float vmax) {
  F64x<W> acc = {};
  for (index_t j = 0; j < k; j += W) {
    const index_t n = std::min<index_t>(W, k - j);
    const f32v<W> e = exp_floored<W>((n == W ? load<f32v<W>>(v + j) : load_part<W>(v + j, n, -kInf)) - vmax);
    if (n == W) {
      store(v + j, e);
    } else {
      store_part<W>(v + j, e, n);
    }
    acc += widen<W>(e);
  }
  return lane_sum(acc);
}

template <int W>
LVK_SIMD_INLINE void scale(float* y, const float* v, index_t k, double inv_s) {
  for (index_t j = 0; j < k; j += W) {
    const index_t n = std::min<index_t>(W, k - j);
    const f32v<W> out = narrow<W>(widen<W>(n == W ? load<f32v<W>>(v + j) : load_part<W>(v + j, n, 0.0f)) * inv_s);
    if (n == W) {
      store(y + j, out);
    } else {
      store_part<W>(y + j, out, n);
    }
  }
}

template <int W>
LVK_SIMD_INLINE double entropy(const float* l, index_t k, float mx, double* log_s) {
  F64x<W> s = {}, t = {};
  for (index_t j = 0; j < k; j += W) {
    const index_t n = std::min<index_t>(W, k - j);
    const f32v<W> a = (n == W ? load<f32v<W>>(l + j) : load_part<W>(l + j, n, -kInf)) - mx;
    const f32v<W> e = exp_floored<W>(a);
    const f32v<W> ea = e == 0.0f ? f32v<W>{} : a;  // 0 * -inf must not become NaN
    const F64x<W> ed = widen<W>(e);
    s += ed;
    t += ed * widen<W>(ea);
  }
  const double ss = lane_sum(s), tt = lane_sum(t);
  *log_s = std::log(ss);
  return *log_s - tt / ss;
}

// The dot in f32 lanes, two chains (to hide the add latency), each block of kDotBlock elements
// then added to a double sum: each f32 lane sums at most kDotBlock / (2 W) products. The gradient
// in f32.
constexpr index_t kDotBlock = 256;

template <int W>
LVK_SIMD_INLINE void softmax_grad(float* dl, const float* y, const float* dy, index_t k, float inv_tau) {
  using F = f32v<W>;
  static_assert(kDotBlock % (2 * W) == 0);
  F64x<W> sum = {};
  index_t j = 0;
  while (j + 2 * W <= k) {
    F acc0 = {}, acc1 = {};
    for (const index_t end = std::min(k, j + kDotBlock); j + 2 * W <= end; j += 2 * W) {
      acc0 += load<F>(y + j) * load<F>(dy + j);
      acc1 += load<F>(y + j + W) * load<F>(dy + j + W);
    }
    sum += widen<W>(acc0) + widen<W>(acc1);
  }
  for (; j < k; j += W) {
    const index_t n = std::min<index_t>(W, k - j);
    sum += widen<W>(load_part<W>(y + j, n, 0.0f) * load_part<W>(dy + j, n, 0.0f));
  }
  const float dot = static_cast<float>(lane_sum(sum));
  for (j = 0; j + W <= k; j += W) store(dl + j, load<F>(y + j) * (load<F>(dy + j) - dot) * inv_tau);
  if (j < k) {
    const index_t n = k - j;
    store_part<W>(dl + j, load_part<W>(y + j, n, 0.0f) * (load_part<W>(dy + j, n, 0.0f) - dot) * inv_tau, n);
  }
}

template <int W>
LVK_SIMD_INLINE void kl_grad(float* dl, const float* l, index_t k, float mx, double log_s, double h, float dkl) {
  using D = F64x<W>;
  for (index_t j = 0; j < k; j += W) {
    const index_t n = std::min<index_t>(W, k - j);
    const f32v<W> a = (n == W ? load<f32v<W>>(l + j) : load_part<W>(l + j, n, -kInf)) - mx;
    const D log_q = widen<W>(a) - log_s;
    const f32v<W> e = exp_floored<W>(narrow<W>(log_q));
    const D term = static_cast<double>(dkl) * widen<W>(e) * (log_q + h);
    // Masked categories (a = -inf) get no term: e = 0 there, and 0 * -inf must not become NaN.
    const f32v<W> add = a == -kInf ? f32v<W>{} : narrow<W>(term);
    const f32v<W> out = (n == W ? load<f32v<W>>(dl + j) : load_part<W>(dl + j, n, 0.0f)) + add;
    if (n == W) {
      store(dl + j, out);
    } else {
      store_part<W>(dl + j, out, n);
    }
  }
}

#define LVK_GUMBEL_SIMD(W, TARGET)                                                                               \
  __attribute__((target(TARGET), flatten)) void noise_##W(float* g, index_t rows, index_t k, uint64_t seed,      \
                                                          uint64_t offset, uint64_t row0) {                      \
    noise<W>(g, rows, k, seed, offset, row0);                                                                    \
  }                                                                                                              \
  __attribute__((target(TARGET))) float row_max_##W(const float* x, index_t k) {                                 \
    return row_max<W>(x, k);                                                                                     \
  }                                                                                                              \
  __attribute__((target(TARGET)))                                                                                \
  index_t perturb_##W(float* v, float* vmax, const float* l, index_t k, float mx, float inv_tau) {               \
    return perturb<W>(v, vmax, l, k, mx, inv_tau);                                                               \
  }                                                                                                              \
  __attribute__((target(TARGET))) double exp_sum_##W(float* v, index_t k, float vmax) {                          \
    return exp_sum<W>(v, k, vmax);                                                                               \
  }                                                                                                              \
  __attribute__((target(TARGET))) void scale_##W(float* y, const float* v, index_t k, double inv_s) {            \
    scale<W>(y, v, k, inv_s);                                                                                    \
  }                                                                                                              \
  __attribute__((target(TARGET))) double entropy_##W(const float* l, index_t k, float mx, double* log_s) {       \
    return entropy<W>(l, k, mx, log_s);                                                                          \
  }                                                                                                              \
  __attribute__((target(TARGET))) void softmax_grad_##W(float* dl, const float* y, const float* dy, index_t k,   \
                                                        float inv_tau) {                                         \
    softmax_grad<W>(dl, y, dy, k, inv_tau);                                                                      \
  }                                                                                                              \
  __attribute__((target(TARGET))) void kl_grad_##W(float* dl, const float* l, index_t k, float mx, double log_s, \
                                                   double h, float dkl) {                                        \
    kl_grad<W>(dl, l, k, mx, log_s, h, dkl);                                                                     \
  }
LVK_GUMBEL_SIMD(8, "avx2,fma")
LVK_GUMBEL_SIMD(16, "avx512f,avx512vl,avx512dq,avx2,fma")
#undef LVK_GUMBEL_SIMD

}  // namespace

const GumbelSimd* gumbel_simd(CpuIsa isa) {
  static const GumbelSimd avx2{noise_8, row_max_8, perturb_8, exp_sum_8, scale_8, entropy_8, softmax_grad_8, kl_grad_8},
      avx512{noise_16, row_max_16, perturb_16, exp_sum_16, scale_16, entropy_16, softmax_grad_16, kl_grad_16};
  // Never more than this CPU (or LVK_CPU_ISA) allows.
  const CpuIsa have = cpu_isa();
  if (isa == CpuIsa::avx512 && have == CpuIsa::avx512) return &avx512;
  if (isa != CpuIsa::base && have != CpuIsa::base) return &avx2;
  return nullptr;
}

}  // namespace lvk::kernels::cpu
