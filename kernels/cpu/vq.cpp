// CPU twin of the fused nearest-codebook lookup: a GEMM-shaped loop nest whose "C tile" is never
// stored. The codebook is packed into panels of kPanel codes, channel-major ([C][kPanel]), so the
// micro-kernel streams one panel row per channel and keeps a kRows x kPanel block of dot products
// in vector registers; the argmin over the panel is folded into the running best per row at once.
// Row blocks (packed row-major, which also turns NCHW input into rows) are spread over OpenMP
// threads; each row's answer depends only on its own data, so results do not depend on threads.
//
// The micro-kernel is compiled three times (AVX-512, AVX2+FMA, baseline) and picked at run time,
// because the project is built without -march flags.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/vq.h"

namespace lvk::kernels::cpu {

namespace {

constexpr int kPanel = 16;     // codes per packed panel (one zmm, two ymm)
constexpr int kRowBlock = 48;  // rows per OpenMP work item; a multiple of every micro-kernel height
constexpr float kInf = std::numeric_limits<float>::infinity();

// acc[r][j] = z_r . panel_j over all channels; then best-so-far update per row, codes ascending,
// strict "<" so the lowest index wins ties.
#define LVK_VQ_MICRO_BODY(ROWS)                                                         \
  float acc[ROWS][kPanel];                                                              \
  for (int r = 0; r < ROWS; ++r)                                                        \
    for (int j = 0; j < kPanel; ++j) acc[r][j] = 0.0f;                                  \
  for (index_t ch = 0; ch < c; ++ch) {                                                  \
    const float* p = panel + ch * kPanel;                                               \
    _Pragma("GCC unroll 16") for (int r = 0; r < ROWS; ++r) {                           \
      const float zr = rows[r * c + ch];                                                \
      _Pragma("GCC unroll 16") for (int j = 0; j < kPanel; ++j) acc[r][j] += zr * p[j]; \
    }                                                                                   \
  }                                                                                     \
  for (int r = 0; r < ROWS; ++r)                                                        \
    for (int j = 0; j < kPanel; ++j) {                                                  \
      const float score = norms[j] - 2.0f * acc[r][j];                                  \
      if (score < best[r]) {                                                            \
        best[r] = score;                                                                \
        best_k[r] = static_cast<int32_t>(k0 + j);                                       \
      }                                                                                 \
    }

using MicroFn = void (*)(float*, int32_t*, const float*, const float*, const float*, index_t, index_t);

__attribute__((target("avx512f,avx512vl,avx2,fma"))) void micro_avx512(float* best, int32_t* best_k,
                                                                         const float* rows, const float* panel,
                                                                         const float* norms, index_t c, index_t k0) {
  LVK_VQ_MICRO_BODY(12)
}
__attribute__((target("avx2,fma"))) void micro_avx2(float* best, int32_t* best_k, const float* rows,
                                                     const float* panel, const float* norms, index_t c, index_t k0) {
  LVK_VQ_MICRO_BODY(6)
}
void micro_base(float* best, int32_t* best_k, const float* rows, const float* panel, const float* norms, index_t c,
                index_t k0) {
  LVK_VQ_MICRO_BODY(4)
}
#undef LVK_VQ_MICRO_BODY

struct Micro {
  MicroFn fn;
  int rows;
};

Micro pick_micro() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return {micro_avx512, 12};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {micro_avx2, 6};
  return {micro_base, 4};
}

// ||e_k||^2 in channel order, the same formula for every code so duplicate codes score equally.
void codebook_norms(float* norms, const float* codebook, index_t k, index_t c) {
  for (index_t j = 0; j < k; ++j) {
    float acc = 0.0f;
    for (index_t ch = 0; ch < c; ++ch) acc += codebook[j * c + ch] * codebook[j * c + ch];
    norms[j] = acc;
  }
}

}  // namespace

void vq_nearest(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z,
                const float* codebook, VqShape s, void* /*workspace*/) {
  const index_t n = s.n, k = s.k, c = s.c;
  if (counts) std::fill(counts, counts + k, 0);
  if (n == 0) return;
  static const Micro micro = pick_micro();

  // Pack: panels [P][C][kPanel] with zero codes past K, whose norm +inf keeps them unchosen.
  const index_t panels = (k + kPanel - 1) / kPanel;
  std::vector<float> packed(static_cast<size_t>(panels * c * kPanel), 0.0f);
  std::vector<float> norms(static_cast<size_t>(panels * kPanel), kInf);
  codebook_norms(norms.data(), codebook, k, c);
  for (index_t j = 0; j < k; ++j)
    for (index_t ch = 0; ch < c; ++ch)
      packed[static_cast<size_t>(((j / kPanel) * c + ch) * kPanel + j % kPanel)] = codebook[j * c + ch];

  const index_t blocks = (n + kRowBlock - 1) / kRowBlock;
#pragma omp parallel
  {
    std::vector<float> rows(static_cast<size_t>(kRowBlock * c));
    float best[kRowBlock];
    int32_t best_k[kRowBlock];
#pragma omp for schedule(static)
    for (index_t b = 0; b < blocks; ++b) {
      const index_t i0 = b * kRowBlock, m = std::min<index_t>(kRowBlock, n - i0);
      for (index_t r = 0; r < kRowBlock; ++r)
        for (index_t ch = 0; ch < c; ++ch)
          rows[static_cast<size_t>(r * c + ch)] = r < m ? z[vq_offset(i0 + r, ch, s)] : 0.0f;
      std::fill(best, best + kRowBlock, kInf);
      std::fill(best_k, best_k + kRowBlock, 0);
      for (index_t p = 0; p < panels; ++p)
        for (int r = 0; r < kRowBlock; r += micro.rows)
          micro.fn(best + r, best_k + r, rows.data() + r * c, packed.data() + p * c * kPanel,
                   norms.data() + p * kPanel, c, p * kPanel);
      for (index_t r = 0; r < m; ++r) {
        const index_t i = i0 + r;
        const int32_t kk = best_k[r];
        indices[i] = kk;
        if (!z_q && !distances) continue;
        double d = 0.0;
        for (index_t ch = 0; ch < c; ++ch) {
          const float e = codebook[kk * c + ch];
          const index_t off = vq_offset(i, ch, s);
          if (z_q) z_q[off] = e;
          const double diff = static_cast<double>(rows[static_cast<size_t>(r * c + ch)]) - e;
          d += diff * diff;
        }
        if (distances) distances[i] = static_cast<float>(d);
      }
    }
  }
  if (counts)
    for (index_t i = 0; i < n; ++i) ++counts[indices[i]];
}

void vq_commitment_grad(float* dz, const float* z, const float* codebook, const int32_t* indices, const float* g,
                        float scale, VqShape s) {
  const float f = scale * g[0];
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t i = 0; i < s.n; ++i) {
    const float* e = codebook + static_cast<index_t>(indices[i]) * s.c;
    for (index_t ch = 0; ch < s.c; ++ch) {
      const index_t off = vq_offset(i, ch, s);
      dz[off] = f * (z[off] - e[ch]);
    }
  }
}

void vq_cluster_sums(float* sums, int32_t* counts, const float* z, const int32_t* indices, VqShape s,
                     void* /*workspace*/) {
  std::fill(sums, sums + s.k * s.c, 0.0f);
  std::fill(counts, counts + s.k, 0);
  for (index_t i = 0; i < s.n; ++i) ++counts[indices[i]];
  // Channels are independent: each thread owns some channels and walks the rows in order, so
  // every sum is the same ascending-row float sum the CUDA twin computes.
#pragma omp parallel for schedule(static) if (s.n * s.c >= (1 << 16))
  for (index_t ch = 0; ch < s.c; ++ch)
    for (index_t i = 0; i < s.n; ++i) sums[static_cast<index_t>(indices[i]) * s.c + ch] += z[vq_offset(i, ch, s)];
}

void vq_codebook_grad(float* dcodebook, const float* z, const float* codebook, const int32_t* indices, const float* g,
                      float scale, VqShape s, void* workspace) {
  std::vector<float> sums(static_cast<size_t>(s.k * s.c));
  std::vector<int32_t> counts(static_cast<size_t>(s.k));
  vq_cluster_sums(sums.data(), counts.data(), z, indices, s, workspace);
  const float f = scale * g[0];
  for (index_t j = 0; j < s.k; ++j)
    for (index_t ch = 0; ch < s.c; ++ch) {
      const index_t o = j * s.c + ch;
      dcodebook[o] += f * (static_cast<float>(counts[j]) * codebook[o] - sums[o]);
    }
}

}  // namespace lvk::kernels::cpu
