// categorical_nll: against a naive double reference on both backends, gradients by central
// differences, extreme logits, CUDA against the CPU twin, bad inputs.
#include <cmath>
#include <limits>

#include "runtime/ops/basic.h"
#include "runtime/ops/categorical_nll.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

// -log softmax(l)[t] per row, in double, by the definition (max-subtracted so it does not overflow).
std::vector<double> nll_reference(const std::vector<float>& logits, const std::vector<int32_t>& target, int64_t k) {
  std::vector<double> out;
  for (size_t r = 0; r < target.size(); ++r) {
    const float* l = logits.data() + r * static_cast<size_t>(k);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, static_cast<double>(l[j]));
    double s = 0.0;
    for (int64_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(l[j]) - mx);
    out.push_back(mx + std::log(s) - l[target[r]]);
  }
  return out;
}

std::vector<int32_t> targets(int64_t n, int64_t k, uint32_t seed) {
  std::vector<int32_t> t;
  const std::vector<float> u = random_values(static_cast<size_t>(n), seed, 0.0f, 1.0f);
  for (float v : u) t.push_back(std::min<int32_t>(static_cast<int32_t>(v * static_cast<float>(k)), k - 1));
  return t;
}

class CategoricalNll : public BackendTest {};

TEST_P(CategoricalNll, MatchesTheDoubleReference) {
  // K around the warp width and a large one; N = 0 is a no-op.
  for (int64_t k : {1, 2, 31, 32, 33, 97, 1000}) {
    for (int64_t n : {0, 1, 9}) {
      const Tensor logits = random_tensor({n, k}, 3 + static_cast<uint32_t>(k), device(), -4.0f, 4.0f);
      const std::vector<int32_t> t = targets(n, k, 7);
      const Tensor nll = categorical_nll(logits, Tensor::from_vector(t, {n}, device()));
      ASSERT_EQ(nll.shape(), Shape({n}));
      EXPECT_TRUE(all_close(nll.to_vector<float>(), nll_reference(logits.to_vector<float>(), t, k), 1e-5, 1e-5))
          << "N=" << n << " K=" << k;
    }
  }
}

TEST_P(CategoricalNll, GradientsMatchFiniteDifferences) {
  const int64_t n = 5, k = 7;
  const Tensor target = Tensor::from_vector(targets(n, k, 11), {n}, device());
  EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& in) { return categorical_nll(in[0], target); },
                              {random_tensor({n, k}, 5, device(), -2.0f, 2.0f)}));
}

TEST_P(CategoricalNll, ExtremeLogitsStayFinite) {
  // A 1e4 spread: exp of the raw logits overflows, the max-subtracted form does not.
  const std::vector<float> l = {1e4f, 0.0f, -1e4f, 5e3f, 1e4f, 1e4f - 1.0f};
  Tensor logits = Tensor::from_vector(l, {2, 3}, device());
  logits.set_requires_grad(true);
  const std::vector<int32_t> t = {2, 0};
  Tape tape;
  Tensor nll, total;
  {
    TapeRecording rec(tape);
    nll = categorical_nll(logits, Tensor::from_vector(t, {2}, device()));
    total = sum(nll);
  }
  tape.backward(total);
  const std::vector<float> v = nll.to_vector<float>();
  EXPECT_NEAR(v[0], 2e4, 1.0);  // -log softmax: the gap to the max
  EXPECT_NEAR(v[1], 5e3 + std::log1p(std::exp(-1.0)), 1e-2);
  for (float g : logits.grad().to_vector<float>()) EXPECT_TRUE(std::isfinite(g));
}

TEST_P(CategoricalNll, MaskedLogitsHaveNoProbability) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor logits = Tensor::from_vector(std::vector<float>{-inf, 0.0f, 0.0f, -inf, 1.0f, 2.0f}, {2, 3}, device());
  const std::vector<float> v =
      categorical_nll(logits, Tensor::from_vector(std::vector<int32_t>{1, 0}, {2}, device())).to_vector<float>();
  EXPECT_NEAR(v[0], std::log(2.0), 1e-6);
  EXPECT_EQ(v[1], inf);
}

TEST_P(CategoricalNll, BadInputsAreErrors) {
  const Tensor logits = random_tensor({4, 3}, 1, device());
  const Tensor target = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0}, {4}, device());
  EXPECT_LVK_ERROR(categorical_nll(random_tensor({4, 3, 1}, 1, device()), target), "logits must be [N, K]");
  EXPECT_LVK_ERROR(categorical_nll(logits, Tensor::from_vector(std::vector<int32_t>{0, 1, 2}, {3}, device())),
                   "target must be [N] = [4]");
  EXPECT_LVK_ERROR(categorical_nll(logits, random_tensor({4}, 2, device())), "categorical_nll");
  EXPECT_LVK_ERROR(categorical_nll(Tensor::zeros({4, 3}, DType::i32, device()), target), "categorical_nll");
  EXPECT_LVK_ERROR(categorical_nll(logits, Tensor()), "undefined");
}

LVK_INSTANTIATE_BACKENDS(CategoricalNll);

TEST(CategoricalNllCpu, TargetOutsideTheRowIsAnError) {
  const Tensor logits = random_tensor({2, 3}, 1, Device::cpu());
  EXPECT_LVK_ERROR(categorical_nll(logits, Tensor::from_vector(std::vector<int32_t>{0, 3}, {2})),
                   "target[1]=3 is outside [0, 3)");
  EXPECT_LVK_ERROR(categorical_nll(logits, Tensor::from_vector(std::vector<int32_t>{-1, 0}, {2})), "target[0]=-1");
}

// A target outside [0, K) is not checked on the device: its row reads NaN, the others are intact.
// (The CUDA twin's agreement with the CPU one is the op table's categorical_nll row.)
TEST(CategoricalNllCuda, MarksBadTargetsWithNaN) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  const int64_t n = 40, k = 513;
  const Tensor logits = random_tensor({n, k}, 9, Device::cpu(), -6.0f, 6.0f);
  std::vector<int32_t> t = targets(n, k, 13);
  const Tensor cpu = categorical_nll(logits, Tensor::from_vector(t, {n}));
  t[5] = static_cast<int32_t>(k);
  t[6] = -1;
  const std::vector<float> v =
      categorical_nll(logits.to(Device::cuda(0)), Tensor::from_vector(t, {n}, Device::cuda(0))).to_vector<float>();
  EXPECT_TRUE(std::isnan(v[5]));
  EXPECT_TRUE(std::isnan(v[6]));
  EXPECT_FLOAT_EQ(v[7], cpu.to_vector<float>()[7]);
}

}  // namespace
}  // namespace lvk::test
