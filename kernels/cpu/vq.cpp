// CPU twin of the fused nearest-codebook lookup: a GEMM-shaped loop nest whose "C tile" is never
// stored. Everything is centred on the codebook mean mu (kernels/vq.h says why): the codebook is
// packed into panels of W codes, channel-major ([C][W]), as -2 (e_k - mu) (the scaling is exact),
// and the rows as z - mu while they are packed anyway, so the micro-kernel starts its accumulators
// at ||e_k - mu||^2 and one FMA per channel leaves the centred score in a register. A ROWS x W block of scores lives in
// vector registers; the argmin is folded in with vector compares into a per-row, per-lane running best (lane l of panel
// p is code p*W + l; strict "<" over ascending panels keeps the lowest index in each lane), and the W lanes are reduced
// lexicographically on (score, index) at the end, so ties resolve to the lowest index. Row blocks (packed row-major,
// which also turns NCHW input into rows) are spread over OpenMP threads; each row's answer depends only on its own
// data.
//
// The micro-kernel exists for AVX-512 (8 rows x 32 codes), AVX2+FMA (6 x 16) and plain C++ (4 x
// 16), picked at run time (kernels/cpu/cpu_isa.h). On AVX2 it measured faster than letting
// OpenBLAS's sgemm fill L2-sized score tiles and taking the argmin over them (bench/README.md).
#include "kernels/vq.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_isa.h"

namespace lvk::kernels::cpu {

namespace {

constexpr int kRowBlock = 48;  // rows per OpenMP work item; a multiple of every micro-kernel height
constexpr int kMaxPanel = 32;
constexpr float kInf = std::numeric_limits<float>::infinity();

// best/best_k: [ROWS][W] running best per row and lane; rows: [ROWS][c]; panel: [c][W] (-2 e);
// norms: [W] (+inf past K); k0: first code of the panel.
using MicroFn = void (*)(float* best, int32_t* best_k, const float* rows, const float* panel, const float* norms,
                         index_t c, int32_t k0);

__attribute__((target("avx512f,avx512vl,avx2,fma"))) void micro_avx512(float* best, int32_t* best_k, const float* rows,
                                                                       const float* panel, const float* norms,
                                                                       index_t c, int32_t k0) {
  constexpr int R = 8;
  __m512 acc[R][2];
  const __m512 n0 = _mm512_loadu_ps(norms), n1 = _mm512_loadu_ps(norms + 16);
#pragma GCC unroll 8
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
  // Every loop over acc is fully unrolled, so the accumulators stay in registers: with a loop here
  // GCC keeps acc in memory and stores every accumulator on every channel (measured 1.6x slower).
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
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

__attribute__((target("avx2,fma"))) void micro_avx2(float* best, int32_t* best_k, const float* rows, const float* panel,
                                                    const float* norms, index_t c, int32_t k0) {
  constexpr int R = 6;
  __m256 acc[R][2];
  const __m256 n0 = _mm256_loadu_ps(norms), n1 = _mm256_loadu_ps(norms + 8);
#pragma GCC unroll 8
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
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
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

// out[r] = the lowest index among the lanes of row r (W lanes of best / best_k) holding the smallest
// score, the lexicographic (score, index) minimum; scores are never NaN (a NaN fails every "<").
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void reduce_avx512(int32_t* out, const float* best,
                                                                        const int32_t* best_k, index_t rows) {
  for (index_t r = 0; r < rows; ++r) {
    const float* b = best + r * 32;
    const int32_t* k = best_k + r * 32;
    const __m512 v0 = _mm512_loadu_ps(b), v1 = _mm512_loadu_ps(b + 16);
    const __m512i i0 = _mm512_loadu_si512(k), i1 = _mm512_loadu_si512(k + 16);
    const __mmask16 take = _mm512_cmp_ps_mask(v1, v0, _CMP_LT_OQ) |
                           (_mm512_cmp_ps_mask(v1, v0, _CMP_EQ_OQ) & _mm512_cmplt_epi32_mask(i1, i0));
    const __m512 v = _mm512_mask_mov_ps(v0, take, v1);
    const __m512i i = _mm512_mask_mov_epi32(i0, take, i1);
    const __mmask16 at = _mm512_cmp_ps_mask(v, _mm512_set1_ps(_mm512_reduce_min_ps(v)), _CMP_EQ_OQ);
    out[r] = _mm512_mask_reduce_min_epi32(at, i);
  }
}

__attribute__((target("avx2,fma"))) void reduce_avx2(int32_t* out, const float* best, const int32_t* best_k,
                                                     index_t rows) {
  for (index_t r = 0; r < rows; ++r) {
    const float* b = best + r * 16;
    const int32_t* k = best_k + r * 16;
    const __m256 v0 = _mm256_loadu_ps(b), v1 = _mm256_loadu_ps(b + 8);
    const __m256i i0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k));
    const __m256i i1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 8));
    const __m256 take =
        _mm256_or_ps(_mm256_cmp_ps(v1, v0, _CMP_LT_OQ),
                     _mm256_and_ps(_mm256_cmp_ps(v1, v0, _CMP_EQ_OQ), _mm256_castsi256_ps(_mm256_cmpgt_epi32(i0, i1))));
    const __m256 v = _mm256_blendv_ps(v0, v1, take);
    const __m256i i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(i0), _mm256_castsi256_ps(i1), take));
    __m256 m = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
    const __m256 at = _mm256_cmp_ps(v, m, _CMP_EQ_OQ);
    __m256i c = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX)), _mm256_castsi256_ps(i), at));
    c = _mm256_min_epi32(c, _mm256_permute2x128_si256(c, c, 1));
    c = _mm256_min_epi32(c, _mm256_shuffle_epi32(c, 0x4E));
    c = _mm256_min_epi32(c, _mm256_shuffle_epi32(c, 0xB1));
    out[r] = _mm256_cvtsi256_si32(c);
  }
}

void reduce_base(int32_t* out, const float* best, const int32_t* best_k, index_t rows) {
  constexpr int W = 16;
  for (index_t r = 0; r < rows; ++r) {
    float bs = kInf;
    int32_t kk = 0;
    for (int l = 0; l < W; ++l) {
      const float sc = best[r * W + l];
      const int32_t ki = best_k[r * W + l];
      if (sc < bs || (sc == bs && ki < kk)) bs = sc, kk = ki;
    }
    out[r] = kk;
  }
}

struct Micro {
  MicroFn fn;
  void (*reduce)(int32_t* out, const float* best, const int32_t* best_k, index_t rows);
  int rows, width;
};

Micro pick_micro() {
  switch (cpu_isa()) {
    case CpuIsa::avx512:
      return {micro_avx512, reduce_avx512, 8, 32};
    case CpuIsa::avx2:
      return {micro_avx2, reduce_avx2, 6, 16};
    default:
      return {micro_base, reduce_base, 4, 16};
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

}  // namespace

void vq_nearest(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z, const float* codebook,
                VqShape s, void* /*workspace*/) {
  const index_t n = s.n, k = s.k, c = s.c;
  if (counts) std::fill(counts, counts + k, 0);
  if (n == 0) return;
  static const Micro micro = pick_micro();
  const int w = micro.width;
  std::vector<float> mu(static_cast<size_t>(c));
  for (index_t ch = 0; ch < c; ++ch) mu[static_cast<size_t>(ch)] = vq_codebook_mean(codebook, k, c, ch);
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
      micro.reduce(indices + i0, best.data(), best_k.data(), m);
      for (index_t r = 0; r < m; ++r) finish_row(z_q, distances, z, codebook, s, i0 + r, indices[i0 + r]);
    }
  }
  if (counts)
    for (index_t i = 0; i < n; ++i) ++counts[indices[i]];
}

}  // namespace lvk::kernels::cpu
