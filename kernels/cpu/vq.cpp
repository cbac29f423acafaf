// CPU twin of the fused nearest-codebook lookup: a GEMM-shaped loop nest whose "C tile" is never
// stored. Everything is centred on the codebook mean mu (kernels/vq.h says why): the codebook is
// packed into panels of W codes, channel-major ([C][W]), as -2 (e_k - mu) (the scaling is exact),
// and the rows as z - mu while they are packed anyway, so the micro-kernel starts its accumulators
// at ||e_k - mu||^2 and one FMA per channel leaves the centred score in a register. A ROWS x W block of scores lives in vector
// registers; the argmin is folded in with vector compares into a per-row, per-lane running best
// (lane l of panel p is code p*W + l; strict "<" over ascending panels keeps the lowest index in
// each lane), and the W lanes are reduced lexicographically on (score, index) at the end, so ties
// resolve to the lowest index. Row blocks (packed row-major, which also turns NCHW input into
// rows) are spread over OpenMP threads; each row's answer depends only on its own data.
//
// The micro-kernel exists for AVX-512 (8 rows x 32 codes), AVX2+FMA (6 x 16) and plain C++ (4 x
// 16), picked at run time (kernels/cpu/cpu_isa.h). On AVX2 with OpenBLAS the lookup runs as sgemm
// score tiles instead (kernels/cpu/vq_tiles.h), which measured faster there.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/vq_tiles.h"
#include "kernels/vq.h"

namespace lvk::kernels::cpu {

namespace {

constexpr int kRowBlock = 48;  // rows per OpenMP work item; a multiple of every micro-kernel height
constexpr int kMaxPanel = 32;
constexpr float kInf = std::numeric_limits<float>::infinity();

// best/best_k: [ROWS][W] running best per row and lane; rows: [ROWS][c]; panel: [c][W] (-2 e);
// norms: [W] (+inf past K); k0: first code of the panel.
using MicroFn = void (*)(float* best, int32_t* best_k, const float* rows, const float* panel, const float* norms,
                         index_t c, int32_t k0);

__attribute__((target("avx512f,avx512vl,avx2,fma"))) void micro_avx512(float* best, int32_t* best_k,
                                                                         const float* rows, const float* panel,
                                                                         const float* norms, index_t c, int32_t k0) {
  constexpr int R = 8;
  __m512 acc[R][2];
  const __m512 n0 = _mm512_loadu_ps(norms), n1 = _mm512_loadu_ps(norms + 16);
  for (int r = 0; r < R; ++r) acc[r][0] = n0, acc[r][1] = n1;
  for (index_t ch = 0; ch < c; ++ch) {
    const __m512 p0 = _mm512_loadu_ps(panel + ch * 32), p1 = _mm512_loadu_ps(panel + ch * 32 + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 zr = _mm512_set1_ps(rows[r * c + ch]);
      acc[r][0] = _mm512_fmadd_ps(zr, p0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(zr, p1, acc[r][1]);
    }
  }
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i i0 = _mm512_add_epi32(lanes, _mm512_set1_epi32(k0)), i1 = _mm512_add_epi32(i0, _mm512_set1_epi32(16));
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 2; ++v) {
      float* bv = best + r * 32 + v * 16;
      int32_t* bi = best_k + r * 32 + v * 16;
      const __m512 old = _mm512_loadu_ps(bv);
      const __mmask16 m = _mm512_cmp_ps_mask(acc[r][v], old, _CMP_LT_OQ);
      _mm512_storeu_ps(bv, _mm512_mask_mov_ps(old, m, acc[r][v]));
      const __m512i oi = _mm512_loadu_si512(bi);
      _mm512_storeu_si512(bi, _mm512_mask_mov_epi32(oi, m, v == 0 ? i0 : i1));
    }
}

__attribute__((target("avx2,fma"))) void micro_avx2(float* best, int32_t* best_k, const float* rows,
                                                     const float* panel, const float* norms, index_t c, int32_t k0) {
  constexpr int R = 6;
  __m256 acc[R][2];
  const __m256 n0 = _mm256_loadu_ps(norms), n1 = _mm256_loadu_ps(norms + 8);
  for (int r = 0; r < R; ++r) acc[r][0] = n0, acc[r][1] = n1;
  for (index_t ch = 0; ch < c; ++ch) {
    const __m256 p0 = _mm256_loadu_ps(panel + ch * 16), p1 = _mm256_loadu_ps(panel + ch * 16 + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 zr = _mm256_broadcast_ss(rows + r * c + ch);
      acc[r][0] = _mm256_fmadd_ps(zr, p0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(zr, p1, acc[r][1]);
    }
  }
  const __m256i i0 = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(k0));
  const __m256i i1 = _mm256_add_epi32(i0, _mm256_set1_epi32(8));
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 2; ++v) {
      float* bv = best + r * 16 + v * 8;
      int32_t* bi = best_k + r * 16 + v * 8;
      const __m256 old = _mm256_loadu_ps(bv);
      const __m256 m = _mm256_cmp_ps(acc[r][v], old, _CMP_LT_OQ);
      _mm256_storeu_ps(bv, _mm256_blendv_ps(old, acc[r][v], m));
      const __m256 oi = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bi)));
      const __m256 ni = _mm256_castsi256_ps(v == 0 ? i0 : i1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(bi), _mm256_castps_si256(_mm256_blendv_ps(oi, ni, m)));
    }
}

void micro_base(float* best, int32_t* best_k, const float* rows, const float* panel, const float* norms, index_t c,
                int32_t k0) {
  constexpr int R = 4, W = 16;
  float acc[R][W];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < W; ++j) acc[r][j] = norms[j];
  for (index_t ch = 0; ch < c; ++ch)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < W; ++j) acc[r][j] = std::fma(rows[r * c + ch], panel[ch * W + j], acc[r][j]);
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < W; ++j)
      if (acc[r][j] < best[r * W + j]) best[r * W + j] = acc[r][j], best_k[r * W + j] = k0 + j;
}

struct Micro {
  MicroFn fn;
  int rows, width;
};

Micro pick_micro() {
  switch (cpu_isa()) {
    case CpuIsa::avx512: return {micro_avx512, 8, 32};
    case CpuIsa::avx2: return {micro_avx2, 6, 16};
    default: return {micro_base, 4, 16};
  }
}

// z_q and the direct-form distance (in double) of row i, given its code kk.
void finish_row(float* z_q, float* distances, const float* z, const float* codebook, const VqShape& s, index_t i,
                int32_t kk) {
  if (!z_q && !distances) return;
  double d = 0.0;
  for (index_t ch = 0; ch < s.c; ++ch) {
    const float e = codebook[kk * s.c + ch];
    if (z_q) z_q[vq_offset(i, ch, s)] = e;
    const double diff = static_cast<double>(z[vq_offset(i, ch, s)]) - e;
    d += diff * diff;
  }
  if (distances) distances[i] = static_cast<float>(d);
}

// Measured (bench/README.md): on AVX2 the sgemm tiles beat the 6 x 16 micro-kernel by 1.7-1.9x;
// on AVX-512 the 8 x 32 micro-kernel beats the tiles by 1.6x.
// first[j]: the lowest index whose code has exactly code j's bits.
std::vector<int32_t> first_duplicates(const float* codebook, index_t k, index_t c) {
  std::vector<int32_t> order(static_cast<size_t>(k)), first(static_cast<size_t>(k));
  for (index_t j = 0; j < k; ++j) order[static_cast<size_t>(j)] = static_cast<int32_t>(j);
  const size_t bytes = static_cast<size_t>(c) * sizeof(float);
  const auto row = [&](int32_t j) { return codebook + static_cast<index_t>(j) * c; };
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const int cmp = std::memcmp(row(a), row(b), bytes);
    return cmp != 0 ? cmp < 0 : a < b;
  });
  for (size_t q = 0; q < order.size(); ++q) {
    const bool same = q > 0 && std::memcmp(row(order[q]), row(order[q - 1]), bytes) == 0;
    first[static_cast<size_t>(order[q])] = same ? first[static_cast<size_t>(order[q - 1])] : order[q];
  }
  return first;
}

bool use_tiles() {
  return vq_tiles_available() && cpu_isa() == CpuIsa::avx2;
}

}  // namespace

void vq_nearest(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z,
                const float* codebook, VqShape s, void* /*workspace*/) {
  const index_t n = s.n, k = s.k, c = s.c;
  if (counts) std::fill(counts, counts + k, 0);
  if (n == 0) return;
  static const Micro micro = pick_micro();
  const int w = micro.width;
  static const bool tiles = use_tiles();
  std::vector<float> mu(static_cast<size_t>(c));
  for (index_t ch = 0; ch < c; ++ch) mu[static_cast<size_t>(ch)] = vq_codebook_mean(codebook, k, c, ch);
  if (tiles) {
    std::vector<float> packed(static_cast<size_t>(k * c)), norms(static_cast<size_t>(k));
    for (index_t j = 0; j < k; ++j) {
      for (index_t ch = 0; ch < c; ++ch)
        packed[static_cast<size_t>(j * c + ch)] = -2.0f * (codebook[j * c + ch] - mu[static_cast<size_t>(ch)]);
      norms[static_cast<size_t>(j)] = vq_centred_norm(codebook + j * c, mu.data(), c);
    }
    vq_nearest_tiles(indices, z, packed.data(), norms.data(), mu.data(), s, cpu_isa());
    // OpenBLAS's edge kernels may round a duplicate code's score differently: map each code to
    // its lowest-index duplicate so the lowest-index rule holds.
    const std::vector<int32_t> first = first_duplicates(codebook, k, c);
#pragma omp parallel for schedule(static) if (n * c >= (1 << 16))
    for (index_t i = 0; i < n; ++i) {
      indices[i] = first[static_cast<size_t>(indices[i])];
      finish_row(z_q, distances, z, codebook, s, i, indices[i]);
    }
  } else {
    // Pack: panels [P][C][W] of -2 (e - mu) (zero past K, where the +inf norm keeps codes
    // unchosen). Duplicate codes get identical panels and norms, so they tie and the lowest wins.
    const index_t panels = (k + w - 1) / w;
    std::vector<float> packed(static_cast<size_t>(panels * c * w), 0.0f);
    std::vector<float> norms(static_cast<size_t>(panels * w), kInf);
    for (index_t j = 0; j < k; ++j) {
      for (index_t ch = 0; ch < c; ++ch)
        packed[static_cast<size_t>(((j / w) * c + ch) * w + j % w)] =
            -2.0f * (codebook[j * c + ch] - mu[static_cast<size_t>(ch)]);
      norms[static_cast<size_t>(j)] = vq_centred_norm(codebook + j * c, mu.data(), c);
    }

    const index_t blocks = (n + kRowBlock - 1) / kRowBlock;
#pragma omp parallel if (blocks > 1)
    {
      std::vector<float> rows(static_cast<size_t>(kRowBlock * c));
      std::vector<float> best(static_cast<size_t>(kRowBlock * kMaxPanel));
      std::vector<int32_t> best_k(static_cast<size_t>(kRowBlock * kMaxPanel));
#pragma omp for schedule(static)
      for (index_t b = 0; b < blocks; ++b) {
        const index_t i0 = b * kRowBlock, m = std::min<index_t>(kRowBlock, n - i0);
        for (index_t r = 0; r < kRowBlock; ++r)
          for (index_t ch = 0; ch < c; ++ch)
            rows[static_cast<size_t>(r * c + ch)] =
                r < m ? z[vq_offset(i0 + r, ch, s)] - mu[static_cast<size_t>(ch)] : 0.0f;
        std::fill(best.begin(), best.end(), kInf);
        std::fill(best_k.begin(), best_k.end(), 0);
        for (index_t p = 0; p < panels; ++p)
          for (int r = 0; r < kRowBlock; r += micro.rows)
            micro.fn(best.data() + r * w, best_k.data() + r * w, rows.data() + r * c, packed.data() + p * c * w,
                     norms.data() + p * w, c, static_cast<int32_t>(p * w));
        for (index_t r = 0; r < m; ++r) {
          float bs = kInf;
          int32_t kk = 0;
          for (int l = 0; l < w; ++l) {
            const float sc = best[static_cast<size_t>(r * w + l)];
            const int32_t ki = best_k[static_cast<size_t>(r * w + l)];
            if (sc < bs || (sc == bs && ki < kk)) bs = sc, kk = ki;
          }
          indices[i0 + r] = kk;
          finish_row(z_q, distances, z, codebook, s, i0 + r, kk);
        }
      }
    }
  }
  if (counts)
    for (index_t i = 0; i < n; ++i) ++counts[indices[i]];
}

}  // namespace lvk::kernels::cpu
