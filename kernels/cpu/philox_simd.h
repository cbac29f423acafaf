#pragma once
// Philox4x32-10 for W consecutive blocks at once (base/philox.h's counter layout, bit for bit
// the same words as philox_block), so vectorised CPU kernels draw exactly the CUDA twins' bits.
//
// The round's 32 x 32 -> 64-bit products: x86 multiplies only the even 32-bit lanes to 64 bits
// (vpmuludq), and GCC compiles a generic 64-bit lane product into a multiply-and-shift emulation,
// so for 8 and 16 lanes the odd lanes are shifted into even positions and multiplied separately.
// Those two helpers carry their ISA as a target attribute and are not always_inline (GCC refuses to
// inline a target function into the generic templates in between): a caller that draws Philox
// lanes is declared __attribute__((flatten)), which inlines them into its own ISA.
#include <immintrin.h>

#include "base/philox.h"
#include "kernels/cpu/simd.h"

namespace lvk::kernels::cpu::simd {

__attribute__((target("avx2"))) inline void mul_hilo(u32v<8> a, uint32_t m, u32v<8>* hi, u32v<8>* lo) {
  const __m256i x = bits<__m256i>(a), k = _mm256_set1_epi64x(m);
  const __m256i even = _mm256_mul_epu32(x, k), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), k);
  *lo = bits<u32v<8>>(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
  *hi = bits<u32v<8>>(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA));
}

__attribute__((target("avx512f"))) inline void mul_hilo(u32v<16> a, uint32_t m, u32v<16>* hi, u32v<16>* lo) {
  const __m512i x = bits<__m512i>(a), k = _mm512_set1_epi64(m);
  const __m512i even = _mm512_mul_epu32(x, k), odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), k);
  *lo = bits<u32v<16>>(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)));
  *hi = bits<u32v<16>>(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd));
}

// Any other lane count: the widened product in generic vector code.
template <class V>
LVK_SIMD_INLINE void mul_hilo(V a, uint32_t m, V* hi, V* lo) {
  constexpr int W = sizeof(V) / 4;
  const u64v<W> p = __builtin_convertvector(a, u64v<W>) * static_cast<uint64_t>(m);
  *hi = __builtin_convertvector(p >> 32, V);
  *lo = __builtin_convertvector(p, V);
}

// Word w of blocks block0 + l, l < W, of the stream (seed, offset): out[w][l]. Callers with
// W = 8 or 16 are flatten functions of that ISA (see above).
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
    u32v<W> hi0, lo0, hi1, lo1;
    mul_hilo(v0, kMul0, &hi0, &lo0);
    mul_hilo(v2, kMul1, &hi1, &lo1);
    v0 = hi1 ^ v1 ^ key0;
    v1 = lo1;
    v2 = hi0 ^ v3 ^ key1;
    v3 = lo0;
  }
  out[0] = v0, out[1] = v1, out[2] = v2, out[3] = v3;
}

// philox_to_uniform on every lane: (2k + 1) 2^-24 from the top 23 bits k, exact in f32; 2k + 1 is
// (word >> 8) with its lowest bit set.
template <int W>
LVK_SIMD_INLINE f32v<W> to_uniform(u32v<W> word) {
  const i32v<W> odd = bits<i32v<W>>((word >> 8) | 1u);
  return __builtin_convertvector(odd, f32v<W>) * 5.9604644775390625e-8f;
}

}  // namespace lvk::kernels::cpu::simd
