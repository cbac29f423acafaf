// The device-resident train-step state: the clock's schedule rows, noise base, non-finite guard
// and Adam count; the figure ring; clock-driven Adam, Gaussian noise and EMA updates against their
// host-argument forms; device code statistics against the host ones.
#include <cmath>

#include "models/optim.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/gumbel.h"
#include "runtime/ops/step_clock.h"
#include "runtime/ops/vq_learn.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class StepClockTest : public BackendTest {};

Tensor scalar(float v, Device d) {
  return Tensor::from_vector<float>({v}, {1}, d);
}

TEST_P(StepClockTest, BeginCopiesTheStepsRowAndHoldsTheLastOne) {
  // Two columns (lr, one model scalar) for three steps.
  StepClock clock(device(), {0.1f, 10.0f, 0.2f, 20.0f, 0.3f, 30.0f}, 3, 2);
  for (int64_t s = 0; s < 5; ++s) {
    clock.begin();
    const int64_t row = std::min<int64_t>(s, 2);
    EXPECT_FLOAT_EQ(clock.scalar(0).item(), 0.1f * static_cast<float>(row + 1)) << "step " << s;
    EXPECT_FLOAT_EQ(clock.scalar(1).item(), 10.0f * static_cast<float>(row + 1)) << "step " << s;
    const kernels::StepState st = clock.read();
    EXPECT_EQ(st.step, s);
    EXPECT_EQ(st.noise_base, static_cast<uint64_t>(s + 1) * kernels::kDrawsPerStep);
    clock.end();
  }
  EXPECT_EQ(clock.read().step, 5);
}

TEST_P(StepClockTest, GuardSkipsNonFiniteStepsAndCountsThem) {
  StepClock clock(device(), {1.0f}, 1, 1);
  const float inf = INFINITY, nan = NAN;
  // loss, norm per step; expected skip.
  const std::vector<std::pair<float, float>> steps = {{1, 1}, {nan, 1}, {1, inf}, {1, nan}, {2, 3}, {nan, nan}};
  int adam = 0;
  for (const auto& [loss, norm] : steps) {
    clock.begin();
    clock.guard(scalar(loss, device()), scalar(norm, device()), 0.9f, 0.999f);
    const bool skip = !std::isfinite(loss) || !std::isfinite(norm);
    const kernels::StepState st = clock.read();
    EXPECT_EQ(st.skip, skip ? 1 : 0);
    EXPECT_EQ(clock.skipped_flag().item(), skip ? 1.0f : 0.0f);
    adam += !skip;
    EXPECT_EQ(st.adam_steps, adam);
    if (!skip) {
      EXPECT_FLOAT_EQ(st.bias_correction1, static_cast<float>(1.0 - std::pow(static_cast<double>(0.9f), adam)));
      EXPECT_FLOAT_EQ(st.bias_correction2, static_cast<float>(1.0 - std::pow(static_cast<double>(0.999f), adam)));
    }
    clock.end();
  }
}

TEST_P(StepClockTest, WriteRestoresCountersForAResumedRun) {
  StepClock clock(device(), {1.0f, 2.0f}, 2, 1);
  kernels::StepState s{};
  s.step = 41;
  s.adam_steps = 40;
  clock.write(s);
  clock.begin();
  clock.guard(Tensor(), Tensor(), 0.5f, 0.5f);
  const kernels::StepState st = clock.read();
  EXPECT_EQ(st.step, 41);
  EXPECT_EQ(st.adam_steps, 41);
  EXPECT_FLOAT_EQ(clock.scalar(0).item(), 2.0f);  // past the table: its last row
}

TEST_P(StepClockTest, RingKeepsEachStepsFigures) {
  StepClock clock(device(), {1.0f}, 1, 1);
  ScalarRing ring(device(), 4, 2);
  for (int s = 0; s < 6; ++s) {
    clock.begin();
    ring.record(clock, {scalar(static_cast<float>(s), device()), scalar(static_cast<float>(10 * s), device())});
    clock.end();
  }
  const auto rows = ring.read(2, 5);  // the last four steps fit a ring of 4
  ASSERT_EQ(rows.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(rows[static_cast<size_t>(i)][0], static_cast<float>(i + 2));
    EXPECT_EQ(rows[static_cast<size_t>(i)][1], static_cast<float>(10 * (i + 2)));
  }
  EXPECT_LVK_ERROR(ring.read(0, 5), "do not fit a ring of 4");
  EXPECT_LVK_ERROR(ring.record(clock, {scalar(1, device())}), "1 figures for a ring of 2");
  EXPECT_LVK_ERROR(ring.record(clock, {scalar(1, device()), Tensor::zeros({2}, DType::f32, device())}),
                   "expected one element");
}

TEST_P(StepClockTest, ClockDrivenAdamMatchesHostLearningRatesAndSkipsNonFiniteSteps) {
  const std::vector<float> lrs = {0.01f, 0.02f, 0.015f, 0.005f};
  const std::vector<float> init = random_values(37, 3);
  Tensor a = Tensor::from_vector(init, {37}, device()), b = Tensor::from_vector(init, {37}, device());
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  const AdamOptions o{1.0f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 0.5f};
  Adam host({{"p", a}}, o), driven({{"p", b}}, o);
  StepClock clock(device(), lrs, 4, 1);
  for (int s = 0; s < 4; ++s) {
    const Tensor g = random_tensor({37}, 100 + s, device());
    a.set_grad(g.clone());
    b.set_grad(g.clone());
    host.step(lrs[static_cast<size_t>(s)]);
    clock.begin();
    driven.step(clock, scalar(1.0f, device()));
    clock.end();
    EXPECT_TRUE(all_close(b, a, 0, 0)) << "step " << s;
  }
  EXPECT_EQ(clock.read().adam_steps, 4);
  // A non-finite loss leaves parameters and moments as they are.
  const std::vector<float> before = b.to_vector<float>();
  b.set_grad(random_tensor({37}, 7, device()));
  clock.begin();
  driven.step(clock, scalar(NAN, device()));
  clock.end();
  EXPECT_EQ(b.to_vector<float>(), before);
  EXPECT_EQ(clock.read().adam_steps, 4);
  // So does a non-finite gradient.
  std::vector<float> bad(37, 1.0f);
  bad[5] = INFINITY;
  b.set_grad(Tensor::from_vector(bad, {37}, device()));
  clock.begin();
  driven.step(clock, scalar(1.0f, device()));
  clock.end();
  EXPECT_EQ(b.to_vector<float>(), before);
  EXPECT_EQ(clock.read().adam_steps, 4);
}

TEST_P(StepClockTest, ClockNoiseIsTheHostOffsetOfTheSameStep) {
  const Tensor mu = random_tensor({5, 6}, 1, device()), lv = random_tensor({5, 6}, 2, device());
  StepClock clock(device(), {1.0f}, 1, 1);
  kernels::StepState s{};
  s.step = 6;
  clock.write(s);
  clock.begin();
  const uint64_t k = 3;
  const Tensor with_clock = gaussian_sample(mu, lv, {0, 11, k, &clock}).z;
  const Tensor with_host = gaussian_sample(mu, lv, {0, 11, 7 * kernels::kDrawsPerStep + k}).z;
  EXPECT_TRUE(all_close(with_clock, with_host, 0, 0));
  // And the backward agrees with finite differences of the clock-driven forward.
  EXPECT_TRUE(check_gradients(
      [&](const std::vector<Tensor>& x) {
        return gaussian_sample(x[0], x[1], {0, 11, k, &clock}).z;
      },
      {mu, lv}));
}

TEST_P(StepClockTest, ClockTemperatureAndNoiseMatchHostArgumentsInGumbelSoftmax) {
  const Tensor logits = random_tensor({7, 20}, 12, device(), -2.0f, 2.0f);
  StepClock clock(device(), {1.0f, 0.3f}, 1, 2);  // column 1: tau
  kernels::StepState s{};
  s.step = 4;
  clock.write(s);
  clock.begin();
  for (bool hard : {false, true}) {
    const GumbelSoftmaxOptions host{0.3f, hard, 9, 5 * kernels::kDrawsPerStep + 1};
    GumbelSoftmaxOptions driven{1.0f, hard, 9, 1, &clock, 1};  // tau here is ignored
    const GumbelSoftmaxResult a = gumbel_softmax(logits, host), b = gumbel_softmax(logits, driven);
    EXPECT_TRUE(all_close(b.y, a.y, 0, 0)) << "hard " << hard;
    EXPECT_EQ(b.index.to_vector<int32_t>(), a.index.to_vector<int32_t>());
    // The backward's 1/tau is the clock's too.
    auto grad = [&](const GumbelSoftmaxOptions& o) {
      Tensor l = logits.clone();
      l.set_requires_grad(true);
      Tape tape;
      Tensor loss;
      {
        TapeRecording rec(tape);
        const GumbelSoftmaxResult r = gumbel_softmax(l, o);
        loss = sum(mul(r.y, random_tensor({7, 20}, 13, device())));
      }
      tape.backward(loss);
      return l.grad();
    };
    EXPECT_TRUE(all_close(grad(driven), grad(host), 0, 0)) << "hard " << hard;
  }
}

TEST_P(StepClockTest, ClockDrivenEmaMatchesTheHostCorrectionAndSkipsNonFiniteSteps) {
  const Tensor z = random_tensor({40, 3}, 4, device());
  const Tensor codebook = random_tensor({6, 3}, 5, device());
  VqOptions lo;
  lo.losses = false;
  const Tensor idx = vq_quantize(z, codebook, lo).indices;
  VqEmaState host = vq_ema_state(codebook), driven = vq_ema_state(codebook);
  StepClock clock(device(), {1.0f}, 1, 1);
  for (int s = 0; s < 3; ++s) {
    vq_ema_update(host, z, idx, VqEmaOptions{0.9f, 1e-5f, true});
    clock.begin();
    vq_ema_update(driven, z, idx, VqEmaOptions{0.9f, 1e-5f, true, &clock});
    clock.end();
  }
  EXPECT_TRUE(all_close(driven.codebook, host.codebook, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(driven.ema_count, host.ema_count, 0, 0));
  const std::vector<float> before = driven.codebook.to_vector<float>();
  clock.begin();
  clock.guard(scalar(NAN, device()), Tensor(), 0.9f, 0.999f);
  vq_ema_update(driven, z, idx, VqEmaOptions{0.9f, 1e-5f, true, &clock});
  EXPECT_EQ(driven.codebook.to_vector<float>(), before);
  EXPECT_TRUE(all_close(driven.ema_count, host.ema_count, 0, 0));
}

TEST_P(StepClockTest, ClockDrivenRestartsMatchTheHostOnesAndCountOnTheDevice) {
  const Tensor z = random_tensor({30, 4}, 8, device());
  // Usage: codes 1, 4 and 6 are dead at threshold 0.5 * (1 - 0.9^4) = 0.17195.
  const std::vector<float> usage = {1.0f, 0.1f, 2.0f, 0.3f, 0.0f, 0.5f, 0.17f, 1.0f};
  auto fresh = [&] {
    VqEmaState st = vq_ema_state(random_tensor({8, 4}, 9, device()));
    st.ema_count = Tensor::from_vector(usage, {8}, device());
    st.ema_sum = random_tensor({8, 4}, 10, device());
    return st;
  };
  const int64_t step = 3;
  const uint64_t draw = 2;
  const float corrected = 0.5f * static_cast<float>(1.0 - std::pow(static_cast<double>(0.9f), step + 1.0));
  VqEmaState host = fresh(), driven = fresh();
  const int64_t dead = vq_restart_dead_codes(host, z, corrected, 5, (step + 1) * kernels::kDrawsPerStep + draw);
  EXPECT_EQ(dead, 3);
  StepClock clock(device(), {1.0f}, 1, 1);
  kernels::StepState s{};
  s.step = step;
  clock.write(s);
  clock.begin();
  Tensor restarted = Tensor::full({1}, 10.0f, device());
  vq_restart_dead_codes_on_clock(driven, z, 0.5f, 0.9f, 5, draw, clock, restarted);
  EXPECT_EQ(restarted.item(), 13.0f);
  EXPECT_TRUE(all_close(driven.codebook, host.codebook, 0, 0));
  EXPECT_TRUE(all_close(driven.ema_sum, host.ema_sum, 0, 0));
  EXPECT_TRUE(all_close(driven.ema_count, host.ema_count, 0, 0));
  // A skipped step restarts nothing.
  VqEmaState untouched = fresh();
  clock.guard(scalar(NAN, device()), Tensor(), 0.9f, 0.999f);
  vq_restart_dead_codes_on_clock(untouched, z, 0.5f, 0.9f, 5, draw, clock, restarted);
  EXPECT_EQ(restarted.item(), 13.0f);
  EXPECT_EQ(untouched.ema_count.to_vector<float>(), usage);
}

TEST_P(StepClockTest, DeviceCodeStatisticsMatchTheHostOnes) {
  const std::vector<int32_t> codes = {0, 3, 3, 7, -1, 3, 0, 9, 1};  // -1: a row without a code; 9 >= K
  const Tensor index = Tensor::from_vector(codes, {3, 3}, device());
  const Tensor counts = count_codes(index, 8);
  EXPECT_EQ(counts.to_vector<int32_t>(), (std::vector<int32_t>{2, 1, 0, 3, 0, 0, 0, 1}));
  const CodeStatistics st = code_statistics(counts);
  const std::vector<int64_t> host = {2, 1, 0, 3, 0, 0, 0, 1};
  EXPECT_NEAR(st.perplexity.item(), counts_perplexity(host), 1e-6 * counts_perplexity(host));
  EXPECT_FLOAT_EQ(st.usage.item(), static_cast<float>(counts_usage(host)));
  const CodeStatistics none = code_statistics(Tensor::zeros({4}, DType::i32, device()));
  EXPECT_EQ(none.perplexity.item(), 0.0f);
  EXPECT_EQ(none.usage.item(), 0.0f);
  // Uniform use of all K codes has perplexity K, at a K that spans several threads per code.
  std::vector<int32_t> all(3000);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i % 1000);
  const CodeStatistics uniform = code_statistics(count_codes(Tensor::from_vector(all, {3000}, device()), 1000));
  EXPECT_NEAR(uniform.perplexity.item(), 1000.0, 1e-3);
  EXPECT_FLOAT_EQ(uniform.usage.item(), 1.0f);
  EXPECT_LVK_ERROR(code_statistics(Tensor::zeros({4}, DType::f32, device())), "i32");
}

LVK_INSTANTIATE_BACKENDS(StepClockTest);

}  // namespace
}  // namespace lvk::test
