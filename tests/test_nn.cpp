// Linear, activations, losses and initialisation: forward against naive double loops, CUDA
// against the CPU twin, every backward by central differences.
#include <cmath>

#include "models/layers.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"
#include "runtime/tape.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

double act_ref(Activation a, double z, double slope) {
  switch (a) {
    case Activation::none:
      return z;
    case Activation::relu:
      return z > 0 ? z : 0;
    case Activation::leaky_relu:
      return z > 0 ? z : slope * z;
    case Activation::silu:
      return z / (1 + std::exp(-z));
    case Activation::tanh:
      return std::tanh(z);
    case Activation::sigmoid:
      return 1 / (1 + std::exp(-z));
    case Activation::gelu:
      return 0.5 * z * (1 + std::tanh(std::sqrt(2 / M_PI) * (z + 0.044715 * z * z * z)));
  }
  return 0;
}

const Activation kActs[] = {Activation::none, Activation::relu,    Activation::leaky_relu, Activation::silu,
                            Activation::tanh, Activation::sigmoid, Activation::gelu};

class NnTest : public BackendTest {};

// Sizes around the column-sum tile (32 columns, 256-row chunks) and primes.
TEST_P(NnTest, LinearForwardMatchesNaiveLoops) {
  struct Case {
    int64_t n, in, out;
  };
  for (Case c : {Case{1, 1, 1}, Case{3, 5, 7}, Case{31, 17, 32}, Case{33, 8, 33}, Case{257, 13, 11}, Case{0, 4, 3}}) {
    for (Activation act : kActs) {
      for (bool with_bias : {true, false}) {
        const Tensor x = random_tensor({c.n, c.in}, 1, device(), -2, 2);
        const Tensor w = random_tensor({c.out, c.in}, 2, device());
        const Tensor b = with_bias ? random_tensor({c.out}, 3, device()) : Tensor();
        const Tensor y = linear(x, w, b, act, 0.1f);
        const auto xv = x.to_vector<float>(), wv = w.to_vector<float>();
        const auto bv = with_bias ? b.to_vector<float>() : std::vector<float>(c.out, 0.0f);
        std::vector<double> ref(static_cast<size_t>(c.n * c.out));
        for (int64_t i = 0; i < c.n; ++i)
          for (int64_t o = 0; o < c.out; ++o) {
            double z = bv[o];
            for (int64_t k = 0; k < c.in; ++k) z += double(xv[i * c.in + k]) * wv[o * c.in + k];
            ref[i * c.out + o] = act_ref(act, z, 0.1);
          }
        // cuBLASLt's GELU epilogue may evaluate tanh with the hardware approximation (~2^-11).
        const double atol = device().is_cuda() && act == Activation::gelu ? 2e-3 : 1e-5;
        EXPECT_TRUE(all_close(y.to_vector<float>(), ref, atol, 1e-4))
            << "n=" << c.n << " in=" << c.in << " out=" << c.out << " act=" << int(act) << " bias=" << with_bias;
        if (device().is_cuda()) {  // and the CPU twin on the same inputs
          const Tensor yc =
              linear(x.to(Device::cpu()), w.to(Device::cpu()), with_bias ? b.to(Device::cpu()) : Tensor(), act, 0.1f);
          EXPECT_TRUE(all_close(y.to(Device::cpu()), yc, atol, 1e-5));
        }
      }
    }
  }
}

// Gradients of L = sum(linear(x, w, b) * seed) from the tape, as host vectors.
std::vector<std::vector<float>> linear_grads(Tensor x, Tensor w, Tensor b, Activation act,
                                             const std::vector<float>& seed) {
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    TapeRecording rec(tape);
    y = linear(x, w, b, act);
  }
  tape.backward(y, Tensor::from_vector(seed, y.shape(), y.device()));
  return {x.grad().to_vector<float>(), w.grad().to_vector<float>(), b.grad().to_vector<float>()};
}

TEST_P(NnTest, LinearGradients) {
  for (Activation act : kActs) {
    const Tensor x = random_tensor({5, 7}, 4, device(), -2, 2);
    const Tensor w = random_tensor({3, 7}, 5, device());
    const Tensor b = random_tensor({3}, 6, device());
    if (device().is_cuda() && act == Activation::gelu) {
      // Central differences of a hardware-approximated GELU are noise; compare with the CPU
      // twin's backward instead (the formula itself is checked by the CPU instance).
      const auto seed = random_values(15, 77);
      const auto g = linear_grads(x.clone(), w.clone(), b.clone(), act, seed);
      const auto c = linear_grads(x.to(Device::cpu()), w.to(Device::cpu()), b.to(Device::cpu()), act, seed);
      for (int k = 0; k < 3; ++k)
        EXPECT_TRUE(all_close(g[k], std::vector<double>(c[k].begin(), c[k].end()), 5e-3, 1e-3));
      continue;
    }
    EXPECT_TRUE(check_gradients([act](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2], act, 0.2f); },
                                {x, w, b}))
        << "act " << int(act);
  }
  // Bias gradient over many rows exercises the chunked column sum.
  const Tensor x = random_tensor({300, 2}, 7, device());
  const Tensor w = random_tensor({33, 2}, 8, device());
  const Tensor b = random_tensor({33}, 9, device());
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b},
                              {1e-3, 5e-3, 5e-3, {false, false, true}}));
}

TEST_P(NnTest, LinearBackwardIsDeterministicAndAccumulatesParameters) {
  const Tensor x = random_tensor({600, 40}, 10, device());
  Tensor w = random_tensor({70, 40}, 11, device()), b = random_tensor({70}, 12, device());
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  auto step = [&] {
    Tape tape;
    Tensor loss;
    {
      TapeRecording rec(tape);
      loss = sum(linear(x, w, b, Activation::silu));
    }
    tape.backward(loss);
  };
  step();
  const auto gw1 = w.grad().to_vector<float>(), gb1 = b.grad().to_vector<float>();
  step();  // parameter gradients accumulate: exactly twice the first, bit for bit repeatable
  const auto gw2 = w.grad().to_vector<float>(), gb2 = b.grad().to_vector<float>();
  for (size_t i = 0; i < gb1.size(); ++i) ASSERT_EQ(gb2[i], 2 * gb1[i]) << i;
  for (size_t i = 0; i < gw1.size(); ++i) ASSERT_EQ(gw2[i], 2 * gw1[i]) << i;
}

TEST_P(NnTest, EmptyInputsAreNoOpsWithZeroParameterGradients) {
  EXPECT_EQ(activation(Tensor::empty({0, 3}, DType::f32, device()), Activation::silu).shape(), (Shape{0, 3}));
  const Tensor x = Tensor::empty({0, 4}, DType::f32, device());
  Tensor w = random_tensor({3, 4}, 1, device()), b = random_tensor({3}, 2, device());
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  Tape tape;
  Tensor loss;
  {
    TapeRecording rec(tape);
    loss = sum(linear(x, w, b, Activation::relu));
  }
  EXPECT_EQ(loss.item(), 0.0f);
  tape.backward(loss);
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>(12, 0.0f));
  EXPECT_EQ(b.grad().to_vector<float>(), std::vector<float>(3, 0.0f));
}

TEST_P(NnTest, LinearRejectsBadShapes) {
  const Tensor x = random_tensor({4, 3}, 1, device()), w = random_tensor({2, 5}, 2, device());
  LVK_EXPECT_ERROR(linear(x, w, Tensor()), "linear", "[4, 3]", "[2, 5]");
  LVK_EXPECT_ERROR(linear(x, random_tensor({2, 3}, 2, device()), random_tensor({3}, 3, device())), "linear",
                   "b is [3]");
  LVK_EXPECT_ERROR(linear(x, random_tensor({2, 3}, 2, device()), Tensor(), Activation::leaky_relu, -0.5f), "slope",
                   "-0.5");
  LVK_EXPECT_ERROR(linear(random_tensor({4}, 1, device()), w, Tensor()), "linear");
}

TEST_P(NnTest, ActivationsForwardAndGradients) {
  const Tensor x = random_tensor({2, 3, 5}, 13, device(), -4, 4);
  const auto xv = x.to_vector<float>();
  for (Activation act : kActs) {
    const Tensor y = activation(x, act, 0.05f);
    std::vector<double> ref(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) ref[i] = act_ref(act, xv[i], 0.05);
    EXPECT_TRUE(all_close(y.to_vector<float>(), ref, 1e-6, 1e-5)) << int(act);
    EXPECT_TRUE(check_gradients([act](const std::vector<Tensor>& in) { return activation(in[0], act, 0.05f); }, {x}))
        << int(act);
  }
  // Sigmoid and SiLU stay finite at extreme inputs.
  const Tensor big = Tensor::from_vector<float>({-1e4f, -100.0f, 100.0f, 1e4f}, {4}, device());
  EXPECT_TRUE(all_close(sigmoid(big).to_vector<float>(), {0, 0, 1, 1}, 1e-30, 1e-6));
  EXPECT_TRUE(all_close(silu(big).to_vector<float>(), {0, -100 * std::exp(-100.0), 100, 1e4}, 1e-30, 1e-6));
}

// Loss references in double.
double bce_ref(double x, double t) {
  return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
}

TEST_P(NnTest, LossesMatchNaiveSums) {
  const Tensor a = random_tensor({4, 6}, 14, device(), -3, 3);
  const Tensor t = random_tensor({4, 6}, 15, device(), 0, 1);
  const Tensor lv = random_tensor({4, 6}, 16, device(), -1, 1);
  const auto av = a.to_vector<float>(), tv = t.to_vector<float>(), lvv = lv.to_vector<float>();
  double mse = 0, bce = 0, gfix = 0, glearn = 0;
  const double log2pi = std::log(2 * M_PI);
  for (size_t i = 0; i < av.size(); ++i) {
    const double d = double(av[i]) - tv[i];
    mse += d * d;
    bce += bce_ref(av[i], tv[i]);
    gfix += 0.5 * (log2pi + 0.3 + d * d * std::exp(-0.3));
    glearn += 0.5 * (log2pi + lvv[i] + d * d * std::exp(-double(lvv[i])));
  }
  EXPECT_NEAR(mse_loss(a, t).item(), mse / 24, 1e-5);
  EXPECT_NEAR(mse_loss(a, t, Reduction::sum).item(), mse, 1e-4);
  EXPECT_NEAR(bce_with_logits(a, t).item(), bce / 4, 1e-5);
  EXPECT_NEAR(gaussian_nll(t, a, 0.3f).item(), gfix / 4, 1e-4);
  EXPECT_NEAR(gaussian_nll(t, a, lv, Reduction::mean).item(), glearn / 24, 1e-5);
}

TEST_P(NnTest, BceWithLogitsIsStableForLargeLogits) {
  const Tensor x = Tensor::from_vector<float>({-1000.0f, -80.0f, 80.0f, 1000.0f}, {4}, device());
  const Tensor t = Tensor::from_vector<float>({0.0f, 1.0f, 0.0f, 1.0f}, {4}, device());
  const float loss = bce_with_logits(x, t, Reduction::sum).item();
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 160.0, 1e-3);
  x.view(x.shape());
  Tensor xg = x.clone();
  xg.set_requires_grad(true);
  Tape tape;
  Tensor l;
  {
    TapeRecording rec(tape);
    l = bce_with_logits(xg, t, Reduction::sum);
  }
  tape.backward(l);
  EXPECT_TRUE(all_close(xg.grad().to_vector<float>(), {0, -1, 1, 0}, 1e-6, 1e-6));
}

TEST_P(NnTest, LossGradients) {
  const Tensor a = random_tensor({3, 5}, 17, device(), -2, 2);
  const Tensor t = random_tensor({3, 5}, 18, device(), 0, 1);
  const Tensor lv = random_tensor({3, 5}, 19, device(), -1, 1);
  auto check = [&](auto f, std::vector<Tensor> in) { EXPECT_TRUE(check_gradients(f, std::move(in))); };
  check([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); }, {a, t});
  check([](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1], Reduction::sum); }, {a, t});
  check([](const std::vector<Tensor>& in) { return gaussian_nll(in[0], in[1], -0.4f); }, {t, a});
  check([](const std::vector<Tensor>& in) { return gaussian_nll(in[0], in[1], in[2], Reduction::mean); }, {t, a, lv});
}

TEST_P(NnTest, LossesRejectBadInput) {
  const Tensor a = random_tensor({3, 5}, 1, device()), b = random_tensor({5, 3}, 2, device());
  LVK_EXPECT_ERROR(mse_loss(a, b), "mse_loss", "[3, 5]", "[5, 3]");
  LVK_EXPECT_ERROR(gaussian_nll(a, a, b), "gaussian_nll");
  LVK_EXPECT_ERROR(gaussian_nll(a, a, NAN), "gaussian_nll", "nan");
  LVK_EXPECT_ERROR(mse_loss(Tensor::empty({0}, DType::f32, device()), Tensor::empty({0}, DType::f32, device())),
                   "mse_loss", "empty");
  EXPECT_EQ(mse_loss(Tensor::empty({0}, DType::f32, device()), Tensor::empty({0}, DType::f32, device()), Reduction::sum)
                .item(),
            0.0f);
}

LVK_INSTANTIATE_BACKENDS(NnTest);

TEST(Init, PhiloxInitIsReproducibleAndHasTheRightRange) {
  const Tensor a = init_parameter({64, 100}, Init::kaiming_uniform, 100, 64, 7, 3);
  const Tensor b = init_parameter({64, 100}, Init::kaiming_uniform, 100, 64, 7, 3);
  const Tensor c = init_parameter({64, 100}, Init::kaiming_uniform, 100, 64, 7, 4);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
  const double bound = std::sqrt(6.0 / 100);
  double sumsq = 0;
  for (float v : a.to_vector<float>()) {
    ASSERT_LE(std::fabs(v), bound);
    sumsq += double(v) * v;
  }
  // Var of U(-b, b) is b^2/3 = 2/fan_in; 6400 draws: within 10% (about 8 standard errors).
  EXPECT_NEAR(sumsq / 6400, 2.0 / 100, 0.1 * 2.0 / 100);
  double nsq = 0;
  for (float v : init_parameter({6400}, Init::kaiming_normal, 50, 1, 1, 0).to_vector<float>()) nsq += double(v) * v;
  EXPECT_NEAR(nsq / 6400, 2.0 / 50, 0.1 * 2.0 / 50);
  for (float v : init_parameter({10, 30}, Init::xavier_uniform, 30, 10, 1, 0).to_vector<float>())
    ASSERT_LE(std::fabs(v), std::sqrt(6.0 / 40));
  LVK_EXPECT_ERROR(init_parameter({3}, Init::kaiming_uniform, 0, 3, 1, 0), "fan_in=0");
}

TEST(Layers, LinearAndMlpExposeNamedParameters) {
  InitStream init(42);
  Mlp mlp({6, 16, 16, 2}, init);
  const ParameterList params = mlp.parameters();
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params[0].first, "0.weight");
  EXPECT_EQ(params[5].first, "2.bias");
  EXPECT_EQ(params[2].second.shape(), (Shape{16, 16}));
  EXPECT_EQ(mlp.parameter_count(), 6 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
  for (const auto& p : params) EXPECT_TRUE(p.second.requires_grad()) << p.first;
  InitStream again(42);
  Mlp twin({6, 16, 16, 2}, again);
  EXPECT_EQ(twin.parameters()[2].second.to_vector<float>(), params[2].second.to_vector<float>());
  const Tensor y = mlp.forward(random_tensor({5, 6}, 1, Device::cpu()));
  EXPECT_EQ(y.shape(), (Shape{5, 2}));
  LVK_EXPECT_ERROR(Linear(0, 3, init), "Linear", "in=0");
}

}  // namespace
}  // namespace lvk::test
