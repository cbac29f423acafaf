// Affine coupling: formulas against double loops, invertibility, log-det against a numerical
// Jacobian, gradients, masks, CPU vs CUDA, bad inputs.
#include <cmath>

#include "kernels/coupling_unfused.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/coupling.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class Coupling : public BackendTest {};

constexpr float kScale = 2.0f;

// Naive double reference of the forward direction.
void reference_forward(const std::vector<float>& x, const std::vector<float>& m, const std::vector<float>& sr,
                       const std::vector<float>& t, int64_t n, int64_t d, std::vector<double>& y,
                       std::vector<double>& logdet) {
  y.assign(n * d, 0.0);
  logdet.assign(n, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < d; ++j) {
      const int64_t i = r * d + j;
      const double s = kScale * std::tanh(double(sr[i]));
      y[i] = m[j] * x[i] + (1 - m[j]) * (x[i] * std::exp(s) + t[i]);
      logdet[r] += (1 - m[j]) * s;
    }
}

TEST_P(Coupling, ForwardMatchesDoubleLoopsForOddSizes) {
  const int64_t sizes[][2] = {{0, 3}, {1, 1}, {1, 2}, {7, 5}, {33, 31}, {5, 64}, {3, 130}, {300, 2}};
  for (const auto& nd : sizes) {
    const int64_t n = nd[0], d = nd[1];
    SCOPED_TRACE(::testing::Message() << "N=" << n << " D=" << d);
    const std::vector<float> x = random_values(n * d, 1, -2, 2), sr = random_values(n * d, 2, -2, 2),
                             t = random_values(n * d, 3);
    Tensor mask = coupling_mask(MaskKind::alternating, {d}, false, device());
    CouplingResult r =
        coupling_forward(Tensor::from_vector(x, {n, d}, device()), mask, Tensor::from_vector(sr, {n, d}, device()),
                         Tensor::from_vector(t, {n, d}, device()), kScale);
    std::vector<double> y, logdet;
    reference_forward(x, mask.to_vector<float>(), sr, t, n, d, y, logdet);
    EXPECT_TRUE(all_close(r.out.to_vector<float>(), y, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(r.logdet.to_vector<float>(), logdet, 1e-4, 1e-5));
  }
}

TEST_P(Coupling, InverseUndoesForward) {
  for (MaskKind kind : {MaskKind::alternating, MaskKind::half}) {
    const int64_t n = 17, d = 9;
    Tensor x = random_tensor({n, d}, 4, device(), -3, 3), sr = random_tensor({n, d}, 5, device(), -3, 3);
    Tensor t = random_tensor({n, d}, 6, device());
    Tensor mask = coupling_mask(kind, {d}, true, device());
    CouplingResult f = coupling_forward(x, mask, sr, t, kScale);
    CouplingResult b = coupling_inverse(f.out, mask, sr, t, kScale);
    EXPECT_TRUE(all_close(b.out, x, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(b.logdet, scale(f.logdet, -1.0f), 1e-6, 1e-6));
  }
}

TEST_P(Coupling, ImageShapedInputsUseChannelAndCheckerboardMasks) {
  Tensor x = random_tensor({2, 3, 4, 5}, 7, device()), sr = random_tensor({2, 3, 4, 5}, 8, device());
  Tensor t = random_tensor({2, 3, 4, 5}, 9, device());
  for (MaskKind kind : {MaskKind::checkerboard, MaskKind::channel}) {
    Tensor mask = coupling_mask(kind, {3, 4, 5}, false, device());
    CouplingResult f = coupling_forward(x, mask, sr, t, kScale);
    EXPECT_EQ(f.out.shape(), x.shape());
    EXPECT_EQ(f.logdet.shape(), (Shape{2}));
    EXPECT_TRUE(all_close(coupling_inverse(f.out, mask, sr, t, kScale).out, x, 1e-5, 1e-5));
  }
}

TEST_P(Coupling, GradientsMatchFiniteDifferences) {
  Tensor x = random_tensor({3, 5}, 10, device()), sr = random_tensor({3, 5}, 11, device());
  Tensor t = random_tensor({3, 5}, 12, device());
  Tensor mask = coupling_mask(MaskKind::alternating, {5}, false, device());
  for (bool inverse : {false, true}) {
    SCOPED_TRACE(inverse ? "inverse" : "forward");
    auto run = [&, inverse](const std::vector<Tensor>& in) {
      return inverse ? coupling_inverse(in[0], mask, in[1], in[2], kScale)
                     : coupling_forward(in[0], mask, in[1], in[2], kScale);
    };
    EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& in) { return run(in).out; }, {x, sr, t}));
    EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& in) { return run(in).logdet; }, {x, sr, t}));
    // Both outputs at once: the two gradient paths add up.
    EXPECT_TRUE(check_gradients(
        [&](const std::vector<Tensor>& in) {
          CouplingResult r = run(in);
          return add(sum(mul(r.out, r.out)), sum(r.logdet));
        },
        {x, sr, t}));
  }
}

// log|det J| reported by a coupling layer whose conditioner reads the masked input (so J is
// triangular, not diagonal) against LU of a finite-difference Jacobian in double.
TEST_P(Coupling, LogDetMatchesNumericalJacobian) {
  const int64_t d = 6;
  Tensor mask = coupling_mask(MaskKind::half, {d}, false, device());
  Tensor m = mask.view({1, d});
  Tensor w1 = random_tensor({d, d}, 13, device()), w2 = random_tensor({d, d}, 14, device());
  auto layer = [&](const Tensor& x) {
    Tensor xm = mul(x, m);
    return coupling_forward(x, mask, matmul(xm, w1), matmul(xm, w2), kScale);
  };
  const std::vector<float> x0 = random_values(d, 15);
  const double reported = layer(Tensor::from_vector(x0, {1, d}, device())).logdet.item();
  std::vector<double> jac(d * d);
  const double h = 1e-3;
  for (int64_t j = 0; j < d; ++j) {
    std::vector<float> xp = x0, xm = x0;
    xp[j] += static_cast<float>(h), xm[j] -= static_cast<float>(h);
    const std::vector<float> yp = layer(Tensor::from_vector(xp, {1, d}, device())).out.to_vector<float>();
    const std::vector<float> ym = layer(Tensor::from_vector(xm, {1, d}, device())).out.to_vector<float>();
    for (int64_t i = 0; i < d; ++i) jac[i * d + j] = (double(yp[i]) - ym[i]) / (double(xp[j]) - xm[j]);
  }
  double logdet = 0;  // LU with partial pivoting
  for (int64_t c = 0; c < d; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < d; ++r)
      if (std::fabs(jac[r * d + c]) > std::fabs(jac[p * d + c])) p = r;
    for (int64_t k = 0; k < d; ++k) std::swap(jac[c * d + k], jac[p * d + k]);
    logdet += std::log(std::fabs(jac[c * d + c]));
    for (int64_t r = c + 1; r < d; ++r) {
      const double f = jac[r * d + c] / jac[c * d + c];
      for (int64_t k = c; k < d; ++k) jac[r * d + k] -= f * jac[c * d + k];
    }
  }
  EXPECT_NEAR(reported, logdet, 2e-3);
}

TEST_P(Coupling, RejectsBadInputs) {
  Tensor x = Tensor::zeros({4, 6}, DType::f32, device());
  Tensor mask = coupling_mask(MaskKind::alternating, {6}, false, device());
  EXPECT_LVK_ERROR(coupling_forward(x, coupling_mask(MaskKind::alternating, {5}, false, device()), x, x, 1.0f),
                   "coupling_forward: mask has 5 elements but the input f32[4, 6]");
  EXPECT_LVK_ERROR(coupling_forward(x, mask, Tensor::zeros({4, 5}, DType::f32, device()), x, 1.0f),
                   "coupling_forward: shape mismatch, [4, 6] vs [4, 5]");
  EXPECT_LVK_ERROR(coupling_inverse(x, mask, x, x, 0.0f), "scale must be finite and > 0, got 0");
  EXPECT_LVK_ERROR(coupling_forward(x, mask, x, x, NAN), "scale must be finite");
  EXPECT_LVK_ERROR(coupling_forward(Tensor::zeros({6}, DType::f32, device()), mask, x, x, 1.0f), "must be [N, D]");
  EXPECT_LVK_ERROR(coupling_mask(MaskKind::checkerboard, {6}, false), "need [C, H, W]");
}

LVK_INSTANTIATE_BACKENDS(Coupling);

TEST(CouplingMask, PatternsAreRight) {
  EXPECT_EQ(coupling_mask(MaskKind::alternating, {5}, false).to_vector<float>(), (std::vector<float>{1, 0, 1, 0, 1}));
  EXPECT_EQ(coupling_mask(MaskKind::half, {5}, false).to_vector<float>(), (std::vector<float>{1, 1, 0, 0, 0}));
  EXPECT_EQ(coupling_mask(MaskKind::half, {5}, true).to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 1}));
  EXPECT_EQ(coupling_mask(MaskKind::checkerboard, {2, 2, 3}, false).to_vector<float>(),
            (std::vector<float>{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(coupling_mask(MaskKind::channel, {3, 1, 2}, false).to_vector<float>(),
            (std::vector<float>{1, 1, 0, 0, 0, 0}));
}

// The benchmark's unfused baseline must compute the same thing it is compared against.
TEST(CouplingUnfused, AgreesWithTheFusedKernel) {
  const int64_t n = 9, d = 13;
  Tensor x = random_tensor({n, d}, 30, Device::cpu()), sr = random_tensor({n, d}, 31, Device::cpu());
  Tensor t = random_tensor({n, d}, 32, Device::cpu());
  Tensor mask = coupling_mask(MaskKind::alternating, {d}, true);
  Tensor y = Tensor::empty({n, d}), logdet = Tensor::empty({n}), scratch = Tensor::empty({3, n, d});
  kernels::cpu::coupling_forward_unfused(y.data<float>(), logdet.data<float>(), x.data<float>(), mask.data<float>(),
                                         sr.data<float>(), t.data<float>(), kScale, n, d, scratch.data<float>());
  CouplingResult fused = coupling_forward(x, mask, sr, t, kScale);
  EXPECT_TRUE(all_close(y, fused.out, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(logdet, fused.logdet, 1e-5, 1e-5));
}

}  // namespace
}  // namespace lvk::test
