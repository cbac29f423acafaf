// The vectorised affine-coupling rows (kernels/cpu/coupling_simd.h) against the scalar rules of
// kernels/coupling_math.h (libm tanh and exp), for every ISA this CPU has, within the bound that
// header states: 2^-20 of the sum of the magnitudes of the terms each output adds.
#include <cmath>

#include "kernels/coupling_math.h"
#include "kernels/cpu/coupling_simd.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using kernels::cpu::CouplingSimd;
using kernels::cpu::CpuIsa;
namespace cm = kernels::coupling;

constexpr double kRel = 1.0 / (1 << 20);

// Worst |got - want| / (kRel * magnitude) over all outputs of the four row functions on an
// [n, d] problem; the reference runs at scale ref_scale (the kernel at scale).
// mask_kind 0: m = 1 at j % 3 == 1; 1 and 2: alternating, m = 1 at even j (kind 1) or at odd j
// (kind 2), the layouts whose transformed lanes the backwards pack two vectors into one.
double worst_ratio(const CouplingSimd* v, int64_t n, int64_t d, float scale, float ref_scale, int mask_kind = 0) {
  const size_t sz = static_cast<size_t>(n * d);
  const std::vector<float> x = random_values(sz, 1, -3, 3), sr = random_values(sz, 2, -4, 4),
                           t = random_values(sz, 3, -2, 2), g = random_values(sz, 4, -1, 1),
                           dld = random_values(static_cast<size_t>(n), 5, -1, 1);
  std::vector<float> mask(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j)
    mask[static_cast<size_t>(j)] = (mask_kind == 0 ? j % 3 == 1 : j % 2 == mask_kind - 1) ? 1.0f : 0.0f;
  std::vector<float> a(sz), b(sz), c(sz), b2(sz), c2(sz);
  double worst = 0.0;
  const auto check = [&](float got, double want, double magnitude) {
    worst = std::max(worst, std::abs(got - want) / (kRel * magnitude + 1e-30));
  };
  std::vector<float> ld(static_cast<size_t>(n)), ld_inv(static_cast<size_t>(n)), fa(sz), ia(sz), fb(sz);
  v->forward(fa.data(), ld.data(), x.data(), mask.data(), sr.data(), t.data(), scale, n, d);
  v->inverse(ia.data(), ld_inv.data(), x.data(), mask.data(), sr.data(), t.data(), scale, n, d);
  v->forward_backward(fb.data(), b.data(), c.data(), g.data(), dld.data(), x.data(), mask.data(), sr.data(), scale, n,
                      d);
  v->inverse_backward(a.data(), b2.data(), c2.data(), g.data(), dld.data(), x.data(), mask.data(), sr.data(), t.data(),
                      scale, n, d);
  for (int64_t r = 0; r < n; ++r) {
    const size_t o = static_cast<size_t>(r * d);
    const float dl = dld[static_cast<size_t>(r)];
    double ld_want = 0.0, ld_inv_want = 0.0, ld_mag = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      const size_t i = o + static_cast<size_t>(j);
      const float m = mask[static_cast<size_t>(j)], u = 1.0f - m;
      const double e = std::exp(double{cm::log_scale(sr[i], ref_scale)});
      const cm::Forward f = cm::forward(x[i], m, sr[i], t[i], ref_scale);
      check(fa[i], f.y, std::abs(m * x[i]) + u * (std::abs(x[i]) * e + std::abs(t[i])));
      ld_want += f.logdet_term, ld_mag += std::abs(f.logdet_term);
      const cm::Forward inv = cm::inverse(x[i], m, sr[i], t[i], ref_scale);
      check(ia[i], inv.y, std::abs(m * x[i]) + u * (std::abs(x[i]) + std::abs(t[i])) / e);
      ld_inv_want += inv.logdet_term;
      const cm::Grads w = cm::forward_grads(g[i], dl, x[i], m, sr[i], ref_scale);
      check(fb[i], w.dx, std::abs(g[i]) * (m + u * e));
      check(b[i], w.ds_raw, u * (std::abs(g[i] * x[i]) * e + std::abs(dl)) * ref_scale);
      check(c[i], w.dt, u * std::abs(g[i]));
      const cm::Grads wi = cm::inverse_grads(g[i], dl, x[i], m, sr[i], t[i], ref_scale);
      check(a[i], wi.dx, std::abs(g[i]) * (m + u / e));
      check(b2[i], wi.ds_raw, u * (std::abs(g[i]) * (std::abs(x[i]) + std::abs(t[i])) / e + std::abs(dl)) * ref_scale);
      check(c2[i], wi.dt, u * std::abs(g[i]) / e);
    }
    check(ld[static_cast<size_t>(r)], ld_want, ld_mag);
    check(ld_inv[static_cast<size_t>(r)], ld_inv_want, ld_mag);
  }
  return worst;
}

class CouplingSimdTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  const CouplingSimd* simd = nullptr;
  void SetUp() override {
    simd = kernels::cpu::coupling_simd(GetParam());
    if (!simd) GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX2+FMA";
    if (GetParam() == CpuIsa::avx512 && kernels::cpu::cpu_isa() != CpuIsa::avx512)
      GTEST_SKIP() << "this CPU (or LVK_CPU_ISA) has no AVX-512";
  }
};

TEST_P(CouplingSimdTest, RowsMatchScalarRulesWithinStatedBound) {
  // Widths below, at and past the lane counts, with tails.
  for (const int64_t d : {1, 5, 8, 16, 19, 32, 64, 100})
    for (const float scale : {2.0f, 0.5f})
      for (const int mask_kind : {0, 1, 2})
        EXPECT_LE(worst_ratio(simd, 37, d, scale, scale, mask_kind), 1.0) << "D=" << d << " mask " << mask_kind;
}

TEST_P(CouplingSimdTest, BoundCatchesAWrongScale) {
  // The same comparison against a reference with a slightly different scale must fail.
  for (const int mask_kind : {0, 1, 2}) EXPECT_GT(worst_ratio(simd, 9, 64, 2.0f, 2.001f, mask_kind), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Isa, CouplingSimdTest, ::testing::Values(CpuIsa::avx2, CpuIsa::avx512),
                         [](const auto& info) { return info.param == CpuIsa::avx2 ? "avx2" : "avx512"; });

}  // namespace
}  // namespace lvk::test
