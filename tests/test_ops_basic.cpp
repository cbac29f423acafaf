// The foundation's ops on every backend against naive double-precision loops written here.
#include <cmath>

#include "runtime/ops/basic.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class BasicOps : public BackendTest {};

// Sizes that straddle block and vector boundaries (0, 1, 255/256/257, a prime, > one grid).
const int64_t kSizes[] = {0, 1, 255, 256, 257, 4099, 1 << 20};

TEST_P(BasicOps, ElementwiseMatchNaiveLoops) {
  for (int64_t n : kSizes) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<float> av = random_values(n, 1), bv = random_values(n, 2);
    Tensor a = Tensor::from_vector(av, {n}, device()), b = Tensor::from_vector(bv, {n}, device());
    std::vector<double> sum_ref(n), diff_ref(n), prod_ref(n), scaled_ref(n);
    for (int64_t i = 0; i < n; ++i) {
      sum_ref[i] = double(av[i]) + bv[i];
      diff_ref[i] = double(av[i]) - bv[i];
      prod_ref[i] = double(av[i]) * bv[i];
      scaled_ref[i] = -2.5 * av[i];
    }
    EXPECT_TRUE(all_close(add(a, b).to_vector<float>(), sum_ref, 0, 1e-7));
    EXPECT_TRUE(all_close(sub(a, b).to_vector<float>(), diff_ref, 0, 1e-7));
    EXPECT_TRUE(all_close(mul(a, b).to_vector<float>(), prod_ref, 0, 1e-7));
    EXPECT_TRUE(all_close(scale(a, -2.5f).to_vector<float>(), scaled_ref, 0, 1e-7));
    Tensor acc = a.clone();
    accumulate_into(acc, b, 0.5f);
    std::vector<double> acc_ref(n);
    for (int64_t i = 0; i < n; ++i) acc_ref[i] = av[i] + 0.5 * bv[i];
    EXPECT_TRUE(all_close(acc.to_vector<float>(), acc_ref, 1e-7, 1e-6));
  }
}

TEST_P(BasicOps, SumAndMeanMatchDoubleAccumulation) {
  for (int64_t n : kSizes) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<float> v = random_values(n, 3, 0.0f, 1.0f);
    Tensor x = Tensor::from_vector(v, {n}, device());
    double ref = 0;
    for (float f : v) ref += f;
    const Tensor s = sum(x);
    EXPECT_EQ(s.rank(), 0);
    EXPECT_NEAR(s.item(), ref, 1e-6 * std::max(1.0, ref));
    if (n > 0) {
      EXPECT_NEAR(mean(x).item(), ref / n, 1e-6);
    }
  }
  EXPECT_LVK_ERROR(mean(Tensor::zeros({0, 4}, DType::f32, device())), "mean of an empty tensor");
}

TEST_P(BasicOps, CountsNonFiniteValues) {
  std::vector<float> v = random_values(5000, 20);
  Tensor clean = Tensor::from_vector(v, {50, 100}, device());
  EXPECT_EQ(count_nonfinite(clean), 0);
  check_finite("test", "clean", clean);
  v[7] = NAN, v[4999] = INFINITY, v[2500] = -INFINITY;
  Tensor dirty = Tensor::from_vector(v, {50, 100}, device());
  EXPECT_EQ(count_nonfinite(dirty), 3);
  EXPECT_LVK_ERROR(check_finite("flow", "z", dirty), "flow: z has 3 non-finite values (NaN or Inf) in f32[50, 100]");
  EXPECT_EQ(count_nonfinite(Tensor::zeros({0}, DType::f32, device())), 0);
}

TEST_P(BasicOps, SumIsRunToRunDeterministic) {
  Tensor x = uniform({3 << 20}, 9, 0, device());
  const float first = sum(x).item();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(sum(x).item(), first);
}

TEST_P(BasicOps, MatmulMatchesNaiveProductForEveryTransposeCombination) {
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 1, 130}, {0, 4, 3}, {4, 3, 0}};
  for (const auto& mnk : shapes) {
    const int64_t m = mnk[0], n = mnk[1], k = mnk[2];
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        SCOPED_TRACE(::testing::Message() << "m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb);
        const std::vector<float> av = random_values(m * k, 4), bv = random_values(k * n, 5);
        Tensor a = Tensor::from_vector(av, ta ? Shape{k, m} : Shape{m, k}, device());
        Tensor b = Tensor::from_vector(bv, tb ? Shape{n, k} : Shape{k, n}, device());
        std::vector<double> ref(m * n, 0.0);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j)
            for (int64_t p = 0; p < k; ++p)
              ref[i * n + j] += double(ta ? av[p * m + i] : av[i * k + p]) * (tb ? bv[j * k + p] : bv[p * n + j]);
        Tensor c = matmul(a, b, ta, tb);
        EXPECT_EQ(c.shape(), (Shape{m, n}));
        EXPECT_TRUE(all_close(c.to_vector<float>(), ref, 1e-5, 1e-5));
      }
  }
}

TEST_P(BasicOps, RejectsMismatchedOperands) {
  Tensor a = Tensor::zeros({2, 3}, DType::f32, device()), b = Tensor::zeros({3, 2}, DType::f32, device());
  EXPECT_LVK_ERROR(add(a, b), "add: shape mismatch, [2, 3] vs [3, 2]");
  EXPECT_LVK_ERROR(mul(a, Tensor::zeros({2, 3}, DType::i32, device())), "mul: b must be f32, got i32[2, 3]");
  EXPECT_LVK_ERROR(matmul(a, a), "matmul: inner dimensions differ, a is [2, 3] and b is [2, 3] (3 vs 2)");
  EXPECT_LVK_ERROR(matmul(a, Tensor::zeros({3}, DType::f32, device())), "matmul: b must have rank 2");
  EXPECT_LVK_ERROR(add(a, Tensor()), "add: b is an undefined tensor");
  if (device().is_cuda()) EXPECT_LVK_ERROR(add(a, a.to(Device::cpu())), "add: device mismatch");
}

LVK_INSTANTIATE_BACKENDS(BasicOps);

}  // namespace
}  // namespace lvk::test
