#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), one
// header for host and device, so a stochastic op draws bit-identical random words on CPU and GPU.
//
// Counter layout. An op called with (seed, offset) owns the stream of 32-bit words
//   word(j) = philox(key = {seed_lo, seed_hi}, counter = {b_lo, b_hi, offset_lo, offset_hi})[j % 4],
//   b = j / 4,
// where j is a 64-bit draw index that the op derives from the element index alone (never from the
// grid), e.g. j = i for the i-th uniform, and normal i uses words 4i..4i+1 (block i, words 0, 1).
// Different offsets give disjoint streams: callers advance the offset per call (Generator).
//
// Uniforms take the top 23 bits: u = (2k + 1) * 2^-24 with k < 2^23, exactly representable in
// f32, so u lies in [2^-24, 1 - 2^-24]: strictly inside (0, 1) and identical on every device.
// Normals use Box-Muller on two such uniforms: f32 intrinsics on the GPU, double on the host, so
// the two agree to a few ulp.
#include <cmath>
#include <cstdint>

#include "base/hd.h"

namespace lvk {

struct PhiloxBlock {
  uint32_t v[4];
};

namespace philox_detail {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline namespace LVK_ARCH_NAMESPACE {
LVK_HD uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}
}  // namespace LVK_ARCH_NAMESPACE
}  // namespace philox_detail

// A 32-bit word to a uniform in [2^-24, 1 - 2^-24], exact in f32.
LVK_HD float philox_to_uniform(uint32_t word) {
  return static_cast<float>(((word >> 9) << 1) | 1u) * 5.9604644775390625e-8f;  // (2k+1) * 2^-24
}

// Everything below calls mulhi or box_muller (see LVK_ARCH_NAMESPACE above).
inline namespace LVK_ARCH_NAMESPACE {

// The raw bijection: 10 rounds on a 128-bit counter under a 64-bit key.
LVK_HD PhiloxBlock philox4x32_10(PhiloxBlock ctr, uint32_t key0, uint32_t key1) {
  using namespace philox_detail;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    const uint32_t hi0 = mulhi(kMul0, ctr.v[0]), lo0 = kMul0 * ctr.v[0];
    const uint32_t hi1 = mulhi(kMul1, ctr.v[2]), lo1 = kMul1 * ctr.v[2];
    ctr = PhiloxBlock{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
  }
  return ctr;
}

// Block b of the stream (seed, offset), see the layout above.
LVK_HD PhiloxBlock philox_block(uint64_t seed, uint64_t offset, uint64_t block) {
  PhiloxBlock ctr{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), static_cast<uint32_t>(offset),
                   static_cast<uint32_t>(offset >> 32)}};
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// The j-th uniform of the stream (seed, offset).
LVK_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t j) {
  return philox_to_uniform(philox_block(seed, offset, j >> 2).v[j & 3]);
}

// Box-Muller from two uniforms: radius from u1, angle from u2.
LVK_HD float box_muller(float u1, float u2) {
#if defined(__CUDA_ARCH__)
  return sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
#else
  // Double on the host makes the CPU twin the more exact reference (correctly rounded almost always).
  return static_cast<float>(std::sqrt(-2.0 * std::log(static_cast<double>(u1))) *
                            std::cos(6.283185307179586476925 * static_cast<double>(u2)));
#endif
}

// Both Box-Muller normals of one uniform pair: the radius from u1 times the cosine and the sine of
// the angle 2 pi u2.
LVK_HD void box_muller_pair(float u1, float u2, float& cos_normal, float& sin_normal) {
#if defined(__CUDA_ARCH__)
  const float r = sqrtf(-2.0f * logf(u1));
  float s, c;
  sincospif(2.0f * u2, &s, &c);
  cos_normal = r * c, sin_normal = r * s;
#else
  const double r = std::sqrt(-2.0 * std::log(static_cast<double>(u1))), a = 6.283185307179586476925 * u2;
  cos_normal = static_cast<float>(r * std::cos(a)), sin_normal = static_cast<float>(r * std::sin(a));
#endif
}

// The i-th standard normal of the stream (seed, offset): block i, words 0 and 1.
LVK_HD float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxBlock b = philox_block(seed, offset, i);
  return box_muller(philox_to_uniform(b.v[0]), philox_to_uniform(b.v[1]));
}

}  // namespace LVK_ARCH_NAMESPACE
}  // namespace lvk
