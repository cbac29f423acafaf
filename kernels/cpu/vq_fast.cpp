// CPU twin of the fast (tensor-core) lookup: emulates the shortlist of the CUDA kernel with the
// same centring and BF16 rounding of the inputs (round to nearest even), the same code subsets per slot and the
// same exact re-check, so both twins pick the same code except where the approximate scores of
// two codes in one subset differ only by fp32 summation order (a near-tie by construction).
// Written for clarity, not speed: it is the reference of the fast mode, not a fast CPU path.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/vq.h"

namespace lvk::kernels::cpu {

namespace {

float bf16_round(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return x;  // inf and NaN pass through
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace

void vq_nearest_fast(int32_t* indices, float* z_q, float* distances, int32_t* counts, const float* z,
                     const float* codebook, VqShape s, void* /*workspace*/) {
  const index_t n = s.n, k = s.k, c = s.c;
  if (counts) std::fill(counts, counts + k, 0);
  if (n == 0) return;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // Centred on the codebook mean like the CUDA kernel (kernels/vq.h): BF16 rounds z - mu and
  // e - mu, whose rounding errors scale with the data's spread, not its offset.
  std::vector<float> mu(static_cast<size_t>(c)), norms(static_cast<size_t>(k)), eb(static_cast<size_t>(k * c));
  for (index_t ch = 0; ch < c; ++ch) mu[static_cast<size_t>(ch)] = vq_codebook_mean(codebook, k, c, ch);
  for (index_t j = 0; j < k; ++j) {
    norms[static_cast<size_t>(j)] = vq_centred_norm(codebook + j * c, mu.data(), c);
    for (index_t ch = 0; ch < c; ++ch)
      eb[static_cast<size_t>(j * c + ch)] = bf16_round(codebook[j * c + ch] - mu[static_cast<size_t>(ch)]);
  }
#pragma omp parallel for schedule(static) if (n * k * c >= (1 << 20))
  for (index_t i = 0; i < n; ++i) {
    std::vector<float> zb(static_cast<size_t>(c)), zr(static_cast<size_t>(c));
    for (index_t ch = 0; ch < c; ++ch) {
      zr[static_cast<size_t>(ch)] = z[vq_offset(i, ch, s)];
      zb[static_cast<size_t>(ch)] = bf16_round(zr[static_cast<size_t>(ch)] - mu[static_cast<size_t>(ch)]);
    }
    float slot_best[kVqFastSlots];
    int32_t slot_k[kVqFastSlots];
    for (int q = 0; q < kVqFastSlots; ++q) slot_best[q] = kInf, slot_k[q] = -1;
    for (index_t j = 0; j < k; ++j) {
      float dot = 0.0f;
      for (index_t ch = 0; ch < c; ++ch)
        dot = std::fma(zb[static_cast<size_t>(ch)], eb[static_cast<size_t>(j * c + ch)], dot);
      const float score = std::fma(-2.0f, dot, norms[static_cast<size_t>(j)]);
      const int q = vq_fast_slot(j);
      if (score < slot_best[q]) slot_best[q] = score, slot_k[q] = static_cast<int32_t>(j);
    }
    // Re-check of the shortlist in the direct form: the fp32 FMA chain of the CUDA re-check kernel.
    float best = kInf;
    int32_t best_k = -1;
    for (int q = 0; q < kVqFastSlots; ++q) {
      const int32_t j = slot_k[q];
      if (j < 0) continue;
      const float score = vq_direct_distance(zr.data(), 1, codebook + j * c, c);
      if (best_k < 0 || score < best || (score == best && j < best_k)) best = score, best_k = j;
    }
    if (best_k < 0) best_k = 0;  // every score NaN: code 0, as in the fp32 lookup
    indices[i] = best_k;
    if (!z_q && !distances) continue;
    double d = 0.0;
    for (index_t ch = 0; ch < c; ++ch) {
      const float e = codebook[best_k * c + ch];
      if (z_q) z_q[vq_offset(i, ch, s)] = e;
      const double diff = static_cast<double>(zr[static_cast<size_t>(ch)]) - e;
      d += diff * diff;
    }
    if (distances) distances[i] = static_cast<float>(d);
  }
  if (counts)
    for (index_t i = 0; i < n; ++i) ++counts[indices[i]];
}

}  // namespace lvk::kernels::cpu
