// Adam/AdamW, global norm clipping and schedules against hand-computed values and a naive double
// implementation; state round trip.
#include <cmath>

#include "models/optim.h"
#include "runtime/ops/optim.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

class OptimTest : public BackendTest {};

Tensor param_on(const std::vector<float>& v, const Shape& s, Device d) {
  Tensor t = Tensor::from_vector(v, s, d);
  t.set_requires_grad(true);
  return t;
}

// Hand computation (b1 0.9, b2 0.999, lr 0.1): g = 0.5 then -0.25 from p = 1.
//   t=1: m = 0.05, v = 2.5e-4, m^ = 0.5, v^ = 0.25 -> p = 1 - 0.1 * 0.5 / 0.5 = 0.9
//   t=2: m = 0.02, v = 3.1225e-4, m^ = 0.105263, v^ = 0.156203 -> p = 0.9 - 0.0266337 = 0.8733663
TEST_P(OptimTest, AdamMatchesHandComputedTwoSteps) {
  Tensor p = param_on({1.0f}, {1}, device());
  Adam adam({{"p", p}}, AdamOptions{0.1f});
  p.set_grad(Tensor::from_vector<float>({0.5f}, {1}, device()));
  adam.step();
  EXPECT_NEAR(p.to_vector<float>()[0], 0.9, 1e-6);
  p.set_grad(Tensor::from_vector<float>({-0.25f}, {1}, device()));
  adam.step();
  EXPECT_NEAR(p.to_vector<float>()[0], 0.8733663, 1e-6);
  EXPECT_EQ(adam.steps(), 2);
}

struct RefAdam {
  std::vector<std::vector<double>> p, m, v;
  void step(const std::vector<std::vector<double>>& g, double lr, const AdamOptions& o, int t) {
    double sq = 0;
    for (const auto& gi : g)
      for (double x : gi) sq += x * x;
    const double norm = std::sqrt(sq);
    const double clip = o.max_grad_norm > 0 ? std::min(1.0, o.max_grad_norm / (norm + 1e-6)) : 1.0;
    for (size_t k = 0; k < p.size(); ++k)
      for (size_t i = 0; i < p[k].size(); ++i) {
        double gi = g[k][i] * clip;
        if (o.decoupled_weight_decay)
          p[k][i] -= lr * o.weight_decay * p[k][i];
        else
          gi += o.weight_decay * p[k][i];
        m[k][i] = o.beta1 * m[k][i] + (1 - o.beta1) * gi;
        v[k][i] = o.beta2 * v[k][i] + (1 - o.beta2) * gi * gi;
        const double mh = m[k][i] / (1 - std::pow(double(o.beta1), t));
        const double vh = v[k][i] / (1 - std::pow(double(o.beta2), t));
        p[k][i] -= lr * mh / (std::sqrt(vh) + o.eps);
      }
  }
};

TEST_P(OptimTest, FusedUpdateMatchesNaiveDoubleOverSeveralSteps) {
  // Sizes straddle the kernel's block so one launch covers tensors split across blocks.
  const std::vector<Shape> shapes{{1}, {7, 37}, {255}, {2, 3, 43}, {257}};
  for (int mode = 0; mode < 3; ++mode) {
    AdamOptions o;
    o.lr = 0.01f;
    o.weight_decay = mode == 0 ? 0.0f : 0.1f;
    o.decoupled_weight_decay = mode != 2;
    o.max_grad_norm = mode == 1 ? 1.5f : 0.0f;  // clipping active: the gradient norm is about 10
    ParameterList params;
    RefAdam ref;
    for (size_t k = 0; k < shapes.size(); ++k) {
      const auto init = random_values(size_t(shapes[k].numel()), 100 + k);
      params.emplace_back("t" + std::to_string(k), param_on(init, shapes[k], device()));
      ref.p.emplace_back(init.begin(), init.end());
      ref.m.emplace_back(init.size(), 0.0);
      ref.v.emplace_back(init.size(), 0.0);
    }
    Adam adam(params, o);
    for (int t = 1; t <= 5; ++t) {
      std::vector<std::vector<double>> g;
      for (size_t k = 0; k < shapes.size(); ++k) {
        const auto gv = random_values(size_t(shapes[k].numel()), 1000 * t + k, -0.5f, 0.5f);
        params[k].second.set_grad(Tensor::from_vector(gv, shapes[k], device()));
        g.emplace_back(gv.begin(), gv.end());
      }
      const float lr = LrSchedule::cosine(o.lr, 2, 5).lr_at(t - 1);
      adam.step(lr);
      ref.step(g, lr, o, t);
    }
    for (size_t k = 0; k < shapes.size(); ++k)
      EXPECT_TRUE(all_close(params[k].second.to_vector<float>(), ref.p[k], 1e-6, 1e-5)) << "mode " << mode << " t" << k;
  }
}

TEST_P(OptimTest, GlobalNormIsOnePassAndDeterministic) {
  std::vector<Tensor> ts;
  double sq = 0;
  for (int64_t n : {1, 511, 512, 513, 100003}) {
    const auto v = random_values(size_t(n), uint32_t(n));
    for (float x : v) sq += double(x) * x;
    ts.push_back(Tensor::from_vector(v, {n}, device()));
  }
  const float a = global_norm(ts).item(), b = global_norm(ts).item();
  EXPECT_NEAR(a, std::sqrt(sq), 1e-5 * std::sqrt(sq));
  EXPECT_EQ(a, b);
  EXPECT_EQ(global_norm({Tensor::empty({0}, DType::f32, device())}).item(), 0.0f);
}

// More tensors than one CUDA launch's parameter table holds (kOptimTensorsPerLaunch).
TEST_P(OptimTest, ManyTensorsSpanSeveralLaunches) {
  const int count = kernels::kOptimTensorsPerLaunch + 45;
  ParameterList params;
  RefAdam ref;
  std::vector<std::vector<double>> g;
  double sq = 0;
  AdamOptions o;
  o.lr = 0.05f;
  for (int k = 0; k < count; ++k) {
    const auto init = random_values(3, 7000 + k);
    const auto gv = random_values(3, 9000 + k);
    params.emplace_back("p" + std::to_string(k), param_on(init, {3}, device()));
    params.back().second.set_grad(Tensor::from_vector(gv, {3}, device()));
    ref.p.emplace_back(init.begin(), init.end());
    ref.m.emplace_back(3, 0.0);
    ref.v.emplace_back(3, 0.0);
    g.emplace_back(gv.begin(), gv.end());
    for (float x : gv) sq += double(x) * x;
  }
  Adam adam(params, o);
  adam.step();
  ref.step(g, o.lr, o, 1);
  EXPECT_NEAR(adam.last_grad_norm().item(), std::sqrt(sq), 1e-5 * std::sqrt(sq));
  for (int k = 0; k < count; ++k)
    ASSERT_TRUE(all_close(params[k].second.to_vector<float>(), ref.p[k], 1e-6, 1e-5)) << k;
}

TEST_P(OptimTest, StateRoundTripContinuesIdentically) {
  const auto init = random_values(40, 3);
  Tensor a = param_on(init, {40}, device()), b = param_on(init, {40}, device());
  AdamOptions o;
  o.weight_decay = 0.01f;
  Adam first({{"w", a}}, o);
  for (int t = 0; t < 3; ++t) {
    a.set_grad(random_tensor({40}, 50 + t, device()));
    first.step();
  }
  b = param_on(a.to_vector<float>(), {40}, device());
  Adam second({{"w", b}}, o);
  const ParameterList st = first.state();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].first, "w.exp_avg");
  EXPECT_EQ(st[2].first, "step");
  second.load_state(st);
  EXPECT_EQ(second.steps(), 3);
  const Tensor g = random_tensor({40}, 99, device());
  a.set_grad(g.clone());
  b.set_grad(g.clone());
  first.step();
  second.step();
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  LVK_EXPECT_ERROR(second.load_state({st[0], st[2]}), "load_state", "w.exp_avg_sq");
  LVK_EXPECT_ERROR(second.load_state({st[0], {"w.exp_avg_sq", Tensor::zeros({3})}, st[2]}), "w.exp_avg_sq", "[3]");
}

TEST_P(OptimTest, SkipsParametersWithoutGradientsAndZeroGradKeepsBuffers) {
  Tensor a = param_on({1.0f, 2.0f}, {2}, device()), b = param_on({3.0f}, {1}, device());
  Adam adam({{"a", a}, {"b", b}}, AdamOptions{0.1f});
  a.set_grad(Tensor::from_vector<float>({1.0f, -1.0f}, {2}, device()));
  adam.step();
  EXPECT_EQ(b.to_vector<float>()[0], 3.0f);
  EXPECT_NE(a.to_vector<float>()[0], 1.0f);
  const void* before = a.grad().raw();
  adam.zero_grad();
  EXPECT_EQ(a.grad().raw(), before);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{0.0f, 0.0f}));
}

LVK_INSTANTIATE_BACKENDS(OptimTest);

TEST(Optim, RejectsBadOptions) {
  Tensor p = param_on({1.0f}, {1}, Device::cpu());
  LVK_EXPECT_ERROR(Adam({{"p", p}}, AdamOptions{0.1f, 1.0f}), "Adam", "betas");
  LVK_EXPECT_ERROR(Adam({{"p", p}, {"p", p}}), "duplicate parameter name \"p\"");
  Adam ok({{"p", p}});
  LVK_EXPECT_ERROR(ok.step(NAN), "learning rate");
}

TEST(LrSchedule, ConstantWarmupAndCosine) {
  EXPECT_EQ(LrSchedule::constant(0.5f).lr_at(1000), 0.5f);
  const LrSchedule w = LrSchedule::linear_warmup(1.0f, 4);
  EXPECT_FLOAT_EQ(w.lr_at(0), 0.25f);
  EXPECT_FLOAT_EQ(w.lr_at(3), 1.0f);
  EXPECT_FLOAT_EQ(w.lr_at(10), 1.0f);
  const LrSchedule c = LrSchedule::cosine(1.0f, 2, 12, 0.1f);
  EXPECT_FLOAT_EQ(c.lr_at(1), 1.0f);
  EXPECT_FLOAT_EQ(c.lr_at(2), 1.0f);
  EXPECT_NEAR(c.lr_at(7), 0.55, 1e-6);  // half-way: (1 + 0.1) / 2
  EXPECT_FLOAT_EQ(c.lr_at(12), 0.1f);
  EXPECT_FLOAT_EQ(c.lr_at(100), 0.1f);
  LVK_EXPECT_ERROR(LrSchedule::cosine(1.0f, 5, 5).lr_at(6), "total_steps");
}

}  // namespace
}  // namespace lvk::test
