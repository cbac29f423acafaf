// The streaming mixture log-density (log q_agg) against a naive double computation.
#include <cmath>

#include "runtime/ops/mixture.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

std::vector<double> naive_mixture(const std::vector<float>& z, const std::vector<float>& mu,
                                  const std::vector<float>& lv, int64_t m, int64_t n, int64_t d) {
  std::vector<double> out(m);
  for (int64_t j = 0; j < m; ++j) {
    std::vector<double> logp(n);
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double diff = double(z[j * d + k]) - mu[i * d + k];
        acc += diff * diff * std::exp(-double(lv[i * d + k])) + lv[i * d + k] + std::log(2 * M_PI);
      }
      logp[i] = -0.5 * acc;
      mx = std::max(mx, logp[i]);
    }
    double s = 0;
    for (double v : logp) s += std::exp(v - mx);
    out[j] = mx + std::log(s) - std::log(double(n));
  }
  return out;
}

class Mixture : public BackendTest {};

TEST_P(Mixture, MatchesNaiveDoubleForOddSizes) {
  const int64_t sizes[][3] = {{1, 1, 1}, {5, 1, 3}, {63, 65, 17}, {64, 64, 16}, {130, 7, 2}, {3, 200, 33}, {0, 4, 2}};
  for (const auto& s : sizes) {
    const int64_t m = s[0], n = s[1], d = s[2];
    SCOPED_TRACE(::testing::Message() << "M=" << m << " N=" << n << " D=" << d);
    const std::vector<float> z = random_values(m * d, 1, -2, 2), mu = random_values(n * d, 2, -2, 2),
                             lv = random_values(n * d, 3, -1.5f, 1.0f);
    Tensor out = gaussian_mixture_log_density(Tensor::from_vector(z, {m, d}, device()),
                                              Tensor::from_vector(mu, {n, d}, device()),
                                              Tensor::from_vector(lv, {n, d}, device()));
    EXPECT_TRUE(all_close(out.to_vector<float>(), naive_mixture(z, mu, lv, m, n, d), 2e-4, 2e-5));
  }
}

TEST_P(Mixture, StaysFiniteWhenComponentsAreFarApart) {
  // Log-densities near -1e4: a naive sum of exp() underflows to log(0) = -inf.
  const int64_t m = 4, n = 3, d = 2;
  std::vector<float> z = {100, 100, -100, 50, 0, 0, 30, -30}, mu = {-100, -100, 100, -50, 0, 1};
  std::vector<float> lv(n * d, -1.0f);
  Tensor out =
      gaussian_mixture_log_density(Tensor::from_vector(z, {m, d}, device()), Tensor::from_vector(mu, {n, d}, device()),
                                   Tensor::from_vector(lv, {n, d}, device()));
  const std::vector<double> ref = naive_mixture(z, mu, lv, m, n, d);
  EXPECT_LT(ref[0], -1e4);
  EXPECT_TRUE(all_close(out.to_vector<float>(), ref, 1e-2, 1e-5));
}

TEST_P(Mixture, RejectsBadShapes) {
  Tensor z = Tensor::zeros({4, 3}, DType::f32, device()), mu = Tensor::zeros({5, 3}, DType::f32, device());
  EXPECT_LVK_ERROR(gaussian_mixture_log_density(z, Tensor::zeros({5, 2}, DType::f32, device()),
                                                Tensor::zeros({5, 2}, DType::f32, device())),
                   "z has D=3 but the components have D=2");
  EXPECT_LVK_ERROR(gaussian_mixture_log_density(z, mu, Tensor::zeros({5, 4}, DType::f32, device())),
                   "shape mismatch, [5, 3] vs [5, 4]");
  EXPECT_LVK_ERROR(gaussian_mixture_log_density(z, Tensor::zeros({0, 3}, DType::f32, device()),
                                                Tensor::zeros({0, 3}, DType::f32, device())),
                   "needs at least one component");
}

// The VampPrior trains the components: gradients to z, mu and logvar, with components close enough
// that several share each point's responsibility.
TEST_P(Mixture, GradientsMatchFiniteDifferences) {
  for (const auto& mnd :
       {std::vector<int64_t>{5, 3, 4}, std::vector<int64_t>{1, 1, 1}, std::vector<int64_t>{7, 9, 2}}) {
    const int64_t m = mnd[0], n = mnd[1], d = mnd[2];
    SCOPED_TRACE(::testing::Message() << "M=" << m << " N=" << n << " D=" << d);
    Tensor z = random_tensor({m, d}, 91, device()), mu = random_tensor({n, d}, 92, device());
    Tensor lv = random_tensor({n, d}, 93, device(), -0.5f, 0.5f);
    EXPECT_TRUE(check_gradients(
        [](const std::vector<Tensor>& in) { return gaussian_mixture_log_density(in[0], in[1], in[2]); }, {z, mu, lv}));
  }
}

LVK_INSTANTIATE_BACKENDS(Mixture);

}  // namespace
}  // namespace lvk::test
