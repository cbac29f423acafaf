// Philox in 8 (AVX2) and 16 (AVX-512) lanes (kernels/cpu/philox_simd.h) against the scalar
// philox_block of base/philox.h, word for word: the vectorised CPU kernels and the CUDA twins
// must draw the same bits.
#include <cstring>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/philox_simd.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::cpu::CpuIsa;
namespace s = kernels::cpu::simd;

// out[4 * W]: word w of block block0 + l at out[w * W + l].
__attribute__((target("avx2,fma"), flatten)) void blocks8(uint32_t* out, uint64_t seed, uint64_t offset,
                                                          uint64_t block0) {
  s::u32v<8> w[4];
  s::philox_blocks<8>(w, seed, offset, block0);
  std::memcpy(out, w, sizeof(w));
}

__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"), flatten)) void blocks16(uint32_t* out, uint64_t seed,
                                                                                     uint64_t offset, uint64_t block0) {
  s::u32v<16> w[4];
  s::philox_blocks<16>(w, seed, offset, block0);
  std::memcpy(out, w, sizeof(w));
}

void blocks4(uint32_t* out, uint64_t seed, uint64_t offset, uint64_t block0) {
  s::u32v<4> w[4];
  s::philox_blocks<4>(w, seed, offset, block0);
  std::memcpy(out, w, sizeof(w));
}

// Number of words that differ from the scalar blocks, over seeds, offsets and block counters that
// cross the 2^32 carry into the counter's high word.
int mismatches(int lanes, void (*fn)(uint32_t*, uint64_t, uint64_t, uint64_t)) {
  int bad = 0;
  std::vector<uint32_t> out(static_cast<size_t>(4 * lanes));
  for (const uint64_t seed : {uint64_t{0}, uint64_t{1234}, uint64_t{0xFEDCBA9876543210}})
    for (const uint64_t offset : {uint64_t{0}, uint64_t{77}, uint64_t{1} << 40})
      for (const uint64_t block0 : {uint64_t{0}, uint64_t{5}, (uint64_t{1} << 32) - 7, uint64_t{0x123456789ABC}}) {
        fn(out.data(), seed, offset, block0);
        for (int l = 0; l < lanes; ++l) {
          const PhiloxBlock want = philox_block(seed, offset, block0 + static_cast<uint64_t>(l));
          for (int w = 0; w < 4; ++w) bad += out[static_cast<size_t>(w * lanes + l)] != want.v[w];
        }
      }
  return bad;
}

TEST(PhiloxSimd, FourGenericLanesMatchScalarBlocks) {
  EXPECT_EQ(mismatches(4, blocks4), 0);
}

TEST(PhiloxSimd, EightAvx2LanesMatchScalarBlocks) {
  if (kernels::cpu::cpu_isa() == CpuIsa::base) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX2+FMA";
  EXPECT_EQ(mismatches(8, blocks8), 0);
}

TEST(PhiloxSimd, SixteenAvx512LanesMatchScalarBlocks) {
  if (kernels::cpu::cpu_isa() != CpuIsa::avx512) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX-512";
  EXPECT_EQ(mismatches(16, blocks16), 0);
}

TEST(PhiloxSimd, ComparisonCatchesAWrongBlock) {
  // Lanes one block ahead of the scalar blocks must be reported: the checks above can fail.
  const auto shifted = [](uint32_t* out, uint64_t seed, uint64_t offset, uint64_t block0) {
    blocks4(out, seed, offset, block0 + 1);
  };
  EXPECT_EQ(mismatches(4, shifted), 3 * 3 * 4 * 4 * 4);
}

}  // namespace
}  // namespace lvk::test
