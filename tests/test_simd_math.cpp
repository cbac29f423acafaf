// The vectorised CPU math (kernels/cpu/simd_math.h) against double-precision libm, exhaustively
// over the inputs the stochastic kernels feed it (every Philox uniform), and the vectorised
// Gaussian noise against the scalar double Box-Muller of base/philox.h: same Philox bits, so the
// normals agree to the stated ulp bound.
#include <cmath>
#include <cstring>

#include "base/philox.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/gaussian_simd.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/gaussian_unfused.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::cpu::CpuIsa;

// Distance in units in the last place of the f32 reference.
double ulps(float got, double want) {
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(want)) - 23);
  return std::abs(static_cast<double>(got) - want) / ulp;
}

enum class Fn { log, exp, cos2pi, sin2pi, tanh };

__attribute__((target("avx2,fma"))) void eval8(Fn fn, float* out, const float* in, size_t n) {
  using V = kernels::cpu::simd::f32v<8>;
  namespace s = kernels::cpu::simd;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const V x = s::load<V>(in + i);
    s::store(out + i, fn == Fn::log      ? s::log_f<8>(x)
                      : fn == Fn::exp    ? s::exp_f<8>(x)
                      : fn == Fn::tanh   ? s::tanh_f<8>(x)
                      : fn == Fn::sin2pi ? s::sin_2pi_f<8>(x)
                                         : s::cos_2pi_f<8>(x));
  }
}

double max_ulps(Fn fn, const std::vector<float>& in, double (*ref)(double)) {
  std::vector<float> out(in.size());
  eval8(fn, out.data(), in.data(), in.size());
  double worst = 0.0;
  for (size_t i = 0; i < in.size(); ++i) worst = std::max(worst, ulps(out[i], ref(in[i])));
  return worst;
}

// Normal i of the Gaussian layout (kernels/stochastic_math.h) in double: the cosine (i even) or sine
// (i odd) half of Box-Muller on words 0, 1 (i % 4 < 2) or 2, 3 of Philox block i / 4.
double reference_normal(uint64_t seed, uint64_t offset, int64_t i) {
  const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(i) / 4);
  const bool second = i & 2;
  const double u1 = philox_to_uniform(second ? b.v[2] : b.v[0]), u2 = philox_to_uniform(second ? b.v[3] : b.v[1]);
  const double angle = 6.283185307179586476925 * u2;
  return std::sqrt(-2.0 * std::log(u1)) * (i & 1 ? std::sin(angle) : std::cos(angle));
}

std::vector<float> every_uniform() {
  std::vector<float> u(size_t{1} << 23);
  for (uint32_t k = 0; k < u.size(); ++k) u[k] = philox_to_uniform(k << 9);
  return u;
}

class SimdMath : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kernels::cpu::cpu_isa() == CpuIsa::base) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX2+FMA";
  }
};

TEST_F(SimdMath, LogWithinTwoUlpOnEveryUniform) {
  EXPECT_LE(max_ulps(Fn::log, every_uniform(), [](double x) { return std::log(x); }), 2.0);
}

TEST_F(SimdMath, Cos2PiWithinThreeUlpOnEveryUniform) {
  // Near the zeros of the cosine the result is tiny; the exact argument reduction keeps it
  // relatively accurate, so the bound is in ulp of the result everywhere.
  EXPECT_LE(max_ulps(Fn::cos2pi, every_uniform(), [](double u) { return std::cos(6.283185307179586476925 * u); }), 3.0);
}

TEST_F(SimdMath, Sin2PiWithinThreeUlpOnEveryUniform) {
  EXPECT_LE(max_ulps(Fn::sin2pi, every_uniform(), [](double u) { return std::sin(6.283185307179586476925 * u); }), 3.0);
}

TEST_F(SimdMath, ExpWithinTwoUlpOnItsRange) {
  std::vector<float> x(size_t{1} << 22);
  for (size_t i = 0; i < x.size(); ++i) x[i] = -80.0f + 160.0f * static_cast<float>(i) / static_cast<float>(x.size());
  EXPECT_LE(max_ulps(Fn::exp, x, [](double v) { return std::exp(v); }), 2.0);
}

TEST_F(SimdMath, TanhWithinThreeUlp) {
  // A dense grid of [-10, 10], every float in [0.6, 0.65], tiny and huge x.
  std::vector<float> x;
  for (int i = 0; i < (1 << 22); ++i) x.push_back(-10.0f + 20.0f * static_cast<float>(i) / (1 << 22));
  for (float v = 0.6f; v < 0.65f; v = std::nextafter(v, 1.0f)) x.push_back(v), x.push_back(-v);
  for (const float v : {1e-30f, -1e-30f, 9.0f, 9.02f, 9.99f, 10.0f, 10.01f, 50.0f, -1e30f}) x.push_back(v);
  while (x.size() % 8) x.push_back(0.5f);
  EXPECT_LE(max_ulps(Fn::tanh, x, [](double v) { return std::tanh(v); }), 3.0);
}

TEST_F(SimdMath, TanhSignsAndNan) {
  std::vector<float> x = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, -1.0f, 0.1f}, y(8);
  eval8(Fn::tanh, y.data(), x.data(), 8);
  EXPECT_TRUE(std::signbit(y[1]) && !std::signbit(y[0]) && y[0] == 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], -1.0f);
  EXPECT_TRUE(std::isnan(y[4]));
  EXPECT_EQ(y[5], -y[6]);
}

TEST(SimdGaussian, NoiseMatchesScalarBoxMullerWithinFourUlp) {
  // An odd count exercises the tail of the last block of 4W normals.
  for (const uint64_t offset : {uint64_t{0}, uint64_t{77}}) {
    const int64_t count = (1 << 18) + 3;
    std::vector<float> eps(static_cast<size_t>(count));
    kernels::cpu::gaussian_noise(eps.data(), count, 1234, offset);
    double worst = 0.0;
    for (int64_t i = 0; i < count; ++i)
      worst = std::max(worst, ulps(eps[static_cast<size_t>(i)], reference_normal(1234, offset, i)));
    EXPECT_LE(worst, 4.0) << "offset " << offset;
  }
}

TEST(SimdGaussian, NormalsFromAnyStartAndCount) {
  // The sampler's rows start anywhere in a Philox block: every start in two blocks, every count
  // around 4W = 64 normals (AVX-512; 32 on AVX2).
  const kernels::cpu::GaussianSimd* v = kernels::cpu::gaussian_simd();
  if (!v) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX2+FMA";
  std::vector<float> out(200);
  for (int64_t first = 0; first < 8; ++first) {
    for (int64_t count = 0; count <= 140; ++count) {
      std::fill(out.begin(), out.end(), -99.0f);
      v->normals(out.data(), static_cast<uint64_t>(first), count, 99, 5);
      for (int64_t t = 0; t < count; ++t)
        ASSERT_LE(ulps(out[static_cast<size_t>(t)], reference_normal(99, 5, first + t)), 4.0)
            << "first " << first << " count " << count << " t " << t;
      ASSERT_EQ(out[static_cast<size_t>(count)], -99.0f) << "wrote past count " << count;
    }
  }
}

}  // namespace
}  // namespace lvk::test
