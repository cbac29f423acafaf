#pragma once
// Host/device helpers shared by the Gumbel and Gaussian twins, so the CPU and CUDA kernels derive
// their noise from the same Philox words by the same formulas.
//
// Draw-index layouts (base/philox.h counters; each depends on the element's coordinates only):
//  * Gumbel, logits [N, K]: row n owns the B = ceil(K/4) Philox blocks n*B .. n*B + B-1; column k
//    takes word k % 4 of block n*B + k/4, i.e. uniform draw j = 4*n*B + k. Padding each row to a
//    whole block lets one thread turn one Philox call into four consecutive columns.
//  * Gaussian, noise [S, N, D]: elements i = 2p and 2p + 1, i = (s*N + n)*D + d, are the cosine
//    and the sine normal of Box-Muller on uniform draws 2p and 2p + 1, i.e. on words 2*(p%2) and
//    2*(p%2) + 1 of block p/2 = i/4: a Philox call yields four normals, one logarithm and one
//    square root two.
#include <cstdint>

#include "base/philox.h"

namespace lvk::kernels {

// The documented clamp of log-variances: sigma^2 in [exp(-30), exp(20)] = [9.4e-14, 4.9e8] keeps
// exp(logvar), 1/sigma^2 and KL finite for any finite input. Gradients are zero outside.
constexpr float kLogvarMin = -30.0f;
constexpr float kLogvarMax = 20.0f;
// 0.5 * log(2*pi)
constexpr float kHalfLog2Pi = 0.91893853320467274178f;

LVK_HD uint64_t gumbel_blocks_per_row(int64_t k) {
  return static_cast<uint64_t>((k + 3) / 4);
}

// Gumbel(0, 1) from a uniform strictly inside (0, 1): -log(-log u), within [-2.81, 16.64]. In the
// arch-dependent inline namespace (base/philox.h), as are the functions that call box_muller.
inline namespace LVK_ARCH_NAMESPACE {
LVK_HD float gumbel_from_uniform(float u) {
#if defined(__CUDA_ARCH__)
  return -logf(-logf(u));
#else
  return -std::log(-std::log(u));
#endif
}
}  // namespace LVK_ARCH_NAMESPACE

LVK_HD float clamp_logvar(float lv) {
  return lv < kLogvarMin ? kLogvarMin : (lv > kLogvarMax ? kLogvarMax : lv);
}
// The clamp's derivative: 1 inside the documented range (inclusive), 0 outside.
LVK_HD float logvar_mask(float lv) {
  return (lv >= kLogvarMin && lv <= kLogvarMax) ? 1.0f : 0.0f;
}

inline namespace LVK_ARCH_NAMESPACE {

// Standard normal number i of the Gaussian layout above.
LVK_HD float gaussian_eps(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxBlock b = philox_block(seed, offset, i >> 2);
  const bool second = (i & 2) != 0;  // selects, not a runtime index: keeps the block in registers on the GPU
  float c, s;
  box_muller_pair(philox_to_uniform(second ? b.v[2] : b.v[0]), philox_to_uniform(second ? b.v[3] : b.v[1]), c, s);
  return (i & 1) ? s : c;
}

// Normals i and i+1: one Philox call and one Box-Muller pair when i is even (the common, aligned
// case).
LVK_HD void gaussian_eps_pair(uint64_t seed, uint64_t offset, uint64_t i, float& e0, float& e1) {
  if ((i & 1) == 0) {
    const PhiloxBlock b = philox_block(seed, offset, i >> 2);
    const bool second = (i & 2) != 0;
    box_muller_pair(philox_to_uniform(second ? b.v[2] : b.v[0]), philox_to_uniform(second ? b.v[3] : b.v[1]), e0, e1);
  } else {
    e0 = gaussian_eps(seed, offset, i);
    e1 = gaussian_eps(seed, offset, i + 1);
  }
}

}  // namespace LVK_ARCH_NAMESPACE
}  // namespace lvk::kernels
