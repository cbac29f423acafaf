// Gumbel-softmax: forward against a naive double-precision reference that redraws the noise from
// the documented layout, the Gumbel-max theorem by a chi-square test, gradients by central
// differences with the noise held fixed, edge and bad inputs, CUDA against the CPU twin.
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/philox.h"
#include "kernels/gumbel.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gumbel.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

constexpr double kInfD = std::numeric_limits<double>::infinity();
constexpr float kInfF = std::numeric_limits<float>::infinity();

struct GumbelRef {
  std::vector<double> y, y_soft, kl;
  std::vector<int32_t> index;
};

// Naive reference in double: row n, column k uses uniform draw 4*n*ceil(K/4) + k of (seed, offset).
GumbelRef gumbel_reference(const std::vector<float>& logits, int64_t n, int64_t k, double tau, uint64_t seed,
                           uint64_t offset, bool hard) {
  GumbelRef r;
  const uint64_t stride = 4 * static_cast<uint64_t>((k + 3) / 4);
  for (int64_t row = 0; row < n; ++row) {
    const float* l = logits.data() + row * k;
    double mx = -kInfD;
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, static_cast<double>(l[j]));
    if (mx == -kInfD) {
      for (int64_t j = 0; j < k; ++j) r.y.push_back(0.0), r.y_soft.push_back(0.0);
      r.index.push_back(-1);
      r.kl.push_back(0.0);
      continue;
    }
    std::vector<double> v(k), q(k);
    int64_t best = 0;
    double zq = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double u = philox_uniform(seed, offset, stride * row + j);
      v[j] = (l[j] - mx - std::log(-std::log(u))) / tau;
      if (v[j] > v[best]) best = j;
      q[j] = std::exp(l[j] - mx);
      zq += q[j];
    }
    double zv = 0.0;
    for (int64_t j = 0; j < k; ++j) zv += std::exp(v[j] - v[best]);
    double kl = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double soft = std::exp(v[j] - v[best]) / zv;
      r.y_soft.push_back(soft);
      r.y.push_back(hard ? (j == best ? 1.0 : 0.0) : soft);
      const double p = q[j] / zq;
      if (p > 0.0) kl += p * std::log(p * static_cast<double>(k));
    }
    r.index.push_back(static_cast<int32_t>(best));
    r.kl.push_back(kl);
  }
  return r;
}

std::vector<float> to_float(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

class GumbelSoftmaxTest : public BackendTest {};

TEST_P(GumbelSoftmaxTest, MatchesNaiveDoubleReference) {
  // K around the kernel's tiles: sub-warp groups (<= 64), warp (<= 1024), block (<= 16384).
  for (int64_t k :
       {1, 2, 3, 4, 5, 16, 17, 31, 64, 65, 127, 128, 129, 257, 1023, 1024, 1025, 2053, 4096, 16384, 16385, 20011}) {
    for (int64_t n : {1, 3, 13}) {
      if (k >= 4096 && n > 3) continue;  // keep the suite fast
      for (bool hard : {false, true}) {
        SCOPED_TRACE("N=" + std::to_string(n) + " K=" + std::to_string(k) + (hard ? " hard" : " soft"));
        const std::vector<float> l = random_values(n * k, 7u + static_cast<uint32_t>(k), -3.0f, 3.0f);
        GumbelSoftmaxOptions opt;
        opt.tau = 0.7f, opt.hard = hard, opt.seed = 1234 + k, opt.offset = 5;
        const GumbelSoftmaxResult r = gumbel_softmax(Tensor::from_vector(l, {n, k}, device()), opt);
        const GumbelRef ref = gumbel_reference(l, n, k, opt.tau, opt.seed, opt.offset, hard);
        EXPECT_TRUE(all_close(r.y.to_vector<float>(), ref.y, 2e-6, 1e-4));
        // f32 sums over K terms on the GPU (the CPU twin sums in double): KL = log K - H cancels.
        EXPECT_TRUE(all_close(r.kl.to_vector<float>(), ref.kl, device().is_cuda() ? 1e-4 : 2e-5, 1e-4));
        EXPECT_EQ(r.index.to_vector<int32_t>(), ref.index);
        EXPECT_EQ(r.y.shape(), Shape({n, k}));
        EXPECT_EQ(r.index.shape(), Shape({n}));
      }
    }
  }
}

TEST_P(GumbelSoftmaxTest, RowsSumToOneAndHardIsOneHotAtTheIndex) {
  const int64_t n = 37, k = 300;
  const Tensor logits = random_tensor({n, k}, 3u, device(), -5.0f, 5.0f);
  GumbelSoftmaxOptions opt;
  opt.tau = 0.3f, opt.seed = 99;
  const GumbelSoftmaxResult soft = gumbel_softmax(logits, opt);
  opt.hard = true;
  const GumbelSoftmaxResult hard = gumbel_softmax(logits, opt);
  const std::vector<float> ys = soft.y.to_vector<float>(), yh = hard.y.to_vector<float>();
  const std::vector<int32_t> is = soft.index.to_vector<int32_t>(), ih = hard.index.to_vector<int32_t>();
  EXPECT_EQ(is, ih);  // the same noise: the hard sample is the soft sample's argmax
  for (int64_t r = 0; r < n; ++r) {
    double total = 0.0;
    int64_t best = 0;
    for (int64_t j = 0; j < k; ++j) {
      total += ys[r * k + j];
      if (ys[r * k + j] > ys[r * k + best]) best = j;
      EXPECT_EQ(yh[r * k + j], j == ih[r] ? 1.0f : 0.0f) << "row " << r << " column " << j;
    }
    EXPECT_NEAR(total, 1.0, 1e-5) << "row " << r;
    EXPECT_EQ(best, is[r]) << "row " << r;
  }
  EXPECT_TRUE(all_close(hard.kl, soft.kl, 0.0, 0.0));
}

TEST_P(GumbelSoftmaxTest, SameSeedSameSampleOtherOffsetOtherSample) {
  const Tensor logits = random_tensor({8, 50}, 4u, device());
  GumbelSoftmaxOptions opt;
  opt.seed = 5, opt.offset = 10;
  const Tensor a = gumbel_softmax(logits, opt).y, b = gumbel_softmax(logits, opt).y;
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  opt.offset = 11;
  EXPECT_NE(a.to_vector<float>(), gumbel_softmax(logits, opt).y.to_vector<float>());
}

// Gumbel-max theorem: argmax(l + g) ~ Categorical(softmax(l)). Each row draws its own noise, so
// N identical rows are N independent draws. Pearson chi-square with K-1 degrees of freedom,
// rejected at significance 0.001 (fixed seed, so the outcome is deterministic).
void chi_square_gumbel_max(Device device, const std::vector<float>& logits, int64_t draws, double critical) {
  const int64_t k = static_cast<int64_t>(logits.size());
  std::vector<float> rows(static_cast<size_t>(draws * k));
  for (int64_t r = 0; r < draws; ++r) std::copy(logits.begin(), logits.end(), rows.begin() + r * k);
  GumbelSoftmaxOptions opt;
  opt.tau = 0.5f, opt.hard = true, opt.seed = 20260101;
  const std::vector<int32_t> idx =
      gumbel_softmax(Tensor::from_vector(rows, {draws, k}, device), opt).index.to_vector<int32_t>();
  std::vector<double> count(k, 0.0), p(k);
  for (int32_t i : idx) {
    ASSERT_TRUE(i >= 0 && i < k) << i;
    count[i] += 1.0;
  }
  double z = 0.0;
  for (int64_t j = 0; j < k; ++j) z += std::exp(static_cast<double>(logits[j]));
  double chi2 = 0.0;
  for (int64_t j = 0; j < k; ++j) {
    const double expected = draws * std::exp(static_cast<double>(logits[j])) / z;
    ASSERT_GE(expected, 5.0) << "the test needs >= 5 expected counts per category";
    chi2 += (count[j] - expected) * (count[j] - expected) / expected;
  }
  EXPECT_LT(chi2, critical) << "argmax frequencies disagree with softmax(logits) at significance 0.001 (K=" << k << ", "
                            << draws << " draws)";
}

TEST_P(GumbelSoftmaxTest, GumbelMaxTheoremChiSquare) {
  chi_square_gumbel_max(device(), {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -0.5f}, 60000, 20.515);  // chi2(5), p = 0.001
  std::vector<float> l37 = random_values(37, 11u, -1.5f, 1.5f);
  chi_square_gumbel_max(device(), l37, 100000, 67.985);  // chi2(36), p = 0.001
}

TEST_P(GumbelSoftmaxTest, ChiSquareDetectsAWrongDistribution) {
  // The statistic must be able to fail: frequencies of softmax(l) tested against softmax(1.2*l).
  const std::vector<float> l = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -0.5f};
  const int64_t draws = 60000, k = 6;
  std::vector<float> rows(draws * k);
  for (int64_t r = 0; r < draws; ++r) std::copy(l.begin(), l.end(), rows.begin() + r * k);
  GumbelSoftmaxOptions opt;
  opt.seed = 20260101;
  const std::vector<int32_t> idx =
      gumbel_softmax(Tensor::from_vector(rows, {draws, k}, device()), opt).index.to_vector<int32_t>();
  std::vector<double> count(k, 0.0);
  for (int32_t i : idx) count[i] += 1.0;
  double z = 0.0, chi2 = 0.0;
  for (float x : l) z += std::exp(1.2 * x);
  for (int64_t j = 0; j < k; ++j) {
    const double e = draws * std::exp(1.2 * l[j]) / z;
    chi2 += (count[j] - e) * (count[j] - e) / e;
  }
  EXPECT_GT(chi2, 20.515);
}

TEST_P(GumbelSoftmaxTest, GradientsOfSoftSampleAndKl) {
  GumbelSoftmaxOptions opt;
  opt.tau = 0.7f, opt.seed = 42, opt.offset = 3;
  for (int64_t k : {1, 2, 5, 33}) {
    SCOPED_TRACE("K=" + std::to_string(k));
    const Tensor logits = random_tensor({3, k}, 21u, device(), -2.0f, 2.0f);
    EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& x) { return gumbel_softmax(x[0], opt).y; }, {logits}));
    EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& x) { return gumbel_softmax(x[0], opt).kl; }, {logits}));
    const Tensor w = random_tensor({3, k}, 22u, device());
    // Both outputs at once: L = sum(y * w) + sum(kl).
    EXPECT_TRUE(check_gradients(
        [&](const std::vector<Tensor>& x) {
          const GumbelSoftmaxResult r = gumbel_softmax(x[0], opt);
          return add(sum(mul(r.y, w)), sum(r.kl));
        },
        {logits}));
  }
}

// The straight-through estimator: the hard sample's gradient is the soft sample's.
TEST_P(GumbelSoftmaxTest, HardGradientEqualsSoftGradient) {
  const Tensor logits = random_tensor({6, 19}, 31u, device(), -2.0f, 2.0f);
  const Tensor seed_grad = random_tensor({6, 19}, 32u, device());
  std::vector<float> grads[2];
  for (int hard = 0; hard < 2; ++hard) {
    Tensor x = logits.clone();
    x.set_requires_grad(true);
    Tape tape;
    Tensor y;
    {
      TapeRecording rec(tape);
      GumbelSoftmaxOptions opt;
      opt.tau = 0.5f, opt.hard = hard != 0, opt.seed = 8;
      y = gumbel_softmax(x, opt).y;
    }
    tape.backward(y, seed_grad);
    grads[hard] = x.grad().to_vector<float>();
  }
  EXPECT_EQ(grads[0], grads[1]);
  EXPECT_NE(grads[0], std::vector<float>(grads[0].size(), 0.0f));
}

// Central differences of L = sum(y*w) + sum(kl) over the finite logits only (-inf stays masked).
TEST_P(GumbelSoftmaxTest, MaskedEntriesGiveFiniteOutputsAndZeroGradients) {
  const int64_t n = 3, k = 7;
  std::vector<float> l = random_values(n * k, 41u, -1.0f, 1.0f);
  l[1] = l[5] = l[7 + 0] = l[7 + 6] = -kInfF;
  for (int64_t j = 0; j < k; ++j) l[2 * k + j] = -kInfF;  // a fully masked row
  const std::vector<float> w = random_values(n * k, 42u);
  GumbelSoftmaxOptions opt;
  opt.tau = 0.6f, opt.seed = 17;
  auto loss = [&](const std::vector<float>& v) {
    const GumbelSoftmaxResult r = gumbel_softmax(Tensor::from_vector(v, {n, k}, device()), opt);
    const std::vector<float> y = r.y.to_vector<float>(), kl = r.kl.to_vector<float>();
    double acc = 0.0;
    for (size_t i = 0; i < y.size(); ++i) acc += static_cast<double>(y[i]) * w[i];
    for (float x : kl) acc += x;
    return acc;
  };
  Tensor x = Tensor::from_vector(l, {n, k}, device());
  x.set_requires_grad(true);
  Tape tape;
  Tensor total;
  GumbelSoftmaxResult r;
  {
    TapeRecording rec(tape);
    r = gumbel_softmax(x, opt);
    total = add(sum(mul(r.y, Tensor::from_vector(w, {n, k}, device()))), sum(r.kl));
  }
  for (float v : r.y.to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
  for (float v : r.kl.to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(r.index.to_vector<int32_t>()[2], -1);
  tape.backward(total);
  const std::vector<float> g = x.grad().to_vector<float>();
  const std::vector<float> y = r.y.to_vector<float>();
  for (size_t i = 0; i < l.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << i;
    if (l[i] == -kInfF) {
      EXPECT_EQ(g[i], 0.0f) << i;
      EXPECT_EQ(y[i], 0.0f) << i;
      continue;
    }
    std::vector<float> up = l, down = l;
    const float h = 1e-3f;
    up[i] += h, down[i] -= h;
    const double numeric = (loss(up) - loss(down)) / (static_cast<double>(up[i]) - down[i]);
    EXPECT_NEAR(g[i], numeric, 2e-3 + 2e-3 * std::fabs(numeric)) << "element " << i;
  }
}

TEST_P(GumbelSoftmaxTest, ExtremeLogitsAndTemperaturesStayFinite) {
  const int64_t n = 4, k = 70;
  std::vector<float> l = random_values(n * k, 51u, -1.0f, 1.0f);
  for (size_t i = 0; i < l.size(); ++i) l[i] = (i % 3 == 0) ? 1e4f : (i % 3 == 1 ? -1e4f : l[i] * 1e4f);
  l[5] = -kInfF;
  for (float tau : {1e-3f, 0.1f, 1.0f, 100.0f}) {
    for (bool hard : {false, true}) {
      Tensor x = Tensor::from_vector(l, {n, k}, device());
      x.set_requires_grad(true);
      Tape tape;
      Tensor total;
      GumbelSoftmaxResult r;
      {
        TapeRecording rec(tape);
        GumbelSoftmaxOptions opt;
        opt.tau = tau, opt.hard = hard, opt.seed = 3;
        r = gumbel_softmax(x, opt);
        total = add(sum(mul(r.y, random_tensor({n, k}, 52u, device()))), sum(r.kl));
      }
      tape.backward(total);
      const std::vector<float> y = r.y.to_vector<float>();
      for (float v : y) ASSERT_TRUE(std::isfinite(v)) << "tau " << tau;
      for (float v : r.kl.to_vector<float>()) ASSERT_TRUE(std::isfinite(v) && v >= -1e-4f) << "tau " << tau;
      for (float v : x.grad().to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << "tau " << tau;
      for (int64_t row = 0; row < n; ++row) {
        double s = 0.0;
        for (int64_t j = 0; j < k; ++j) s += y[row * k + j];
        EXPECT_NEAR(s, 1.0, 1e-5) << "tau " << tau << " row " << row;
      }
    }
  }
}

TEST_P(GumbelSoftmaxTest, EmptyAndHigherRankInputs) {
  GumbelSoftmaxOptions opt;
  const GumbelSoftmaxResult empty = gumbel_softmax(Tensor::zeros({0, 5}, DType::f32, device()), opt);
  EXPECT_EQ(empty.y.shape(), Shape({0, 5}));
  EXPECT_EQ(empty.kl.shape(), Shape({0}));
  // [B, H, W, K]: rows are latent positions; the same as the flattened [B*H*W, K].
  const Tensor l = random_tensor({2, 3, 2, 9}, 61u, device());
  const GumbelSoftmaxResult a = gumbel_softmax(l, opt), b = gumbel_softmax(l.view({12, 9}), opt);
  EXPECT_EQ(a.index.shape(), Shape({2, 3, 2}));
  EXPECT_EQ(a.y.to_vector<float>(), b.y.to_vector<float>());
}

TEST_P(GumbelSoftmaxTest, BadInputsNameTheOpAndTheValue) {
  const Tensor l = random_tensor({2, 4}, 71u, device());
  auto expect_error = [&](const Tensor& x, float tau, const std::string& what) {
    GumbelSoftmaxOptions opt;
    opt.tau = tau;
    try {
      gumbel_softmax(x, opt);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("gumbel_softmax"), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  };
  expect_error(l, 0.0f, "tau=0");
  expect_error(l, -1.0f, "tau=-1");
  expect_error(l, std::numeric_limits<float>::quiet_NaN(), "tau=nan");
  expect_error(l, kInfF, "tau=inf");
  expect_error(Tensor::zeros({3, 0}, DType::f32, device()), 1.0f, "K=0");
  expect_error(Tensor::zeros({2, 4}, DType::i32, device()), 1.0f, "i32");
  EXPECT_THROW(gumbel_softmax(Tensor(), GumbelSoftmaxOptions{}), Error);
}

TEST_P(GumbelSoftmaxTest, UnfusedCompositionAgrees) {
  // noise, add, scale, softmax, argmax, one-hot as separate passes: the benchmark's baseline.
  const int64_t n = 9, k = 1500;
  const Tensor l = random_tensor({n, k}, 81u, device(), -2.0f, 2.0f);
  GumbelSoftmaxOptions opt;
  opt.tau = 0.8f, opt.seed = 4, opt.offset = 2;
  Tensor g = Tensor::empty({n, k}, DType::f32, device()), y = Tensor::empty({n, k}, DType::f32, device());
  Tensor idx = Tensor::empty({n}, DType::i32, device()), hot = Tensor::empty({n, k}, DType::f32, device());
  LVK_DISPATCH(device(), gumbel_noise, g.data<float>(), n, k, opt.seed, opt.offset);
  const Tensor v = scale(add(l, g), 1.0f / opt.tau);
  LVK_DISPATCH(device(), softmax_rows, y.data<float>(), v.data<float>(), n, k);
  LVK_DISPATCH(device(), argmax_rows, idx.data<int32_t>(), v.data<float>(), n, k);
  LVK_DISPATCH(device(), one_hot, hot.data<float>(), idx.data<int32_t>(), n, k);
  EXPECT_TRUE(all_close(y, gumbel_softmax(l, opt).y, 1e-6, 1e-4));
  opt.hard = true;
  const GumbelSoftmaxResult h = gumbel_softmax(l, opt);
  EXPECT_EQ(idx.to_vector<int32_t>(), h.index.to_vector<int32_t>());
  EXPECT_EQ(hot.to_vector<float>(), h.y.to_vector<float>());
  // The unfused softmax backward, scaled by 1/tau, is the fused backward.
  const Tensor dy = random_tensor({n, k}, 82u, device());
  Tensor dx = Tensor::empty({n, k}, DType::f32, device()), fused = Tensor::empty({n, k}, DType::f32, device());
  LVK_DISPATCH(device(), softmax_rows_backward, dx.data<float>(), dy.data<float>(), y.data<float>(), n, k);
  LVK_DISPATCH(device(), gumbel_softmax_backward, fused.data<float>(), dy.data<float>(), y.data<float>(), nullptr,
               l.data<float>(), n, k, opt.tau, kernels::GumbelDeviceArgs{});
  EXPECT_TRUE(all_close(fused, scale(dx, 1.0f / opt.tau), 1e-6, 1e-4));
}

LVK_INSTANTIATE_BACKENDS(GumbelSoftmaxTest);

// Beyond the op table (tests/backend_ops), whose rows vary N at a fixed K: every CUDA path in K.
// The same seed gives the same sample on both devices: identical uniforms (checked bit for bit
// through lvk::uniform), Gumbel noise and outputs within a few ulp, identical indices.
TEST(GumbelSoftmaxCudaTest, MatchesCpuTwin) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda());
  EXPECT_EQ(uniform({4099}, 7, 3, Device::cuda()).to_vector<float>(), uniform({4099}, 7, 3).to_vector<float>());
  // Every CUDA configuration: sub-warp groups, a warp, blocks, and the streaming kernel past 16384.
  for (int64_t k : {3, 8, 17, 64, 100, 1024, 1031, 2048, 5000, 8191, 16384, 16385, 40001}) {
    for (bool hard : {false, true}) {
      SCOPED_TRACE("K=" + std::to_string(k));
      const int64_t n = k > 2000 ? 5 : 67;
      const Tensor l = random_tensor({n, k}, 91u, Device::cpu(), -4.0f, 4.0f);
      GumbelSoftmaxOptions opt;
      opt.tau = 0.4f, opt.hard = hard, opt.seed = 77, opt.offset = 9;
      const GumbelSoftmaxResult c = gumbel_softmax(l, opt), g = gumbel_softmax(l.to(Device::cuda()), opt);
      EXPECT_TRUE(all_close(g.y.to(Device::cpu()), c.y, 1e-6, 1e-4));
      EXPECT_TRUE(all_close(g.kl.to(Device::cpu()), c.kl, 1e-4, 1e-4));
      EXPECT_EQ(g.index.to_vector<int32_t>(), c.index.to_vector<int32_t>());
      Tensor nc = Tensor::empty({n, k}), nd = Tensor::empty({n, k}, DType::f32, Device::cuda());
      kernels::cpu::gumbel_noise(nc.data<float>(), n, k, opt.seed, opt.offset);
      LVK_DISPATCH(Device::cuda(), gumbel_noise, nd.data<float>(), n, k, opt.seed, opt.offset);
      // -log(-log u): near g = 0 the inner log's last-ulp difference is absolute, not relative.
      EXPECT_TRUE(all_close(nd.to(Device::cpu()), nc, 2e-6, 1e-6));
    }
  }
}

TEST(SoftCodebookMixtureTest, ForwardAndGradients) {
  const int64_t n = 5, k = 7, c = 3;
  const std::vector<float> y = random_values(n * k, 101u, 0.0f, 1.0f), e = random_values(k * c, 102u);
  const Tensor z = soft_codebook_mixture(Tensor::from_vector(y, {n, k}), Tensor::from_vector(e, {k, c}));
  std::vector<double> ref(n * c, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t q = 0; q < k; ++q) ref[i * c + j] += static_cast<double>(y[i * k + q]) * e[q * c + j];
  EXPECT_TRUE(all_close(z.to_vector<float>(), ref, 1e-6, 1e-5));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return soft_codebook_mixture(x[0], x[1]); },
                              {Tensor::from_vector(y, {n, k}), Tensor::from_vector(e, {k, c})}));
  // The dVAE latent layer end to end: logits -> relaxed sample -> embedding.
  GumbelSoftmaxOptions opt;
  opt.tau = 0.9f, opt.seed = 6;
  EXPECT_TRUE(check_gradients(
      [&](const std::vector<Tensor>& x) { return soft_codebook_mixture(gumbel_softmax(x[0], opt).y, x[1]); },
      {random_tensor({n, k}, 103u, Device::cpu()), Tensor::from_vector(e, {k, c})}));
  try {
    soft_codebook_mixture(Tensor::zeros({n, k}), Tensor::zeros({k + 1, c}));
    ADD_FAILURE() << "no error for mismatched K";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("soft_codebook_mixture"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("K=7"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace lvk::test
