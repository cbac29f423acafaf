// The vectorised Gumbel-softmax passes (kernels/cpu/gumbel_simd.h) against the scalar reference in
// one process, for every ISA this CPU has (AVX2, and AVX-512 where present), within the bounds that
// header states: same indices, noise, soft samples and KL to the stated ulp.
#include <cmath>
#include <limits>

#include "kernels/cpu/gumbel_simd.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::cpu::CpuIsa;
using kernels::cpu::GumbelSimd;
constexpr float kInfF = std::numeric_limits<float>::infinity();

double ulp_of(double x) {
  return std::ldexp(1.0, std::ilogb(static_cast<float>(x)) - 23);
}

struct Forward {
  std::vector<float> y, soft, kl;
  std::vector<int32_t> index;
};

Forward run(const GumbelSimd* simd, const std::vector<float>& l, int64_t n, int64_t k, bool hard) {
  Forward f{std::vector<float>(l.size()), std::vector<float>(l.size()), std::vector<float>(n), std::vector<int32_t>(n)};
  kernels::cpu::gumbel_softmax_forward_with(simd, f.y.data(), f.soft.data(), f.index.data(), f.kl.data(), l.data(), n,
                                            k, 0.6f, 99, 3, hard, kernels::GumbelDeviceArgs{});
  return f;
}

class GumbelSimdTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  const GumbelSimd* simd = nullptr;
  void SetUp() override {
    simd = kernels::cpu::gumbel_simd(GetParam());
    if (!simd) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX2+FMA";
    if (GetParam() == CpuIsa::avx512 && kernels::cpu::cpu_isa() != CpuIsa::avx512)
      GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX-512";
  }
};

TEST_P(GumbelSimdTest, NoiseWithinFourUlpPlusAbsoluteOfScalar) {
  // K % 4 == 0 draws rows as one span, other K row by row: both, with tails.
  for (const int64_t k : {1, 3, 4, 7, 64, 100, 1028}) {
    const int64_t n = 41;
    std::vector<float> a(static_cast<size_t>(n * k)), b(a.size());
    kernels::cpu::gumbel_noise_with(nullptr, a.data(), n, k, 5, 11);
    kernels::cpu::gumbel_noise_with(simd, b.data(), n, k, 5, 11);
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, std::abs(double{a[i]} - b[i]) / (4.0 * ulp_of(a[i]) + std::ldexp(1.0, -22)));
    EXPECT_LE(worst, 1.0) << "K=" << k;
  }
}

TEST_P(GumbelSimdTest, ForwardMatchesScalarWithinStatedBounds) {
  for (const int64_t k : {1, 2, 5, 8, 17, 64, 100, 1023, 4096, 8191}) {
    for (const bool hard : {false, true}) {
      SCOPED_TRACE("K=" + std::to_string(k) + (hard ? " hard" : " soft"));
      const int64_t n = k > 1000 ? 5 : 37;
      std::vector<float> l = random_values(static_cast<size_t>(n * k), 17u + static_cast<uint32_t>(k), -3.0f, 3.0f);
      for (size_t i = 0; i < l.size(); i += 7) l[i] = -kInfF;                  // masked categories
      for (int64_t j = 0; j < k; ++j) l[static_cast<size_t>(k + j)] = -kInfF;  // row 1: no distribution
      const Forward ref = run(nullptr, l, n, k, hard), got = run(simd, l, n, k, hard);
      EXPECT_EQ(got.index, ref.index);
      EXPECT_EQ(got.index[1], -1);
      // Relative to the soft sample: the noise's absolute error (<= 2^-20 at |g| <= 16) over tau
      // shifts the exponent, which exp turns into a relative error (2^-16 at tau = 0.6, with margin).
      double worst_soft = 0.0, worst_kl = 0.0;
      for (size_t i = 0; i < l.size(); ++i) {
        const double want = ref.soft[i], diff = std::abs(double{got.soft[i]} - want);
        worst_soft = std::max(worst_soft, diff / std::max(std::ldexp(want, -16), std::ldexp(1.0, -100)));
        if (hard) {
          EXPECT_EQ(got.y[i], ref.y[i]) << i;
        }
      }
      for (int64_t r = 0; r < n; ++r)
        worst_kl = std::max(worst_kl, std::abs(double{got.kl[r]} - ref.kl[r]) / (1e-6 + 2.0 * ulp_of(ref.kl[r])));
      EXPECT_LE(worst_soft, 1.0);
      EXPECT_LE(worst_kl, 1.0);
    }
  }
}

TEST_P(GumbelSimdTest, SoftmaxPassesWithinFourUlpOfDouble) {
  // Given the same scores, exp_sum and scale are within 4 ulp of a double softmax (above 2^-100;
  // scores more than 87 below the max flush to 0).
  for (const int64_t k : {1, 7, 16, 33, 1000}) {
    std::vector<float> v = random_values(static_cast<size_t>(k), 5u + static_cast<uint32_t>(k), -90.0f, 10.0f);
    v[0] = -kInfF;
    const std::vector<float> scores = v;
    float vmax = -kInfF;
    for (const float x : v) vmax = std::max(vmax, x);
    const double inv_s = 1.0 / simd->exp_sum(v.data(), k, vmax);
    std::vector<float> y(static_cast<size_t>(k));
    simd->scale(y.data(), v.data(), k, inv_s);
    // The shift x - vmax rounds in f32 in both twins; the reference starts from that f32 value.
    const auto e = [&](float x) { return std::exp(double{x - vmax}); };
    double s = 0.0;
    for (const float x : scores) s += e(x);
    double worst = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double want = e(scores[j]) / s, diff = std::abs(y[j] - want);
      worst = std::max(worst, want > std::ldexp(1.0, -100) ? diff / ulp_of(want) : diff / std::ldexp(1.0, -100));
    }
    EXPECT_LE(worst, 4.0) << "K=" << k;
  }
}

TEST_P(GumbelSimdTest, BoundsCatchAWrongNoiseStream) {
  // The same comparison against another offset's sample must fail: the checks above can fail.
  const int64_t n = 4, k = 64;
  const std::vector<float> l = random_values(static_cast<size_t>(n * k), 3u, -1.0f, 1.0f);
  Forward a = run(nullptr, l, n, k, false), b = Forward{a.y, a.soft, a.kl, a.index};
  kernels::cpu::gumbel_softmax_forward_with(simd, b.y.data(), b.soft.data(), b.index.data(), b.kl.data(), l.data(), n,
                                            k, 0.6f, 99, 4, false, kernels::GumbelDeviceArgs{});
  double worst = 0.0;
  for (size_t i = 0; i < l.size(); ++i)
    worst = std::max(worst, std::abs(double{a.soft[i]} - b.soft[i]) / ulp_of(a.soft[i]));
  EXPECT_GT(worst, 4.0);
}

TEST_P(GumbelSimdTest, BackwardMatchesScalarWithinStatedBounds) {
  // |simd - scalar| <= 2^-21 (|softmax part| + |KL part's terms|) + 2^-19 y_j sum_i |y_i dy_i| / tau:
  // the f32 dot and gradient (kernels/cpu/gumbel_simd.h), the entropy's last bits and exp_f's 2 ulp
  // against libm's exp are the only differences.
  for (const int64_t k : {1, 5, 16, 17, 100, 1023}) {
    SCOPED_TRACE("K=" + std::to_string(k));
    const int64_t n = 9;
    std::vector<float> l = random_values(static_cast<size_t>(n * k), 23u + static_cast<uint32_t>(k), -4.0f, 4.0f);
    for (size_t i = 0; i < l.size(); i += 5) l[i] = -kInfF;
    for (int64_t j = 0; j < k; ++j) l[static_cast<size_t>(2 * k + j)] = -kInfF;  // row 2: no distribution
    const Forward f = run(nullptr, l, n, k, false);
    const std::vector<float> dy = random_values(l.size(), 29u), dkl = random_values(static_cast<size_t>(n), 31u);
    const auto backward = [&](const GumbelSimd* v, bool use_dy, bool use_dkl, float tau) {
      std::vector<float> dl(l.size(), -7.0f);
      kernels::cpu::gumbel_softmax_backward_with(v, dl.data(), use_dy ? dy.data() : nullptr, f.soft.data(),
                                                 use_dkl ? dkl.data() : nullptr, l.data(), n, k, tau,
                                                 kernels::GumbelDeviceArgs{});
      return dl;
    };
    const std::vector<float> soft_part = backward(nullptr, true, false, 0.6f);
    // The KL part's magnitude |dkl| q (|log q| + H): the twins' entropies H differ in the last bits,
    // which log q + H can cancel down to.
    std::vector<double> kl_mag(l.size(), 0.0);
    for (int64_t r = 0; r < n; ++r) {
      const float* lr = l.data() + r * k;
      double mx = -INFINITY, s = 0.0, h = 0.0;
      for (int64_t j = 0; j < k; ++j) mx = std::max(mx, double{lr[j]});
      if (mx == -INFINITY) continue;
      for (int64_t j = 0; j < k; ++j) s += std::exp(lr[j] - mx);
      for (int64_t j = 0; j < k; ++j) {
        const double lq = lr[j] - mx - std::log(s);
        if (lr[j] != -kInfF) h -= std::exp(lq) * lq;
      }
      for (int64_t j = 0; j < k; ++j) {
        const double lq = lr[j] - mx - std::log(s);
        if (lr[j] != -kInfF)
          kl_mag[static_cast<size_t>(r * k + j)] = std::abs(dkl[r]) * std::exp(lq) * (std::abs(lq) + h);
      }
    }
    // The f32 dot's share: y_j sum_i |y_i dy_i| / tau.
    std::vector<double> dot_mag(l.size(), 0.0);
    for (int64_t r = 0; r < n; ++r) {
      double a = 0.0;
      for (int64_t j = 0; j < k; ++j) a += std::abs(double{f.soft[r * k + j]} * dy[r * k + j]);
      for (int64_t j = 0; j < k; ++j) dot_mag[r * k + j] = f.soft[r * k + j] * a / 0.6;
    }
    const auto worst = [&](const std::vector<float>& got, const std::vector<float>& want) {
      double w = 0.0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double budget = std::ldexp(std::abs(double{soft_part[i]}) + kl_mag[i], -21) + std::ldexp(dot_mag[i], -19);
        w = std::max(w, std::abs(double{got[i]} - want[i]) / (budget + 1e-30));
      }
      return w;
    };
    for (const bool use_dy : {false, true})
      for (const bool use_dkl : {false, true})
        EXPECT_LE(worst(backward(simd, use_dy, use_dkl, 0.6f), backward(nullptr, use_dy, use_dkl, 0.6f)), 1.0)
            << "dy " << use_dy << " dkl " << use_dkl;
    // Another temperature must be told apart: the bound can fail.
    if (k > 1) EXPECT_GT(worst(backward(simd, true, true, 0.61f), backward(nullptr, true, true, 0.6f)), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, GumbelSimdTest, ::testing::Values(CpuIsa::avx2, CpuIsa::avx512),
                         [](const ::testing::TestParamInfo<CpuIsa>& i) {
                           return i.param == CpuIsa::avx2 ? "avx2" : "avx512";
                         });

}  // namespace
}  // namespace lvk::test
