#pragma once
// Philox4x32-10 for W consecutive blocks at once (base/philox.h's counter layout, bit for bit
// the same words as philox_block), so vectorised CPU kernels draw exactly the CUDA twins' bits.
#include "kernels/cpu/simd.h"
#include "base/philox.h"

namespace lvk::kernels::cpu::simd {

// Word w of blocks block0 + l, l < W, of the stream (seed, offset): out[w][l].
template <int W>
LVK_SIMD_INLINE void philox_blocks(u32v<W> out[4], uint64_t seed, uint64_t offset, uint64_t block0) {
  using namespace philox_detail;
  const u64v<W> block = block0 + iota64<W>();
  u32v<W> v0 = __builtin_convertvector(block, u32v<W>);
  u32v<W> v1 = __builtin_convertvector(block >> 32, u32v<W>);
  u32v<W> v2 = u32v<W>{} + static_cast<uint32_t>(offset);
  u32v<W> v3 = u32v<W>{} + static_cast<uint32_t>(offset >> 32);
  uint32_t key0 = static_cast<uint32_t>(seed), key1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) key0 += kWeyl0, key1 += kWeyl1;
    // 32 x 32 -> 64-bit products; the low and high halves are the Philox lo/hi words.
    const u64v<W> p0 = __builtin_convertvector(v0, u64v<W>) * static_cast<uint64_t>(kMul0);
    const u64v<W> p1 = __builtin_convertvector(v2, u64v<W>) * static_cast<uint64_t>(kMul1);
    const u32v<W> hi0 = __builtin_convertvector(p0 >> 32, u32v<W>), lo0 = __builtin_convertvector(p0, u32v<W>);
    const u32v<W> hi1 = __builtin_convertvector(p1 >> 32, u32v<W>), lo1 = __builtin_convertvector(p1, u32v<W>);
    v0 = hi1 ^ v1 ^ key0;
    v1 = lo1;
    v2 = hi0 ^ v3 ^ key1;
    v3 = lo0;
  }
  out[0] = v0, out[1] = v1, out[2] = v2, out[3] = v3;
}

// philox_to_uniform on every lane: (2k + 1) 2^-24 from the top 23 bits, exact in f32.
template <int W>
LVK_SIMD_INLINE f32v<W> to_uniform(u32v<W> word) {
  const i32v<W> odd = bits<i32v<W>>(((word >> 9) << 1) | 1u);
  return __builtin_convertvector(odd, f32v<W>) * 5.9604644775390625e-8f;
}

}  // namespace lvk::kernels::cpu::simd
