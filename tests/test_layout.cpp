// Layout moves (to_channels_last / to_channels_first) and the categorical row helpers
// (softmax_last, argmax_last, one_hot, code statistics): CPU against naive loops, gradients by
// finite differences, CUDA against the CPU twin, bad inputs.
#include <cmath>

#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/layout.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class LayoutTest : public BackendTest {};

// Sizes around the 32-wide CUDA tile: below, at, above, primes, a single pixel and a single channel.
const Shape kMaps[] = {{2, 3, 4, 5}, {1, 32, 4, 8}, {3, 33, 5, 7}, {2, 1, 31, 33}, {4, 70, 1, 1}, {1, 5, 13, 11}};

TEST_P(LayoutTest, ChannelsLastMatchesNaivePermute) {
  for (const Shape& s : kMaps) {
    SCOPED_TRACE(s.str());
    const int64_t b = s[0], c = s[1], h = s[2], w = s[3];
    const Tensor x = random_tensor(s, 3, device());
    const std::vector<float> xv = x.to_vector<float>();
    const Tensor y = to_channels_last(x);
    ASSERT_EQ(y.shape(), Shape({b, h, w, c}));
    std::vector<double> expected(static_cast<size_t>(x.numel()));
    for (int64_t n = 0; n < b; ++n)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < h; ++i)
          for (int64_t j = 0; j < w; ++j)
            expected[static_cast<size_t>(((n * h + i) * w + j) * c + ch)] =
                xv[static_cast<size_t>(((n * c + ch) * h + i) * w + j)];
    EXPECT_TRUE(all_close(y.to_vector<float>(), expected, 0.0, 0.0));
    // The inverse move restores x exactly.
    EXPECT_EQ(to_channels_first(y).to_vector<float>(), xv);
    EXPECT_EQ(to_channels_first(y).shape(), s);
  }
}

TEST_P(LayoutTest, EmptyMapsAreNoOps) {
  const Tensor x = Tensor::zeros({0, 3, 4, 4}, DType::f32, device());
  EXPECT_EQ(to_channels_last(x).shape(), Shape({0, 4, 4, 3}));
  EXPECT_EQ(to_channels_first(Tensor::zeros({2, 0, 4, 3}, DType::f32, device())).shape(), Shape({2, 3, 0, 4}));
}

TEST_P(LayoutTest, GradientsFlowThroughBothMoves) {
  const Tensor x = random_tensor({2, 3, 2, 5}, 5, device());
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& in) { return to_channels_last(in[0]); }, {x}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& in) { return to_channels_first(in[0]); }, {x}));
  // Through a product that makes the gradient position-dependent.
  const Tensor m = random_tensor({2, 2, 5, 3}, 6, device());
  EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& in) { return mul(to_channels_last(in[0]), m); }, {x}));
}

TEST_P(LayoutTest, BadInputsNameTheOp) {
  EXPECT_LVK_ERROR(to_channels_last(random_tensor({2, 3, 4}, 1, device())), "to_channels_last");
  EXPECT_LVK_ERROR(to_channels_first(Tensor::zeros({1, 2, 2, 2}, DType::i32, device())), "to_channels_first");
  EXPECT_LVK_ERROR(to_channels_last(Tensor()), "to_channels_last");
}

TEST_P(LayoutTest, SoftmaxLastMatchesNaiveAndDifferentiates) {
  const Tensor x = random_tensor({2, 3, 7}, 8, device(), -4.0f, 4.0f);
  const std::vector<float> xv = x.to_vector<float>();
  std::vector<double> expected(xv.size());
  for (size_t r = 0; r < 6; ++r) {
    double mx = -INFINITY, s = 0.0;
    for (size_t k = 0; k < 7; ++k) mx = std::max(mx, static_cast<double>(xv[r * 7 + k]));
    for (size_t k = 0; k < 7; ++k) s += std::exp(xv[r * 7 + k] - mx);
    for (size_t k = 0; k < 7; ++k) expected[r * 7 + k] = std::exp(xv[r * 7 + k] - mx) / s;
  }
  EXPECT_TRUE(all_close(softmax_last(x).to_vector<float>(), expected, 1e-6, 1e-5));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& in) { return softmax_last(in[0]); }, {x}));
}

TEST_P(LayoutTest, ArgmaxAndOneHot) {
  // Row 1 ties between columns 0 and 2: the lowest index wins.
  const Tensor x =
      Tensor::from_vector<float>({0.1f, 0.5f, -1.0f, 2.0f, 1.0f, 2.0f, -3.0f, -2.0f, -2.5f}, {3, 3}, device());
  const Tensor index = argmax_last(x);
  EXPECT_EQ(index.to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(one_hot(index, 4).to_vector<float>(), (std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(one_hot(index, 4).shape(), Shape({3, 4}));
  EXPECT_LVK_ERROR(one_hot(x, 3), "one_hot");
  EXPECT_LVK_ERROR(one_hot(index, 0), "one_hot: k=0");
  EXPECT_LVK_ERROR(argmax_last(Tensor::zeros({2, 0}, DType::f32, device())), "argmax_last: K=0");
}

TEST(Layout, OneHotRejectsOutOfRangeIndicesOnTheCpu) {
  const Tensor index = Tensor::from_vector<int32_t>({0, 3}, {2});
  EXPECT_LVK_ERROR(one_hot(index, 3), "index[1]=3 is outside [0, 3)");
}

TEST(Layout, CodeStatistics) {
  const Tensor index = Tensor::from_vector<int32_t>({0, 0, 1, 3}, {2, 2});
  const std::vector<int64_t> counts = code_counts(index, 5);
  EXPECT_EQ(counts, (std::vector<int64_t>{2, 1, 0, 1, 0}));
  EXPECT_NEAR(counts_perplexity(counts), std::exp(-(0.5 * std::log(0.5) + 2 * 0.25 * std::log(0.25))), 1e-12);
  EXPECT_DOUBLE_EQ(counts_usage(counts), 0.6);
  EXPECT_DOUBLE_EQ(counts_perplexity({4, 4, 4, 4}), 4.0);
  EXPECT_DOUBLE_EQ(counts_perplexity({0, 0}), 0.0);
  EXPECT_LVK_ERROR(code_counts(index, 3), "index[3]=3 is outside [0, 3)");
}

LVK_INSTANTIATE_BACKENDS(LayoutTest);

}  // namespace
}  // namespace lvk::test
