// Philox4x32-10: Random123 known answers, the uniform/normal mapping, counter layout, CPU = CUDA.
#include <cmath>
#include <cstring>
#include <limits>

#include "base/philox.h"
#include "runtime/ops/basic.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

struct Kat {
  PhiloxBlock counter;
  uint32_t key0, key1;
  PhiloxBlock expected;
};

// The three philox4x32 10 lines of Random123's tests/kat_vectors.
TEST(Philox, MatchesRandom123KnownAnswers) {
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& kat : kats) {
    const PhiloxBlock out = philox4x32_10(kat.counter, kat.key0, kat.key1);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(out.v[w], kat.expected.v[w]) << "word " << w;
  }
}

TEST(Philox, CounterLayoutPutsBlockLowAndOffsetHigh) {
  const uint64_t seed = 0x299f31d0a4093822ull, offset = 0x0370734413198a2eull, block = 0x85a308d3243f6a88ull;
  const PhiloxBlock out = philox_block(seed, offset, block);
  EXPECT_EQ(out.v[0], 0xd16cfe09u);
  EXPECT_EQ(out.v[3], 0x24126ea1u);
}

TEST(Philox, UniformsStayStrictlyInsideTheUnitInterval) {
  EXPECT_EQ(philox_to_uniform(0u), std::ldexp(1.0f, -24));
  EXPECT_EQ(philox_to_uniform(0xffffffffu), 1.0f - std::ldexp(1.0f, -24));
  EXPECT_LT(philox_to_uniform(0xffffffffu), 1.0f);
  EXPECT_GT(philox_to_uniform(0u), 0.0f);
  // Monotone in the word, and finite normals at both extremes.
  EXPECT_LT(philox_to_uniform(0x12345600u), philox_to_uniform(0x12345800u));
  EXPECT_TRUE(std::isfinite(box_muller(philox_to_uniform(0u), 0.5f)));
  EXPECT_EQ(box_muller(philox_to_uniform(0xffffffffu), 0.0f) > 0.0f, true);
}

TEST(Philox, DrawsDependOnIndexNotOnHowManyAreDrawn) {
  const std::vector<float> many = uniform({1000}, 7, 3).to_vector<float>();
  const std::vector<float> few = uniform({10}, 7, 3).to_vector<float>();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(few[i], many[i]);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(many[i], philox_uniform(7, 3, static_cast<uint64_t>(i)));
  const std::vector<float> other = uniform({10}, 7, 4).to_vector<float>();
  int same = 0;
  for (int i = 0; i < 10; ++i) same += other[i] == few[i];
  EXPECT_LT(same, 2) << "a different offset must give a different stream";
}

// Moments at fixed seeds; thresholds are ~5 standard errors, so a correct generator fails with
// probability < 1e-6 and a biased one (e.g. off by 0.01 in the mean) fails reliably.
TEST(Philox, UniformAndNormalMomentsAreRight) {
  const int64_t n = 1 << 20;
  const std::vector<float> u = uniform({n}, 42, 0).to_vector<float>();
  const std::vector<float> z = normal({n}, 42, 1).to_vector<float>();
  double su = 0, su2 = 0, sz = 0, sz2 = 0, sz4 = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_GT(u[i], 0.0f);
    ASSERT_LT(u[i], 1.0f);
    ASSERT_TRUE(std::isfinite(z[i]));
    su += u[i], su2 += double(u[i]) * u[i];
    sz += z[i], sz2 += double(z[i]) * z[i], sz4 += std::pow(double(z[i]), 4);
  }
  const double se = 1.0 / std::sqrt(double(n));
  EXPECT_NEAR(su / n, 0.5, 5 * se * std::sqrt(1.0 / 12));
  EXPECT_NEAR(su2 / n - std::pow(su / n, 2), 1.0 / 12, 5 * se * 0.075);
  EXPECT_NEAR(sz / n, 0.0, 5 * se);
  EXPECT_NEAR(sz2 / n, 1.0, 5 * se * std::sqrt(2.0));
  EXPECT_NEAR(sz4 / n, 3.0, 5 * se * std::sqrt(96.0));
}

class PhiloxBackends : public BackendTest {};

TEST_P(PhiloxBackends, UniformsAreBitIdenticalToTheCpuTwin) {
  const int64_t n = 100003;
  const std::vector<float> here = uniform({n}, 0xdeadbeefcafeull, 9, device()).to_vector<float>();
  const std::vector<float> cpu = uniform({n}, 0xdeadbeefcafeull, 9, Device::cpu()).to_vector<float>();
  ASSERT_EQ(std::memcmp(here.data(), cpu.data(), n * sizeof(float)), 0);
}

TEST_P(PhiloxBackends, NormalsMatchTheCpuTwinWithinFourUlp) {
  const int64_t n = 100003;
  const std::vector<float> here = normal({n}, 5, 11, device()).to_vector<float>();
  const std::vector<float> cpu = normal({n}, 5, 11, Device::cpu()).to_vector<float>();
  int64_t worst_i = 0;
  float worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float ulp = std::nextafter(std::fabs(cpu[i]), std::numeric_limits<float>::infinity()) - std::fabs(cpu[i]);
    const float err = std::fabs(here[i] - cpu[i]) / ulp;
    if (err > worst) worst = err, worst_i = i;
  }
  EXPECT_LE(worst, 4.0f) << "element " << worst_i << ": " << here[worst_i] << " vs cpu " << cpu[worst_i];
}

LVK_INSTANTIATE_BACKENDS(PhiloxBackends);

}  // namespace
}  // namespace lvk::test
