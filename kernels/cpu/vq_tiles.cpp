// The fused CPU lookup's other strategy (kernels/cpu/vq_tiles.h): OpenBLAS's tuned sgemm fills an
// L2-sized tile of centred scores, ||e - mu||^2 - 2 (z - mu).(e - mu), and the argmin runs over it
// in vector lanes while it is still in cache. Extra memory: the packed codebook and one tile per
// thread, O(N + K).
#include "kernels/cpu/vq_tiles.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/cpu/simd.h"

#if LVK_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace lvk::kernels::cpu {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// A tile of kTileRows x kTileCodes scores is 512 KiB: the L2 of the CPUs we run on.
constexpr index_t kTileRows = 256;
constexpr index_t kTileCodes = 512;

// Lowest index of the smallest of x[0, k) into (best, best_k) when strictly smaller, codes
// numbered from k0: ascending tiles with a strict "<" keep the lowest index on ties.
template <int W>
LVK_SIMD_INLINE void argmin_into(float& best, int32_t& best_k, const float* x, index_t k, int32_t k0) {
  using namespace simd;
  f32v<W> bv = f32v<W>{} + kInf;
  i32v<W> bi = {}, idx = iota32<W>();
  index_t j = 0;
  for (; j + W <= k; j += W, idx += W) {
    const f32v<W> v = load<f32v<W>>(x + j);
    const i32v<W> lt = v < bv;
    bv = lt ? v : bv;
    bi = lt ? idx : bi;
  }
  float m = kInf;
  int32_t mi = 0;
  for (int l = 0; l < W; ++l)
    if (bv[l] < m || (bv[l] == m && bi[l] < mi)) m = bv[l], mi = bi[l];
  for (; j < k; ++j)
    if (x[j] < m) m = x[j], mi = static_cast<int32_t>(j);
  if (m < best) best = m, best_k = k0 + mi;
}

__attribute__((target("avx512f,avx512vl,avx2,fma"))) void argmin_16(float& b, int32_t& bk, const float* x, index_t k,
                                                                    int32_t k0) {
  argmin_into<16>(b, bk, x, k, k0);
}
__attribute__((target("avx2,fma"))) void argmin_8(float& b, int32_t& bk, const float* x, index_t k, int32_t k0) {
  argmin_into<8>(b, bk, x, k, k0);
}
void argmin_4(float& b, int32_t& bk, const float* x, index_t k, int32_t k0) {
  argmin_into<4>(b, bk, x, k, k0);
}

}  // namespace

bool vq_tiles_available() {
  return LVK_WITH_OPENBLAS != 0;
}

void vq_nearest_tiles(int32_t* indices, const float* z, const float* packed, const float* norms, const float* mu,
                      VqShape s, CpuIsa isa) {
#if LVK_WITH_OPENBLAS
  const index_t n = s.n, k = s.k, c = s.c;
  const auto argmin = isa == CpuIsa::avx512 ? argmin_16 : isa == CpuIsa::avx2 ? argmin_8 : argmin_4;
  const index_t blocks = (n + kTileRows - 1) / kTileRows;
  // Threads come from OpenMP over row blocks; each sgemm runs on its calling thread.
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
#pragma omp parallel if (blocks > 1)
  {
    std::vector<float> rows(static_cast<size_t>(kTileRows * c)), tile(static_cast<size_t>(kTileRows * kTileCodes));
    std::vector<float> best(static_cast<size_t>(kTileRows));
    std::vector<int32_t> best_k(static_cast<size_t>(kTileRows));
#pragma omp for schedule(static)
    for (index_t b = 0; b < blocks; ++b) {
      const index_t i0 = b * kTileRows, m = std::min<index_t>(kTileRows, n - i0);
      for (index_t r = 0; r < m; ++r)
        for (index_t ch = 0; ch < c; ++ch)
          rows[static_cast<size_t>(r * c + ch)] = z[vq_offset(i0 + r, ch, s)] - mu[static_cast<size_t>(ch)];
      std::fill(best.begin(), best.end(), kInf);
      std::fill(best_k.begin(), best_k.end(), 0);
      for (index_t k0 = 0; k0 < k; k0 += kTileCodes) {
        const index_t kt = std::min<index_t>(kTileCodes, k - k0);
        for (index_t r = 0; r < m; ++r) std::copy(norms + k0, norms + k0 + kt, tile.data() + r * kt);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(kt),
                    static_cast<blasint>(c), 1.0f, rows.data(), static_cast<blasint>(c), packed + k0 * c,
                    static_cast<blasint>(c), 1.0f, tile.data(), static_cast<blasint>(kt));
        for (index_t r = 0; r < m; ++r)
          argmin(best[static_cast<size_t>(r)], best_k[static_cast<size_t>(r)], tile.data() + r * kt, kt,
                 static_cast<int32_t>(k0));
      }
      std::copy(best_k.begin(), best_k.begin() + m, indices + i0);
    }
  }
  openblas_set_num_threads(blas_threads);
#else
  (void)indices, (void)z, (void)packed, (void)norms, (void)mu, (void)s, (void)isa;
#endif
}

}  // namespace lvk::kernels::cpu
