// The vectorised optimiser pieces (kernels/cpu/optim_simd.h) for every ISA this CPU has: Adam bit
// for bit against the scalar adam_element, and the 16-lane sum of squares identical across ISAs
// and within double rounding of a long-double sum.
#include <cmath>
#include <cstring>

#include "kernels/cpu/optim_simd.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::AdamHyper;
using kernels::AdamRates;
using kernels::cpu::CpuIsa;
using kernels::cpu::OptimSimd;

class OptimSimdTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  const OptimSimd* simd = nullptr;
  void SetUp() override {
    simd = kernels::cpu::optim_simd(GetParam());
    if (!simd) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) lacks the ISA";
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_P(OptimSimdTest, AdamIsTheScalarElementBitForBit) {
  for (const bool decoupled : {false, true})
    for (const int64_t n : {1, 3, 4, 8, 15, 16, 17, 40, 1001}) {
      const size_t sz = static_cast<size_t>(n);
      const std::vector<float> p0 = random_values(sz, 1, -2, 2), g = random_values(sz, 2, -3, 3),
                               m0 = random_values(sz, 3, -0.5, 0.5), v0 = random_values(sz, 4, 0, 0.3);
      AdamHyper h{};
      h.beta1 = 0.9f, h.beta2 = 0.999f, h.eps = 1e-8f, h.weight_decay = 0.01f, h.decoupled = decoupled;
      h.lr = 1e-3f, h.bias_correction1 = 0.271f, h.bias_correction2 = 0.00399f;
      const AdamRates r = kernels::adam_rates(h);
      const float clip = 0.37f;
      std::vector<float> p = p0, m = m0, v = v0, pr = p0, mr = m0, vr = v0;
      simd->adam(p.data(), g.data(), m.data(), v.data(), n, clip, h, r);
      for (size_t i = 0; i < sz; ++i) kernels::adam_element(&pr[i], g[i] * clip, &mr[i], &vr[i], h, r);
      EXPECT_TRUE(same_bits(p, pr) && same_bits(m, mr) && same_bits(v, vr)) << "n=" << n << " decoupled=" << decoupled;
      EXPECT_FALSE(same_bits(p, p0)) << "the update must move the parameters";
    }
}

TEST_P(OptimSimdTest, SumOfSquaresIsTheSameOnEveryIsaAndAccurate) {
  const OptimSimd& base = *kernels::cpu::optim_simd(CpuIsa::base);
  for (const int64_t n : {1, 7, 16, 33, 4099}) {
    const std::vector<float> g = random_values(static_cast<size_t>(n), 5, -4, 4);
    double lanes[kernels::cpu::kSumSquaresLanes] = {}, want_lanes[kernels::cpu::kSumSquaresLanes] = {};
    simd->sum_squares(lanes, g.data(), n);
    simd->sum_squares(lanes, g.data() + n / 2, n - n / 2);  // accumulates on top
    base.sum_squares(want_lanes, g.data(), n);
    base.sum_squares(want_lanes, g.data() + n / 2, n - n / 2);
    EXPECT_EQ(std::memcmp(lanes, want_lanes, sizeof(lanes)), 0) << "n=" << n;
    long double exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += static_cast<long double>(g[i]) * g[i] * (i >= n / 2 ? 2 : 1);
    EXPECT_NEAR(kernels::cpu::sum_lanes(lanes), static_cast<double>(exact), 1e-13 * static_cast<double>(exact))
        << "n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, OptimSimdTest, ::testing::Values(CpuIsa::base, CpuIsa::avx2, CpuIsa::avx512),
                         [](const ::testing::TestParamInfo<CpuIsa>& i) {
                           return std::string(i.param == CpuIsa::base   ? "base"
                                              : i.param == CpuIsa::avx2 ? "avx2"
                                                                        : "avx512");
                         });

}  // namespace
}  // namespace lvk::test
