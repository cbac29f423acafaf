// Gaussian reparametrization and log-density: forward against naive double computations that
// redraw the noise from the documented layout, sample moments, closed-form KL, gradients by
// central differences (noise fixed by the seed), the log-variance clamp, bad inputs, CUDA vs CPU.
#include <cmath>
#include <limits>

#include "base/philox.h"
#include "kernels/gaussian.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Normal number i: the cosine (i even) or sine (i odd) half of Box-Muller in double on uniform draws
// 2p, 2p + 1 of (seed, offset), p = i / 2.
double reference_eps(uint64_t seed, uint64_t offset, uint64_t i) {
  const uint64_t p = i / 2;
  const double u1 = philox_uniform(seed, offset, 2 * p), u2 = philox_uniform(seed, offset, 2 * p + 1);
  return std::sqrt(-2.0 * std::log(u1)) * (i % 2 ? std::sin(2.0 * kPi * u2) : std::cos(2.0 * kPi * u2));
}

double clamped(double lv) {
  return std::min(20.0, std::max(-30.0, lv));
}

class GaussianSampleTest : public BackendTest {};

TEST_P(GaussianSampleTest, MatchesNaiveDoubleReference) {
  for (int64_t d : {1, 2, 3, 4, 5, 31, 127, 128, 129, 515}) {
    for (int64_t n : {0, 1, 7}) {
      for (int64_t samples : {0, 1, 3}) {
        SCOPED_TRACE("N=" + std::to_string(n) + " D=" + std::to_string(d) + " S=" + std::to_string(samples));
        const std::vector<float> mu = random_values(n * d, 1u + d, -2.0f, 2.0f);
        std::vector<float> lv = random_values(n * d, 2u + d, -3.0f, 2.0f);
        if (!lv.empty()) lv[0] = 40.0f;  // beyond the clamp
        GaussianSampleOptions opt;
        opt.samples = samples, opt.seed = 555 + d, opt.offset = 7;
        const GaussianSampleResult r =
            gaussian_sample(Tensor::from_vector(mu, {n, d}, device()), Tensor::from_vector(lv, {n, d}, device()), opt);
        const int64_t s = samples == 0 ? 1 : samples;
        std::vector<double> z, kl(n, 0.0), lq;
        for (int64_t t = 0; t < s; ++t)
          for (int64_t i = 0; i < n; ++i) {
            double acc = 0.0;
            for (int64_t j = 0; j < d; ++j) {
              const double l = clamped(lv[i * d + j]);
              const double eps = reference_eps(opt.seed, opt.offset, static_cast<uint64_t>((t * n + i) * d + j));
              z.push_back(mu[i * d + j] + std::exp(0.5 * l) * eps);
              acc += -0.5 * std::log(2.0 * kPi) - 0.5 * l - 0.5 * eps * eps;
              if (t == 0) kl[i] += 0.5 * (static_cast<double>(mu[i * d + j]) * mu[i * d + j] + std::exp(l) - 1.0 - l);
            }
            lq.push_back(acc);
          }
        EXPECT_EQ(r.z.shape(), samples == 0 ? Shape({n, d}) : Shape({s, n, d}));
        EXPECT_EQ(r.log_q.shape(), samples == 0 ? Shape({n}) : Shape({s, n}));
        EXPECT_TRUE(all_close(r.z.to_vector<float>(), z, 1e-5, 1e-5));
        EXPECT_TRUE(all_close(r.kl.to_vector<float>(), kl, 1e-4, 1e-5));
        EXPECT_TRUE(all_close(r.log_q.to_vector<float>(), lq, 1e-4, 1e-5));
      }
    }
  }
}

// Sample mean and variance of 2^18 draws within 5 standard errors (two-sided p ~ 6e-7 each;
// fixed seed, so deterministic), per input row as well as pooled.
TEST_P(GaussianSampleTest, MomentsMatch) {
  const int64_t n = 4, d = 1 << 16;
  const float mus[4] = {0.0f, 1.5f, -3.0f, 0.25f}, lvs[4] = {0.0f, std::log(0.25f), std::log(4.0f), -2.0f};
  std::vector<float> mu(n * d), lv(n * d);
  for (int64_t i = 0; i < n * d; ++i) mu[i] = mus[i / d], lv[i] = lvs[i / d];
  GaussianSampleOptions opt;
  opt.seed = 2718;
  const std::vector<float> z =
      gaussian_sample(Tensor::from_vector(mu, {n, d}, device()), Tensor::from_vector(lv, {n, d}, device()), opt)
          .z.to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    double m1 = 0.0, m2 = 0.0, m4 = 0.0;
    for (int64_t j = 0; j < d; ++j) m1 += z[i * d + j];
    m1 /= d;
    for (int64_t j = 0; j < d; ++j) {
      const double c = z[i * d + j] - m1;
      m2 += c * c, m4 += c * c * c * c;
    }
    m2 /= d, m4 /= d;
    const double var = std::exp(static_cast<double>(lvs[i]));
    EXPECT_NEAR(m1, mus[i], 5.0 * std::sqrt(var / d)) << "row " << i;
    EXPECT_NEAR(m2, var, 5.0 * var * std::sqrt(2.0 / d)) << "row " << i;
    EXPECT_NEAR(m4 / (m2 * m2), 3.0, 5.0 * std::sqrt(96.0 / d)) << "row " << i;  // kurtosis of a normal
  }
}

// The cosine and sine normals of one Box-Muller pair are independent: neither they nor their squares
// correlate (sample correlations of 2^17 pairs within 5 standard errors, 1 / sqrt(pairs)), and
// neither do neighbouring pairs.
TEST_P(GaussianSampleTest, NeighbouringNormalsAreUncorrelated) {
  const int64_t d = 1 << 18;
  GaussianSampleOptions opt;
  opt.seed = 31;
  const std::vector<float> eps =
      gaussian_sample(Tensor::zeros({1, d}, DType::f32, device()), Tensor::zeros({1, d}, DType::f32, device()), opt)
          .z.to_vector<float>();
  const auto correlation = [&](int64_t lag, bool squares) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    const int64_t pairs = d / 2 - 1;
    for (int64_t p = 0; p < pairs; ++p) {
      double a = eps[2 * p], b = eps[2 * p + lag];
      if (squares) a *= a, b *= b;
      sa += a, sb += b, saa += a * a, sbb += b * b, sab += a * b;
    }
    const double ma = sa / pairs, mb = sb / pairs;
    return (sab / pairs - ma * mb) / std::sqrt((saa / pairs - ma * ma) * (sbb / pairs - mb * mb));
  };
  const double bound = 5.0 / std::sqrt(static_cast<double>(d / 2));
  for (const int64_t lag : {1, 2, 3})
    for (const bool squares : {false, true})
      EXPECT_LT(std::abs(correlation(lag, squares)), bound) << "lag " << lag << (squares ? ", squares" : "");
}

TEST_P(GaussianSampleTest, LogQAgreesWithTheLogDensityOp) {
  const Tensor mu = random_tensor({6, 33}, 11u, device(), -1.0f, 1.0f);
  const Tensor lv = random_tensor({6, 33}, 12u, device(), -2.0f, 1.0f);
  GaussianSampleOptions opt;
  opt.samples = 4, opt.seed = 9;
  const GaussianSampleResult r = gaussian_sample(mu, lv, opt);
  EXPECT_TRUE(all_close(gaussian_log_density(r.z, mu, lv), r.log_q, 1e-4, 1e-5));
}

TEST_P(GaussianSampleTest, Gradients) {
  for (int64_t samples : {0, 3}) {
    SCOPED_TRACE("S=" + std::to_string(samples));
    GaussianSampleOptions opt;
    opt.samples = samples, opt.seed = 31, opt.offset = 1;
    const Tensor mu = random_tensor({3, 5}, 21u, device(), -1.0f, 1.0f);
    const Tensor lv = random_tensor({3, 5}, 22u, device(), -1.5f, 1.0f);
    EXPECT_TRUE(
        check_gradients([&](const std::vector<Tensor>& x) { return gaussian_sample(x[0], x[1], opt).z; }, {mu, lv}));
    EXPECT_TRUE(
        check_gradients([&](const std::vector<Tensor>& x) { return gaussian_sample(x[0], x[1], opt).kl; }, {mu, lv}));
    EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& x) { return gaussian_sample(x[0], x[1], opt).log_q; },
                                {mu, lv}));
    // All three outputs at once, as an ELBO uses them (a linear read-out of z keeps the f32 loss small
    // enough for central differences).
    const Tensor w = random_tensor(samples == 0 ? Shape{3, 5} : Shape{samples, 3, 5}, 23u, device());
    EXPECT_TRUE(check_gradients(
        [&](const std::vector<Tensor>& x) {
          const GaussianSampleResult r = gaussian_sample(x[0], x[1], opt);
          return add(add(sum(mul(r.z, w)), scale(sum(r.kl), 0.1f)), scale(sum(r.log_q), 0.1f));
        },
        {mu, lv}));
  }
}

TEST_P(GaussianSampleTest, LogvarClampIsReflectedInTheGradient) {
  const std::vector<float> lv = {-40.0f, -30.5f, -1.0f, 0.5f, 20.5f, 60.0f};
  const Tensor mu = random_tensor({1, 6}, 41u, device());
  Tensor x = Tensor::from_vector(lv, {1, 6}, device());
  x.set_requires_grad(true);
  Tape tape;
  GaussianSampleResult r;
  Tensor loss;
  {
    TapeRecording rec(tape);
    GaussianSampleOptions opt;
    opt.seed = 3;
    r = gaussian_sample(mu, x, opt);
    loss = add(add(sum(r.z), sum(r.kl)), sum(r.log_q));
  }
  tape.backward(loss);
  const std::vector<float> g = x.grad().to_vector<float>();
  for (float v : r.z.to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_TRUE(std::isfinite(r.kl.item()) && std::isfinite(r.log_q.item()));
  for (int i : {0, 1, 4, 5}) EXPECT_EQ(g[i], 0.0f) << "logvar " << lv[i] << " is outside [-30, 20]";
  for (int i : {2, 3}) EXPECT_NE(g[i], 0.0f) << i;
  // Inside the range the gradient matches central differences.
  EXPECT_TRUE(check_gradients(
      [&](const std::vector<Tensor>& in) {
        GaussianSampleOptions opt;
        opt.seed = 3;
        return gaussian_sample(in[0], in[1], opt).z;
      },
      {mu, Tensor::from_vector(std::vector<float>{-29.0f, -5.0f, -1.0f, 0.5f, 3.0f, 19.0f}, {1, 6}, device())},
      GradCheckOptions{1e-3, 2e-3, 2e-3, {false, true}}));
}

TEST_P(GaussianSampleTest, BadInputs) {
  const Tensor a = Tensor::zeros({3, 4}, DType::f32, device());
  auto expect_error = [](auto&& fn, const std::string& op, const std::string& what) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  GaussianSampleOptions opt;
  expect_error(
      [&] {
        gaussian_sample(a, Tensor::zeros({3, 5}, DType::f32, device()), opt);
      },
      "gaussian_sample", "[3, 5]");
  expect_error(
      [&] {
        gaussian_sample(Tensor::zeros({12}, DType::f32, device()), Tensor::zeros({12}, DType::f32, device()), opt);
      },
      "gaussian_sample", "rank");
  expect_error([&] { gaussian_sample(a, Tensor::zeros({3, 4}, DType::i32, device()), opt); }, "gaussian_sample", "i32");
  opt.samples = -2;
  expect_error([&] { gaussian_sample(a, a, opt); }, "gaussian_sample", "samples=-2");
  expect_error(
      [&] {
        gaussian_log_density(Tensor::zeros({2, 3, 5}, DType::f32, device()), a, a);
      },
      "gaussian_log_density", "[2, 3, 5]");
  expect_error(
      [&] {
        gaussian_log_density(Tensor::zeros({4, 3}, DType::f32, device()), a, a);
      },
      "gaussian_log_density", "[4, 3]");
}

class GaussianLogDensityTest : public BackendTest {};

TEST_P(GaussianLogDensityTest, MatchesNaiveDoubleReference) {
  for (int64_t d : {1, 3, 4, 130}) {
    for (int64_t s : {0, 1, 2}) {
      const int64_t n = 5, sn = s == 0 ? 1 : s;
      const std::vector<float> z = random_values(sn * n * d, 51u, -3.0f, 3.0f), mu = random_values(n * d, 52u),
                               lv = random_values(n * d, 53u, -2.0f, 2.0f);
      const Tensor zt = Tensor::from_vector(z, s == 0 ? Shape{n, d} : Shape{s, n, d}, device());
      const Tensor out = gaussian_log_density(zt, Tensor::from_vector(mu, {n, d}, device()),
                                              Tensor::from_vector(lv, {n, d}, device()));
      std::vector<double> ref;
      for (int64_t t = 0; t < sn; ++t)
        for (int64_t i = 0; i < n; ++i) {
          double acc = 0.0;
          for (int64_t j = 0; j < d; ++j) {
            const double diff = z[(t * n + i) * d + j] - mu[i * d + j],
                         var = std::exp(static_cast<double>(lv[i * d + j]));
            acc += -0.5 * std::log(2.0 * kPi * var) - 0.5 * diff * diff / var;
          }
          ref.push_back(acc);
        }
      EXPECT_EQ(out.shape(), s == 0 ? Shape({n}) : Shape({s, n}));
      EXPECT_TRUE(all_close(out.to_vector<float>(), ref, 1e-4, 1e-5)) << "D=" << d << " S=" << s;
    }
  }
}

TEST_P(GaussianLogDensityTest, Gradients) {
  for (bool batched : {false, true}) {
    const Tensor z = random_tensor(batched ? Shape{3, 2, 4} : Shape{2, 4}, 61u, device(), -2.0f, 2.0f);
    const Tensor mu = random_tensor({2, 4}, 62u, device()), lv = random_tensor({2, 4}, 63u, device(), -1.0f, 1.0f);
    EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return gaussian_log_density(x[0], x[1], x[2]); },
                                {z, mu, lv}))
        << (batched ? "[S, N, D]" : "[N, D]");
  }
}

// The CPU backward (vectorised on AVX2/AVX-512, scalar under LVK_CPU_ISA=base), fed the CPU
// forward's z, against a double oracle that redraws the noise, at widths with and without a lane
// tail, with logvars outside the clamp, and with each optional gradient absent. The oracle also
// returns each element's error budget: kernels/gaussian.h's 2^-25 |dz| |z| per sample for z's
// rounding (doubled here) plus 2^-20 of the terms' magnitudes (the f32 normals' and exp's few ulp
// and the f32 sums of kernels/cpu/gaussian_simd.h).
struct BackwardOracle {
  std::vector<double> dmu, dlv, budget;
};

BackwardOracle backward_oracle(const std::vector<float>& dz, const std::vector<float>& z, const std::vector<float>& dkl,
                               const std::vector<float>& dlq, const std::vector<float>& mu,
                               const std::vector<float>& lv, int64_t s, int64_t n, int64_t d, uint64_t seed,
                               bool use_dz, bool use_dkl, bool use_dlq) {
  const int64_t plane = n * d;
  BackwardOracle o;
  o.dmu.assign(static_cast<size_t>(plane), 0.0);
  o.dlv.assign(static_cast<size_t>(plane), 0.0);
  o.budget.assign(static_cast<size_t>(plane), 0.0);
  for (int64_t e = 0; e < plane; ++e) {
    const int64_t r = e / d;
    const double l = clamped(lv[e]), sigma = std::exp(0.5 * l);
    double gm = 0.0, gl = 0.0, mag = 0.0, rounding = 0.0;
    for (int64_t t = 0; t < s; ++t) {
      if (use_dz) {
        const double g = dz[t * plane + e],
                     term = 0.5 * g * sigma * reference_eps(seed, 2, static_cast<uint64_t>(t * plane + e));
        gm += g, gl += term;
        mag += std::abs(g) + std::abs(term);
        rounding += std::ldexp(std::abs(g) * std::abs(z[t * plane + e]), -24);
      }
      if (use_dlq) gl -= 0.5 * dlq[t * n + r], mag += 0.5 * std::abs(dlq[t * n + r]);
    }
    if (use_dkl) {
      gm += double{dkl[r]} * mu[e], gl += 0.5 * dkl[r] * (std::exp(l) - 1.0);
      mag += std::abs(double{dkl[r]}) * (std::abs(mu[e]) + 0.5 * (std::exp(l) + 1.0));
    }
    const bool inside = lv[e] >= -30.0f && lv[e] <= 20.0f;
    o.dmu[e] = gm;
    o.dlv[e] = inside ? gl : 0.0;
    o.budget[e] = rounding + std::ldexp(mag, -20);
  }
  return o;
}

// The largest |got - want| / budget.
double worst_in_budget(const std::vector<float>& got, const std::vector<double>& want,
                       const std::vector<double>& budget) {
  double w = 0.0;
  for (size_t i = 0; i < got.size(); ++i) w = std::max(w, std::abs(got[i] - want[i]) / (budget[i] + 1e-30));
  return w;
}

TEST(GaussianCpuBackward, MatchesDoubleOracle) {
  for (const int64_t d : {5, 16, 37, 64, 100})
    for (const int64_t s : {1, 3, 8})
      for (int absent = 0; absent < 4; ++absent) {
        SCOPED_TRACE("D=" + std::to_string(d) + " S=" + std::to_string(s) + " absent=" + std::to_string(absent));
        const int64_t n = 7, plane = n * d;
        const bool use_dz = absent != 1, use_dkl = absent != 2, use_dlq = absent != 3;
        const std::vector<float> dz = random_values(static_cast<size_t>(s * plane), 71u);
        std::vector<float> mu = random_values(plane, 72u);
        std::vector<float> lv = random_values(static_cast<size_t>(plane), 73u, -3.0f, 3.0f);
        lv[3] = -31.0f, lv[static_cast<size_t>(plane - 1)] = 25.0f;
        // z - mu far below mu's ulp: dlogvar's error is then z's rounding, absolute.
        mu[1] = 1000.0f, lv[1] = -20.0f;
        const std::vector<float> dkl = random_values(static_cast<size_t>(n), 74u), dlq = random_values(s * n, 75u);
        const auto run = [&](uint64_t seed, std::vector<float>& dmu, std::vector<float>& dlv) {
          std::vector<float> z(static_cast<size_t>(s * plane)), kl(n), lq(s * n);
          kernels::cpu::gaussian_sample(z.data(), kl.data(), lq.data(), mu.data(), lv.data(), s, n, d, seed, 2,
                                        nullptr);
          dmu.assign(static_cast<size_t>(plane), 0.0f), dlv.assign(static_cast<size_t>(plane), 0.0f);
          kernels::cpu::gaussian_sample_backward(dmu.data(), dlv.data(), use_dz ? dz.data() : nullptr,
                                                 use_dkl ? dkl.data() : nullptr, use_dlq ? dlq.data() : nullptr,
                                                 use_dz ? z.data() : nullptr, mu.data(), lv.data(), s, n, d);
          return z;
        };
        std::vector<float> dmu, dlv;
        const std::vector<float> z = run(9, dmu, dlv);
        const BackwardOracle want = backward_oracle(dz, z, dkl, dlq, mu, lv, s, n, d, 9, use_dz, use_dkl, use_dlq);
        EXPECT_LE(worst_in_budget(dmu, want.dmu, want.budget), 1.0);
        EXPECT_LE(worst_in_budget(dlv, want.dlv, want.budget), 1.0);
        std::vector<double> want_regular = want.dlv;
        want_regular[1] = dlv[1];  // the element with |mu| = 1000 has only the absolute bound
        EXPECT_TRUE(all_close(dlv, want_regular, 1e-5, 1e-5));
        EXPECT_TRUE(all_close(dmu, want.dmu, 1e-5, 1e-5));
        EXPECT_EQ(dlv[3], 0.0f);
        if (use_dz) {  // another seed's noise must be told apart: the check can fail
          run(10, dmu, dlv);
          EXPECT_GT(worst_in_budget(dlv, want.dlv, want.budget), 1.0);
        }
      }
}

LVK_INSTANTIATE_BACKENDS(GaussianSampleTest);
LVK_INSTANTIATE_BACKENDS(GaussianLogDensityTest);

}  // namespace
}  // namespace lvk::test
