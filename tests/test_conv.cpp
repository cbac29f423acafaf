// Conv2d / ConvTranspose2d against direct loops in double, GroupNorm against naive statistics,
// gradients by central differences, CUDA (cuDNN) against the CPU twin.
#include <cmath>

#include "models/conv_layers.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn_conv.h"
#include "runtime/tape.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

struct Geo {
  int64_t n, c, h, w, o, k, stride, pad;
};

// Direct convolution: y[i, o, oy, ox] = b[o] + sum x[i, c, oy s - p + ky, ox s - p + kx] w[o, c, ky, kx].
std::vector<double> conv_ref(const Tensor& x, const Tensor& w, const Tensor& b, const Geo& g, int64_t oh, int64_t ow) {
  const auto xv = x.to_vector<float>(), wv = w.to_vector<float>();
  const auto bv = b.defined() ? b.to_vector<float>() : std::vector<float>(g.o, 0.0f);
  std::vector<double> y(static_cast<size_t>(g.n * g.o * oh * ow));
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = bv[o];
          for (int64_t c = 0; c < g.c; ++c)
            for (int64_t ky = 0; ky < g.k; ++ky)
              for (int64_t kx = 0; kx < g.k; ++kx) {
                const int64_t iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                acc += double(xv[((i * g.c + c) * g.h + iy) * g.w + ix]) * wv[((o * g.c + c) * g.k + ky) * g.k + kx];
              }
          y[((i * g.o + o) * oh + oy) * ow + ox] = acc;
        }
  return y;
}

// Direct transposed convolution (scatter form): x [n, c, h, w], w [c, o, k, k] -> [n, o, oh, ow].
std::vector<double> conv_t_ref(const Tensor& x, const Tensor& w, const Tensor& b, const Geo& g, int64_t oh,
                               int64_t ow) {
  const auto xv = x.to_vector<float>(), wv = w.to_vector<float>();
  const auto bv = b.defined() ? b.to_vector<float>() : std::vector<float>(g.o, 0.0f);
  std::vector<double> y(static_cast<size_t>(g.n * g.o * oh * ow));
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t k = 0; k < oh * ow; ++k) y[(i * g.o + o) * oh * ow + k] = bv[o];
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t iy = 0; iy < g.h; ++iy)
        for (int64_t ix = 0; ix < g.w; ++ix)
          for (int64_t o = 0; o < g.o; ++o)
            for (int64_t ky = 0; ky < g.k; ++ky)
              for (int64_t kx = 0; kx < g.k; ++kx) {
                const int64_t oy = iy * g.stride - g.pad + ky, ox = ix * g.stride - g.pad + kx;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                y[((i * g.o + o) * oh + oy) * ow + ox] +=
                    double(xv[((i * g.c + c) * g.h + iy) * g.w + ix]) * wv[((c * g.o + o) * g.k + ky) * g.k + kx];
              }
  return y;
}

class ConvTest : public BackendTest {};

// 1x1 images, stride > kernel, batch 1, primes, padding wider than the kernel's reach.
const Geo kGeos[] = {{1, 1, 1, 1, 1, 1, 1, 0}, {2, 3, 5, 7, 4, 3, 1, 1},   {1, 2, 7, 5, 3, 2, 3, 0},
                     {3, 4, 8, 8, 5, 4, 2, 1}, {2, 5, 11, 13, 7, 3, 2, 2}, {1, 1, 1, 1, 2, 3, 1, 1},
                     {0, 2, 4, 4, 3, 3, 1, 1}};

TEST_P(ConvTest, Conv2dMatchesDirectConvolution) {
  for (const Geo& g : kGeos) {
    const Tensor x = random_tensor({g.n, g.c, g.h, g.w}, 1, device());
    const Tensor w = random_tensor({g.o, g.c, g.k, g.k}, 2, device());
    const Tensor b = random_tensor({g.o}, 3, device());
    const Tensor y = conv2d(x, w, b, Conv2dParams::make(g.stride, g.pad));
    const int64_t oh = (g.h + 2 * g.pad - g.k) / g.stride + 1, ow = (g.w + 2 * g.pad - g.k) / g.stride + 1;
    EXPECT_EQ(y.shape(), (Shape{g.n, g.o, oh, ow}));
    EXPECT_TRUE(all_close(y.to_vector<float>(), conv_ref(x, w, b, g, oh, ow), 1e-5, 1e-4)) << g.c << "x" << g.h;
    if (device().is_cuda()) {
      EXPECT_TRUE(all_close(
          y.to(Device::cpu()),
          conv2d(x.to(Device::cpu()), w.to(Device::cpu()), b.to(Device::cpu()), Conv2dParams::make(g.stride, g.pad)),
          1e-5, 1e-5));
    }
  }
}

TEST_P(ConvTest, ConvTranspose2dMatchesDirectScatter) {
  for (const Geo& g : kGeos) {
    for (int64_t op : {int64_t(0), g.stride - 1}) {
      const Tensor x = random_tensor({g.n, g.c, g.h, g.w}, 4, device());
      const Tensor w = random_tensor({g.c, g.o, g.k, g.k}, 5, device());
      const Tensor b = random_tensor({g.o}, 6, device());
      const int64_t oh = (g.h - 1) * g.stride - 2 * g.pad + g.k + op, ow = (g.w - 1) * g.stride - 2 * g.pad + g.k + op;
      if (oh < 1 || ow < 1) continue;
      const Tensor y = conv_transpose2d(x, w, b, Conv2dParams::make(g.stride, g.pad), op, op);
      EXPECT_EQ(y.shape(), (Shape{g.n, g.o, oh, ow}));
      EXPECT_TRUE(all_close(y.to_vector<float>(), conv_t_ref(x, w, b, g, oh, ow), 1e-5, 1e-4)) << g.c << "x" << g.h;
    }
  }
}

TEST_P(ConvTest, ConvGradients) {
  const Geo geos[] = {{2, 2, 5, 4, 3, 3, 1, 1}, {1, 3, 6, 6, 2, 2, 2, 0}, {2, 1, 3, 3, 2, 1, 3, 1}};
  for (const Geo& g : geos) {
    const Tensor x = random_tensor({g.n, g.c, g.h, g.w}, 7, device());
    const Tensor w = random_tensor({g.o, g.c, g.k, g.k}, 8, device());
    const Tensor wt = random_tensor({g.c, g.o, g.k, g.k}, 9, device());
    const Tensor b = random_tensor({g.o}, 10, device());
    const Conv2dParams p = Conv2dParams::make(g.stride, g.pad);
    EXPECT_TRUE(
        check_gradients([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); }, {x, w, b}));
    const int64_t op = g.stride > 1 ? 1 : 0;
    EXPECT_TRUE(check_gradients(
        [p, op](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], p, op, op); },
        {x, wt, b}));
  }
}

// An image of no rows, padded to a non-empty output: every output is the bias and the filter
// gradient is zero, on every backend (cuDNN refuses the empty input descriptor, so CUDA must not ask).
TEST_P(ConvTest, PaddedEmptyImageGivesTheBias) {
  const Tensor x = Tensor::zeros({1, 2, 0, 3}, DType::f32, device()).set_requires_grad(true);
  const Tensor w = random_tensor({3, 2, 1, 1}, 11, device()).set_requires_grad(true);
  const Tensor b = Tensor::from_vector<float>({0.5f, -1.0f, 2.0f}, {3}, device());
  Tape tape;
  Tensor loss, y;
  {
    TapeRecording rec(tape);
    y = conv2d(x, w, b, Conv2dParams::make(1, 1));
    loss = sum(y);
  }
  ASSERT_EQ(y.shape(), (Shape{1, 3, 2, 5}));
  const std::vector<float> v = y.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], b.to_vector<float>()[i / 10]) << "output " << i;
  tape.backward(loss);
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST_P(ConvTest, RejectsBadGeometry) {
  const Tensor x = random_tensor({1, 3, 4, 4}, 1, device());
  LVK_EXPECT_ERROR(conv2d(x, random_tensor({2, 4, 3, 3}, 2, device()), Tensor()), "conv2d", "3 channels", "expects 4");
  LVK_EXPECT_ERROR(conv2d(x, random_tensor({2, 3, 7, 7}, 2, device()), Tensor()), "conv2d", "larger than");
  LVK_EXPECT_ERROR(conv2d(x, random_tensor({2, 3, 3, 3}, 2, device()), Tensor(), Conv2dParams::make(0, 0)), "stride");
  LVK_EXPECT_ERROR(conv2d(x, random_tensor({2, 3, 3, 3}, 2, device()), random_tensor({3}, 1, device())), "b is [3]");
  LVK_EXPECT_ERROR(conv_transpose2d(x, random_tensor({3, 2, 3, 3}, 2, device()), Tensor(), Conv2dParams::make(2, 0), 2),
                   "output_padding");
  LVK_EXPECT_ERROR(conv_transpose2d(x, random_tensor({2, 2, 3, 3}, 2, device()), Tensor()), "conv_transpose2d",
                   "expects 2");
  LVK_EXPECT_ERROR(conv2d(random_tensor({3, 4, 4}, 1, device()), random_tensor({2, 3, 3, 3}, 2, device()), Tensor()),
                   "conv2d");
}

TEST_P(ConvTest, GroupNormMatchesNaiveAndGradients) {
  const int64_t n = 2, c = 6, h = 3, w = 5;
  for (int64_t groups : {1, 2, 3, 6}) {
    const Tensor x = random_tensor({n, c, h, w}, 11, device(), -2, 3);
    const Tensor gamma = random_tensor({c}, 12, device(), 0.5, 1.5), beta = random_tensor({c}, 13, device());
    const Tensor y = group_norm(x, gamma, beta, groups);
    const auto xv = x.to_vector<float>(), gv = gamma.to_vector<float>(), bv = beta.to_vector<float>();
    std::vector<double> ref(xv.size());
    const int64_t cg = c / groups, m = cg * h * w;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t g = 0; g < groups; ++g) {
        double s = 0, ss = 0;
        for (int64_t k = 0; k < m; ++k) s += xv[(i * c + g * cg) * h * w + k];
        const double mu = s / m;
        for (int64_t k = 0; k < m; ++k) ss += std::pow(xv[(i * c + g * cg) * h * w + k] - mu, 2);
        const double r = 1 / std::sqrt(ss / m + 1e-5);
        for (int64_t k = 0; k < m; ++k) {
          const int64_t idx = (i * c + g * cg) * h * w + k, ch = g * cg + k / (h * w);
          ref[idx] = (xv[idx] - mu) * r * gv[ch] + bv[ch];
        }
      }
    EXPECT_TRUE(all_close(y.to_vector<float>(), ref, 1e-5, 1e-4)) << groups;
    EXPECT_TRUE(
        check_gradients([groups](const std::vector<Tensor>& in) { return group_norm(in[0], in[1], in[2], groups); },
                        {x, gamma, beta}, {1e-3, 3e-3, 3e-3, {}}))
        << groups;
  }
  LVK_EXPECT_ERROR(group_norm(random_tensor({1, 6, 2, 2}, 1, device()), Tensor::full({6}, 1, device()),
                              Tensor::zeros({6}, DType::f32, device()), 4),
                   "group_norm", "C=6", "groups=4");
}

TEST_P(ConvTest, ResidualBlockShapesAndGradients) {
  InitStream init(5);
  ResidualBlock block(3, 4, init, device());
  const ParameterList params = block.parameters();
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0].first, "conv1.weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(params[2].second.shape(), (Shape{3, 4, 1, 1}));
  const Tensor x = random_tensor({2, 3, 5, 4}, 14, device());
  // Forward = x + conv2(relu(conv1(relu(x)))) composed from the ops.
  const Tensor manual =
      add(x, conv2d(relu(conv2d(relu(x), params[0].second, params[1].second, Conv2dParams::make(1, 1))),
                    params[2].second, params[3].second));
  EXPECT_TRUE(all_close(block.forward(x), manual, 0, 0));
  // Gradient wrt input and every weight through the whole block. Inputs stay clear of the ReLU
  // kinks (x > 0, conv1 pre-activations > 0), where central differences are meaningless; the ReLU
  // derivative itself is checked in test_nn.
  const Tensor xp = random_tensor({2, 3, 5, 4}, 14, device(), 0.05f, 1.0f);
  EXPECT_TRUE(check_gradients(
      [&](const std::vector<Tensor>& in) {
        return add(in[0], conv2d(relu(conv2d(relu(in[0]), in[1], in[2], Conv2dParams::make(1, 1))), in[3], in[4]));
      },
      {xp, random_tensor({4, 3, 3, 3}, 15, device(), -0.1f, 0.1f), Tensor::full({4}, 3.0f, device()),
       params[2].second.clone(), params[3].second.clone()}));
}

LVK_INSTANTIATE_BACKENDS(ConvTest);

TEST(ConvLayers, ModulesInitialiseFromPhiloxAndName) {
  InitStream a(9), b(9);
  Conv2d c1(3, 8, 4, a, Device::cpu(), ConvOptions{2, 1});
  Conv2d c2(3, 8, 4, b, Device::cpu(), ConvOptions{2, 1});
  EXPECT_EQ(c1.weight.to_vector<float>(), c2.weight.to_vector<float>());
  EXPECT_EQ(c1.forward(random_tensor({1, 3, 28, 28}, 1, Device::cpu())).shape(), (Shape{1, 8, 14, 14}));
  ConvTranspose2d t(8, 3, 4, a, Device::cpu(), ConvOptions{2, 1});
  EXPECT_EQ(t.weight.shape(), (Shape{8, 3, 4, 4}));
  EXPECT_EQ(t.forward(random_tensor({1, 8, 14, 14}, 1, Device::cpu())).shape(), (Shape{1, 3, 28, 28}));
  GroupNorm gn(2, 8);
  EXPECT_EQ(gn.parameters()[0].first, "weight");
  LVK_EXPECT_ERROR(GroupNorm(3, 8), "GroupNorm", "groups=3");
}

}  // namespace
}  // namespace lvk::test
