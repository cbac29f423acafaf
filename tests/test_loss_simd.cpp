// The vectorised BCE with logits (kernels/cpu/loss_simd.h) for every ISA this CPU has, against the
// loss and its gradient in double: each term within 2^-21 of the sum of its parts' magnitudes
// (max(a, 0), a b, log1p(exp(-|a|))), each logit gradient within 2^-21 of g (sigmoid(a) + b).
#include <algorithm>
#include <cmath>

#include "kernels/cpu/loss_simd.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::cpu::BceSimd;
using kernels::cpu::CpuIsa;

constexpr double kRel = 1.0 / (1 << 21);

// Worst |got - want| / (kRel * magnitude) over terms and gradients of n logits; the reference
// uses targets shifted by target_shift (0 for the real comparison).
double worst_ratio(const BceSimd* v, int64_t n, double target_shift) {
  const size_t sz = static_cast<size_t>(n);
  std::vector<float> a = random_values(sz, 7, -30, 30);
  const std::vector<float> b = random_values(sz, 8, 0, 1);
  const float specials[] = {0.0f, 80.0f, -80.0f, 100.0f, -100.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 17.0f, -17.0f};
  for (size_t i = 0; i < std::min(sz, std::size(specials)); ++i) a[i] = specials[i];
  for (size_t i = std::size(specials); i < sz; i += 3) a[i] *= 0.05f;  // many logits near 0
  const float g = 0.37f;
  std::vector<float> terms(sz), da(sz), db(sz);
  v->terms(terms.data(), a.data(), b.data(), n);
  v->backward(da.data(), db.data(), a.data(), b.data(), g, n);
  double worst = 0.0;
  for (size_t i = 0; i < sz; ++i) {
    const double x = a[i], t = b[i] + target_shift;
    const double l = std::log1p(std::exp(-std::abs(x))), s = 1.0 / (1.0 + std::exp(-x));
    const double term = std::max(x, 0.0) - x * t + l, mag = std::max(x, 0.0) + std::abs(x * t) + l;
    worst = std::max(worst, std::abs(terms[i] - term) / (kRel * mag + 1e-300));
    worst = std::max(worst, std::abs(da[i] - g * (s - t)) / (kRel * g * (s + t) + 1e-300));
    if (db[i] != g * -a[i]) worst = std::max(worst, 1e9);  // one rounding, as the scalar rule
  }
  return worst;
}

class BceSimdTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  const BceSimd* simd = nullptr;
  void SetUp() override {
    simd = kernels::cpu::bce_simd(GetParam());
    if (!simd) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) lacks the ISA";
  }
};

TEST_P(BceSimdTest, TermsAndGradientsMatchDoubleWithinStatedBound) {
  for (const int64_t n : {1, 5, 11, 16, 23, 4099}) EXPECT_LE(worst_ratio(simd, n, 0.0), 1.0) << "n=" << n;
}

TEST_P(BceSimdTest, BoundCatchesAWrongTarget) {
  EXPECT_GT(worst_ratio(simd, 4099, 1e-5), 1.0);
}

TEST_P(BceSimdTest, NullGradientsAreSkipped) {
  const std::vector<float> a = {1.0f, -2.0f, 3.0f}, b = {0.0f, 1.0f, 0.5f};
  std::vector<float> da(3, -7.0f);
  simd->backward(da.data(), nullptr, a.data(), b.data(), 1.0f, 3);
  EXPECT_NEAR(da[1], 1.0 / (1.0 + std::exp(2.0)) - 1.0, 1e-6);
  simd->backward(nullptr, da.data(), a.data(), b.data(), 1.0f, 3);
  EXPECT_EQ(da[2], -3.0f);
}

INSTANTIATE_TEST_SUITE_P(Isa, BceSimdTest, ::testing::Values(CpuIsa::avx2, CpuIsa::avx512),
                         [](const ::testing::TestParamInfo<CpuIsa>& i) {
                           return std::string(i.param == CpuIsa::avx2 ? "avx2" : "avx512");
                         });

}  // namespace
}  // namespace lvk::test
