// SSE2 (4 lanes), AVX2 (8) and AVX-512 (16) instantiations of the vectorised optimiser pieces.
#include "kernels/cpu/optim_simd.h"

#include "kernels/cpu/simd.h"

namespace lvk::kernels::cpu {

namespace {

using namespace simd;

template <int W>
LVK_SIMD_INLINE f32v<W> sqrt_lanes(f32v<W> x) {
  f32v<W> r;
  for (int l = 0; l < W; ++l) r[l] = __builtin_sqrtf(x[l]);  // one vector sqrt (-fno-math-errno)
  return r;
}

// adam_element on W lanes; the parenthesisation is the scalar one's.
template <int W>
LVK_SIMD_INLINE void adam_vec(f32v<W>& x, f32v<W> g, f32v<W>& m, f32v<W>& v, const AdamHyper& h, const AdamRates& r) {
  if (h.decoupled)
    x = x - r.lr * h.weight_decay * x;
  else
    g = g + h.weight_decay * x;
  m = h.beta1 * m + (1.0f - h.beta1) * g;
  v = h.beta2 * v + (1.0f - h.beta2) * g * g;
  x = x - r.step_size * m / (sqrt_lanes<W>(v) * r.inv_sqrt_bc2 + h.eps);
}

template <int W>
LVK_SIMD_INLINE void adam(float* p, const float* g, float* m, float* v, index_t n, float clip, const AdamHyper& h,
                          const AdamRates& r) {
  using F = f32v<W>;
  index_t i = 0;
  for (; i + W <= n; i += W) {
    F x = load<F>(p + i), mi = load<F>(m + i), vi = load<F>(v + i);
    adam_vec<W>(x, load<F>(g + i) * clip, mi, vi, h, r);
    store(p + i, x), store(m + i, mi), store(v + i, vi);
  }
  if (i < n) {
    const index_t k = n - i;
    F x = load_part<W>(p + i, k, 0.0f), mi = load_part<W>(m + i, k, 0.0f), vi = load_part<W>(v + i, k, 0.0f);
    adam_vec<W>(x, load_part<W>(g + i, k, 0.0f) * clip, mi, vi, h, r);
    store_part<W>(p + i, x, k), store_part<W>(m + i, mi, k), store_part<W>(v + i, vi, k);
  }
}

// 16 lanes as 16 / W vectors of W: element i always lands in lane i % 16. Zero-padded tails add
// exact zeros.
template <int W>
LVK_SIMD_INLINE void sum_squares(double* lanes, const float* g, index_t n) {
  constexpr int kVecs = kSumSquaresLanes / W;
  F64x<W> acc[kVecs];
  for (int k = 0; k < kVecs; ++k) acc[k] = load_f64<W>(lanes + k * W);
  for (index_t i = 0; i < n; i += kSumSquaresLanes)
    for (int k = 0; k < kVecs; ++k) {
      const index_t at = i + k * W, left = n - at;
      const f32v<W> x = left >= W ? load<f32v<W>>(g + at) : load_part<W>(g + at, left > 0 ? left : 0, 0.0f);
      const F64x<W> d = widen<W>(x);
      acc[k] += d * d;
    }
  for (int k = 0; k < kVecs; ++k) store_f64<W>(lanes + k * W, acc[k]);
}

#define LVK_OPTIM_SIMD(W, TARGET)                                                                                    \
  __attribute__((target(TARGET))) void adam_##W(float* p, const float* g, float* m, float* v, index_t n, float clip, \
                                                const AdamHyper& h, const AdamRates& r) {                            \
    adam<W>(p, g, m, v, n, clip, h, r);                                                                              \
  }                                                                                                                  \
  __attribute__((target(TARGET))) void sum_squares_##W(double* lanes, const float* g, index_t n) {                   \
    sum_squares<W>(lanes, g, n);                                                                                     \
  }
LVK_OPTIM_SIMD(4, "sse2")
LVK_OPTIM_SIMD(8, "avx2")
LVK_OPTIM_SIMD(16, "avx512f,avx512vl,avx512dq,avx2")
#undef LVK_OPTIM_SIMD

}  // namespace

const OptimSimd* optim_simd(CpuIsa isa) {
  static const OptimSimd sse2{adam_4, sum_squares_4}, avx2{adam_8, sum_squares_8}, avx512{adam_16, sum_squares_16};
  if (static_cast<int>(isa) > static_cast<int>(cpu_isa())) return nullptr;
  switch (isa) {
    case CpuIsa::avx512:
      return &avx512;
    case CpuIsa::avx2:
      return &avx2;
    default:
      return &sse2;
  }
}

const OptimSimd& optim_simd() {
  static const OptimSimd& widest = *optim_simd(cpu_isa());
  return widest;
}

double sum_lanes(const double* lanes) {
  double t[kSumSquaresLanes];
  for (int l = 0; l < kSumSquaresLanes; ++l) t[l] = lanes[l];
  for (int h = kSumSquaresLanes / 2; h >= 1; h /= 2)
    for (int l = 0; l < h; ++l) t[l] += t[l + h];
  return t[0];
}

}  // namespace lvk::kernels::cpu
