// code_conv2d, the PixelCNN's first layer over codes: the forward and the weight and bias gradients
// against the dense path (conv2d over one_hot with the masked weight) for masks A and B, kernels 3
// and 5, maps smaller than the kernel, odd K and batch 1; bit-identical repeats; bad inputs.
#include <algorithm>

#include "models/pixelcnn.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/code_conv.h"
#include "runtime/ops/layout.h"
#include "runtime/ops/nn_conv.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

struct Case {
  int64_t batch, h, w, codes, out, kernel;
  char type;
};

Tensor random_codes(const Case& c, uint32_t seed, Device device) {
  const std::vector<float> v = random_values(static_cast<size_t>(c.batch * c.h * c.w), seed, 0.0f, 1.0f);
  std::vector<int32_t> codes(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    codes[i] = std::min(static_cast<int32_t>(v[i] * static_cast<float>(c.codes)), static_cast<int32_t>(c.codes - 1));
  return Tensor::from_vector(codes, {c.batch, c.h, c.w}).to(device);
}

struct Result {
  std::vector<float> y, dw, db;
};

// The layer's output and the gradients of sum(y * g) for a fixed random g, by either path.
Result run(const Case& c, const Tensor& codes, bool gather, Device device) {
  InitStream init(7);  // the same weights for both paths
  const MaskedConv2d conv(c.codes, c.out, c.kernel, c.type, init, device);
  const Tensor g = random_tensor({c.batch, c.out, c.h, c.w}, 8, device);
  Tape tape;
  Tensor y, total;
  {
    TapeRecording rec(tape);
    y = gather ? conv.forward_codes(codes) : conv.forward(to_channels_first(one_hot(codes, c.codes)));
    total = sum(mul(y, g));
  }
  tape.backward(total);
  const ParameterList params = conv.parameters();  // weight, bias
  return {y.to_vector<float>(), params[0].second.grad().to_vector<float>(), params[1].second.grad().to_vector<float>()};
}

std::vector<double> as_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

class CodeConvTest : public BackendTest {};

TEST_P(CodeConvTest, MatchesTheDenseConvolutionOverOneHotCodes) {
  const Case cases[] = {
      {1, 1, 1, 5, 3, 3, 'A'},   // a single position: type A sees nothing but the bias
      {1, 4, 5, 7, 3, 3, 'B'},   // batch 1
      {2, 3, 2, 13, 4, 5, 'A'},  // a map smaller than the kernel: most taps fall in the padding
      {3, 6, 4, 11, 5, 5, 'B'}, {2, 5, 7, 37, 6, 5, 'A'},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "batch " << c.batch << ", map " << c.h << "x" << c.w << ", K " << c.codes
                                      << ", out " << c.out << ", kernel " << c.kernel << ", type " << c.type);
    const Tensor codes = random_codes(c, 3, device());
    const Result dense = run(c, codes, false, device());
    const Result gather = run(c, codes, true, device());
    EXPECT_TRUE(all_close(gather.y, as_double(dense.y), 1e-5, 1e-5)) << "forward";
    EXPECT_TRUE(all_close(gather.dw, as_double(dense.dw), 1e-5, 1e-5)) << "weight gradient";
    EXPECT_TRUE(all_close(gather.db, as_double(dense.db), 1e-5, 1e-5)) << "bias gradient";
    const Result again = run(c, codes, true, device());
    EXPECT_EQ(again.y, gather.y) << "the forward must repeat bit for bit";
    EXPECT_EQ(again.dw, gather.dw) << "the weight gradient must repeat bit for bit";
  }
}

TEST_P(CodeConvTest, UnmaskedWithoutBiasMatchesConv2d) {
  const Case c{2, 4, 3, 9, 2, 3, 'B'};
  const Tensor codes = random_codes(c, 5, device());
  const Tensor w = random_tensor({c.out, c.codes, 3, 3}, 6, device());
  const Tensor dense = conv2d(to_channels_first(one_hot(codes, c.codes)), w, Tensor(), Conv2dParams::make(1, 1));
  EXPECT_TRUE(all_close(code_conv2d(codes, w, Tensor(), 9), dense, 1e-5, 1e-5));
}

TEST_P(CodeConvTest, RejectsBadInputs) {
  const Tensor w = random_tensor({2, 4, 3, 3}, 9, device());
  const Tensor codes = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 3, 2}, {1, 2, 3}).to(device());
  EXPECT_LVK_ERROR(code_conv2d(codes.view({1, 6}), w, Tensor(), 4), "code_conv2d: codes");
  EXPECT_LVK_ERROR(code_conv2d(random_tensor({1, 2, 3}, 10, device()), w, Tensor(), 4), "code_conv2d: codes");
  EXPECT_LVK_ERROR(code_conv2d(codes, random_tensor({2, 4, 3, 2}, 11, device()), Tensor(), 4), "[2, 4, 3, 2]");
  EXPECT_LVK_ERROR(code_conv2d(codes, w, Tensor(), 0), "taps=0 must be in [1, 9]");
  EXPECT_LVK_ERROR(code_conv2d(codes, w, Tensor(), 10), "taps=10");
  EXPECT_LVK_ERROR(code_conv2d(codes, w, random_tensor({3}, 12, device()), 4), "expected [2]");
  if (device().is_cpu()) {  // the CUDA twin cannot check without a host read
    const Tensor bad = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 2}, {1, 2, 3});
    EXPECT_LVK_ERROR(code_conv2d(bad, w, Tensor(), 4), "codes[0, 1, 1]=4 is outside [0, 4)");
    const Tensor negative = Tensor::from_vector(std::vector<int32_t>{0, -1, 2, 3, 3, 2}, {1, 2, 3});
    EXPECT_LVK_ERROR(code_conv2d(negative, w, Tensor(), 4), "codes[0, 0, 1]=-1");
  }
}

LVK_INSTANTIATE_BACKENDS(CodeConvTest);

}  // namespace
}  // namespace lvk::test
