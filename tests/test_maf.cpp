// MADE and MAF: mask structure, causality by perturbation, the fused one-launch inverse against
// D-pass re-evaluation and against the density direction, log-det against a numerical Jacobian,
// gradients through the tape, CPU vs CUDA, bad input.
#include <cmath>

#include "models/maf.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

// Every parameter randomised (weights ~ U(-a, a), a = amplitude / sqrt(fan_in)), so no MAF layer is
// the identity and the zero-initialised heads are exercised.
void randomize(const Module& module, uint32_t seed, float amplitude = 1.0f) {
  uint32_t k = seed;
  for (auto& [name, p] : module.parameters()) {
    const float a = p.rank() == 2 ? amplitude / std::sqrt(float(p.dim(1))) : 0.3f * amplitude;
    const std::vector<float> v = random_values(static_cast<size_t>(p.numel()), ++k, -a, a);
    copy_bytes(p.raw(), p.device(), v.data(), Device::cpu(), p.bytes());
  }
}

Maf random_maf(MafOptions o, Device device, uint32_t seed) {
  InitStream init(seed);
  Maf flow(o, init, device);
  randomize(flow, seed);
  return flow;
}

// log |det J| of f at x by LU with partial pivoting of a central-difference Jacobian in double.
double numerical_log_det(const std::function<std::vector<float>(const std::vector<float>&)>& f,
                         const std::vector<float>& x0) {
  const size_t d = x0.size();
  std::vector<double> jac(d * d);
  const float h = 1e-3f;
  for (size_t j = 0; j < d; ++j) {
    std::vector<float> xp = x0, xm = x0;
    xp[j] += h, xm[j] -= h;
    const std::vector<float> yp = f(xp), ym = f(xm);
    for (size_t i = 0; i < d; ++i) jac[i * d + j] = (double(yp[i]) - ym[i]) / (double(xp[j]) - xm[j]);
  }
  double log_det = 0;
  for (size_t c = 0; c < d; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < d; ++r)
      if (std::fabs(jac[r * d + c]) > std::fabs(jac[p * d + c])) p = r;
    for (size_t k = 0; k < d; ++k) std::swap(jac[c * d + k], jac[p * d + k]);
    log_det += std::log(std::fabs(jac[c * d + c]));
    for (size_t r = c + 1; r < d; ++r) {
      const double m = jac[r * d + c] / jac[c * d + c];
      for (size_t k = c; k < d; ++k) jac[r * d + k] -= m * jac[c * d + k];
    }
  }
  return log_det;
}

TEST(MadeMasks, ConnectOnlyEarlierInputsThroughEveryPath) {
  const std::vector<int32_t> order{2, 0, 3, 1};
  const int64_t d = 4, h = 5;
  for (int variant = 0; variant < 6; ++variant) {
    const int layers = 1 + variant % 3;
    const std::optional<uint64_t> seed = variant < 3 ? std::nullopt : std::optional<uint64_t>(variant);
    SCOPED_TRACE(::testing::Message() << "layers " << layers << (seed ? " random degrees" : " cycling degrees"));
    const auto masks = made_masks(d, h, layers, order, seed);
    ASSERT_EQ(masks.size(), static_cast<size_t>(layers) + 1);
    // reach[o][j]: some path from input j to unit o of the current layer.
    std::vector<std::vector<bool>> reach(h, std::vector<bool>(d));
    for (int64_t k = 0; k < h; ++k)
      for (int64_t j = 0; j < d; ++j) reach[k][j] = masks[0][k * d + j] != 0;
    for (int l = 1; l < layers; ++l) {
      std::vector<std::vector<bool>> next(h, std::vector<bool>(d));
      for (int64_t k = 0; k < h; ++k)
        for (int64_t q = 0; q < h; ++q)
          if (masks[l][k * h + q] != 0)
            for (int64_t j = 0; j < d; ++j) next[k][j] = next[k][j] || reach[q][j];
      reach = next;
    }
    std::vector<int64_t> position(d);
    for (int64_t t = 0; t < d; ++t) position[order[t]] = t;
    bool some_path = false;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) {
        bool path = false;
        for (int64_t k = 0; k < h; ++k) path = path || (masks.back()[i * h + k] != 0 && reach[k][j]);
        if (path) EXPECT_LT(position[j], position[i]) << "output " << i << " sees input " << j;
        some_path = some_path || path;
      }
    EXPECT_TRUE(some_path) << "the masks cut every connection";
  }
  EXPECT_LVK_ERROR(made_masks(3, 4, 1, {0, 0, 1}), "order is not a permutation of 0..2 (entry 0)");
}

class MafTest : public BackendTest {};

// Output i of the MADE must not move when an input at or after i's position moves.
TEST_P(MafTest, MadeOutputsIgnoreLaterInputs) {
  const int64_t d = 7;
  const std::vector<int32_t> order{6, 5, 4, 3, 2, 1, 0};
  for (int layers : {1, 2}) {
    InitStream init(21);
    Made made(d, 64, layers, order, init, device());
    randomize(made, 22);
    const std::vector<float> x0 = random_values(d, 23);
    const Made::Output base = made.forward(Tensor::from_vector(x0, {1, d}, device()));
    const std::vector<float> s0 = base.shift.to_vector<float>(), a0 = base.alpha_raw.to_vector<float>();
    for (int64_t tj = 0; tj < d; ++tj) {
      std::vector<float> x = x0;
      x[order[tj]] += 0.75f;
      const Made::Output o = made.forward(Tensor::from_vector(x, {1, d}, device()));
      const std::vector<float> s = o.shift.to_vector<float>(), a = o.alpha_raw.to_vector<float>();
      bool moved_later = false;
      for (int64_t ti = 0; ti < d; ++ti) {
        const int32_t i = order[ti];
        if (ti <= tj) {
          EXPECT_EQ(s[i], s0[i]) << "shift " << i << " moved with input " << order[tj];
          EXPECT_EQ(a[i], a0[i]) << "log-scale " << i << " moved with input " << order[tj];
        } else {
          moved_later = moved_later || s[i] != s0[i] || a[i] != a0[i];
        }
      }
      if (tj + 1 < d) EXPECT_TRUE(moved_later) << "no later output depends on input " << order[tj];
    }
  }
}

// The one-launch inverse against D-pass re-evaluation and against the density direction, at the
// issue's sizes (H = 512 takes the global-memory path on CUDA, D = 16 H = 64 the staged one).
TEST_P(MafTest, FusedInverseMatchesReevaluationAndUndoesForward) {
  struct Case {
    int64_t d, h;
    int hidden_layers;
  };
  const Case cases[] = {{1, 8, 1}, {2, 16, 1}, {31, 64, 1}, {16, 64, 1}, {64, 512, 1}, {31, 40, 2}, {64, 128, 3}};
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "D=" << c.d << " H=" << c.h << " hidden_layers=" << c.hidden_layers);
    Maf flow = random_maf({c.d, 2, c.h, c.hidden_layers, 2.0f, true, c.hidden_layers == 2}, device(), 31);
    Tensor u = random_tensor({9, c.d}, 32, device(), -2, 2);
    NoGrad no_grad;
    const Tensor fused = flow.inverse(u), reference = flow.inverse_by_reevaluation(u);
    EXPECT_TRUE(all_close(fused, reference, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(flow.forward(fused).u, u, 1e-5, 1e-5));
  }
}

TEST_P(MafTest, InverseLogDetIsMinusTheForwardOne) {
  InitStream init(41);
  Made made(5, 24, 2, {4, 2, 0, 1, 3}, init, device());
  randomize(made, 42);
  Tensor u = random_tensor({6, 5}, 43, device(), -2, 2);
  NoGrad no_grad;
  const MadeInverseResult g = made_inverse(u, made.masked(), 1.5f);
  // The density direction of the same layer: logdet = -sum alpha.
  const Made::Output o = made.forward(g.x);
  const Tensor a = scale(activation(o.alpha_raw, Activation::tanh), 1.5f);
  std::vector<double> expected(6, 0.0);
  const std::vector<float> av = a.to_vector<float>();
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < 5; ++j) expected[r] += av[r * 5 + j];
  EXPECT_TRUE(all_close(g.logdet.to_vector<float>(), expected, 1e-5, 1e-5));
}

TEST_P(MafTest, LogProbMatchesNumericalJacobian) {
  const int64_t d = 5;
  Maf flow = random_maf({d, 3, 12, 2, 2.0f, true}, device(), 51);
  const std::vector<float> z0 = random_values(d, 52);
  auto f = [&](const std::vector<float>& z) {
    return flow.forward(Tensor::from_vector(z, {1, d}, device())).u.to_vector<float>();
  };
  const double reported = flow.forward(Tensor::from_vector(z0, {1, d}, device())).log_det.item();
  EXPECT_NEAR(reported, numerical_log_det(f, z0), 3e-3);
}

TEST_P(MafTest, GradientsThroughTheTape) {
  Maf flow = random_maf({3, 2, 6, 2, 1.5f, true}, device(), 61);
  Tensor z = random_tensor({4, 3}, 62, device());
  EXPECT_TRUE(check_gradients([&](const std::vector<Tensor>& in) { return flow.log_prob(in[0]); }, {z}));
  for (const auto& [name, p] : flow.parameters())
    EXPECT_TRUE(check_parameter_gradient([&] { return flow.log_prob(z); }, p)) << name;
}

// Beyond the op table (tests/backend_ops): the sequential MAF inverse, D passes of the masked
// network, compared as a whole.
TEST_P(MafTest, CudaInverseMatchesTheCpuTwin) {
  if (!device().is_cuda()) GTEST_SKIP() << "compares the CUDA twin with the CPU one";
  for (int hidden_layers : {1, 2}) {
    Maf gpu = random_maf({33, 2, 96, hidden_layers, 2.0f, true}, device(), 71);
    Maf cpu = random_maf({33, 2, 96, hidden_layers, 2.0f, true}, Device::cpu(), 71);
    Tensor u = random_tensor({37, 33}, 72, Device::cpu(), -2, 2);
    NoGrad no_grad;
    EXPECT_TRUE(all_close(gpu.inverse(u.to(device())).to(Device::cpu()), cpu.inverse(u), 1e-5, 1e-5))
        << "hidden_layers=" << hidden_layers;
  }
}

TEST_P(MafTest, BadInputNamesTheProblem) {
  InitStream init(81);
  EXPECT_LVK_ERROR(Maf({4, 2, 513, 1, 2.0f, true}, init, device()), "hidden=513 but the fused inverse supports 1..512");
  Maf flow({4, 2, 8, 1, 2.0f, true}, init, device());
  EXPECT_LVK_ERROR(flow.inverse(Tensor::zeros({3, 5}, DType::f32, device())), "Maf.inverse: input has D=5");
  Tensor z = Tensor::from_vector(std::vector<float>{0, NAN, 0, 0}, {1, 4}, device());
  EXPECT_LVK_ERROR(flow.log_prob(z), "Maf.log_prob: z has 1 non-finite value");
  Made made(4, 8, 1, {0, 1, 2, 3}, init, device());
  MadeTensors m = made.masked();
  m.order = Tensor::from_vector(std::vector<int32_t>{0, 1, 1, 3}, {4}, device());
  EXPECT_LVK_ERROR(made_inverse(Tensor::zeros({2, 4}, DType::f32, device()), m, 1.0f),
                   "made_inverse: order is not a permutation of 0..3 (entry 1)");
  Tape tape;
  TapeRecording rec(tape);
  Tensor u = Tensor::zeros({2, 4}, DType::f32, device());
  u.set_requires_grad(true);
  EXPECT_LVK_ERROR(made_inverse(u, made.masked(), 1.0f), "made_inverse: the fused inverse has no backward");
}

LVK_INSTANTIATE_BACKENDS(MafTest);

}  // namespace
}  // namespace lvk::test
