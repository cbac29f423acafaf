// Codebook learning: EMA update against hand-computed numbers, dead-code restarts, k-means on
// separable clusters, cosine codebooks, residual VQ, statistics and bad inputs.
#include <cmath>

#include "base/philox.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/vq_learn.h"
#include "runtime/tape.h"
#include "tests/fake_communicator.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class VqLearn : public BackendTest {};

std::vector<double> as_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

TEST_P(VqLearn, EmaUpdateMatchesHandComputation) {
  // Rows (1,2), (3,4) -> code 0 and (5,6) -> code 1; code 2 never used. decay 0.5, eps 0.1.
  const Tensor z = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2}, device());
  const Tensor idx = Tensor::from_vector<int32_t>({0, 0, 1}, {3}, device());
  const Tensor cb = Tensor::from_vector<float>({9, 9, 8, 8, 7, 7}, {3, 2}, device());
  VqEmaOptions o;
  o.decay = 0.5f;
  o.eps = 0.1f;
  o.bias_correction = false;
  VqEmaState st = vq_ema_state(cb);
  vq_ema_update(st, z, idx, o);
  // counts (2, 1, 0), sums ((4,6), (5,6), 0) -> ema_count (1, 0.5, 0), ema_sum ((2,3), (2.5,3), 0).
  // n = 1.5, K eps = 0.3: smoothed N_0 = 1.1 / 1.8 * 1.5 = 0.91667, N_1 = 0.6 / 1.8 * 1.5 = 0.5.
  EXPECT_TRUE(all_close(st.ema_count.to_vector<float>(), {1.0, 0.5, 0.0}, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(st.ema_sum.to_vector<float>(), {2, 3, 2.5, 3, 0, 0}, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(st.codebook.to_vector<float>(), {2 / 0.9166667, 3 / 0.9166667, 5.0, 6.0, 7, 7}, 1e-6, 1e-5));

  // With bias correction the first step sees the raw batch: corr = 0.5, N = (2, 1, 0), n = 3,
  // M = ((4,6), (5,6)); eps = 0 makes every used code the mean of its rows exactly.
  o.bias_correction = true;
  o.eps = 0.0f;
  VqEmaState bc = vq_ema_state(cb);
  vq_ema_update(bc, z, idx, o);
  EXPECT_TRUE(all_close(bc.codebook.to_vector<float>(), {2, 3, 5, 6, 7, 7}, 1e-6, 1e-6));
  EXPECT_EQ(bc.steps, 1);
  // Second step, same batch: corr = 0.75, ema_count = 0.5 * (1, .5) + 0.5 * (2, 1) = (1.5, .75):
  // N = (2, 1) again, so the means are unchanged.
  vq_ema_update(bc, z, idx, o);
  EXPECT_TRUE(all_close(bc.codebook.to_vector<float>(), {2, 3, 5, 6, 7, 7}, 1e-6, 1e-6));
}

TEST_P(VqLearn, EmaUpdateWithTheRanksCountsSkipsTheirAllReduce) {
  // Across ranks the update reduces the sums and the counts; handed counts already summed over the
  // ranks (here a world that sums to itself), it reduces only the sums and lands on the same state.
  const Tensor z = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2}, device());
  const Tensor idx = Tensor::from_vector<int32_t>({0, 0, 1}, {3}, device());
  const Tensor cb = Tensor::from_vector<float>({9, 9, 8, 8, 7, 7}, {3, 2}, device());
  FakeCommunicator reducing, handed;
  VqEmaOptions o;
  o.comm = &reducing;
  VqEmaState a = vq_ema_state(cb), b = vq_ema_state(cb);
  vq_ema_update(a, z, idx, o);
  EXPECT_EQ(reducing.all_reduces, 2);
  o.comm = &handed;
  o.global_counts = Tensor::from_vector<int32_t>({2, 1, 0}, {3}, device());
  vq_ema_update(b, z, idx, o);
  EXPECT_EQ(handed.all_reduces, 1);
  EXPECT_EQ(b.codebook.to_vector<float>(), a.codebook.to_vector<float>());
  EXPECT_EQ(b.ema_count.to_vector<float>(), a.ema_count.to_vector<float>());
  // The counts it is handed are the ones it uses.
  VqEmaState c = vq_ema_state(cb);
  o.global_counts = Tensor::from_vector<int32_t>({1, 2, 0}, {3}, device());
  vq_ema_update(c, z, idx, o);
  EXPECT_NE(c.ema_count.to_vector<float>(), a.ema_count.to_vector<float>());
  o.global_counts = Tensor::from_vector<int32_t>({1, 2}, {2}, device());
  EXPECT_LVK_ERROR(vq_ema_update(c, z, idx, o), "global_counts i32[2]");
}

TEST_P(VqLearn, DeadCodesRestartFromPhiloxChosenRows) {
  const int64_t n = 50, k = 8, c = 3;
  std::vector<float> rows(n * c);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i);  // row r = (3r, 3r+1, 3r+2)
  const Tensor z = Tensor::from_vector(rows, {n, c}, device());
  const std::vector<float> cb0 = random_values(k * c, 5);
  Tensor cb = Tensor::from_vector(cb0, {k, c}, device());
  const Tensor usage = Tensor::from_vector<float>({5, 0.5f, 3, 2, 9, 0, 1, 4}, {k}, device());
  EXPECT_EQ(vq_restart_dead_codes(cb, usage, z, 1.0f, 77, 3), 2);
  const std::vector<float> got = cb.to_vector<float>();
  for (int64_t j = 0; j < k; ++j) {
    const bool dead = j == 1 || j == 5;
    const int64_t r = static_cast<int64_t>(philox_uniform(77, 3, static_cast<uint64_t>(j)) * n);
    for (int64_t ch = 0; ch < c; ++ch)
      EXPECT_EQ(got[j * c + ch], dead ? static_cast<float>(r * c + ch) : cb0[j * c + ch]) << "code " << j;
  }
  // EMA flavour: usage is ema_count; restarted codes become one observation.
  VqEmaState st = vq_ema_state(Tensor::from_vector(cb0, {k, c}, device()));
  st.ema_count = usage.clone();
  EXPECT_EQ(vq_restart_dead_codes(st, z, 1.0f, 77, 3), 2);
  EXPECT_EQ(st.codebook.to_vector<float>(), got);
  const std::vector<float> cnt = st.ema_count.to_vector<float>(), sum = st.ema_sum.to_vector<float>();
  EXPECT_EQ(cnt[1], 1.0f);
  EXPECT_EQ(cnt[5], 1.0f);
  EXPECT_EQ(cnt[6], 1.0f);  // exactly at the threshold: alive, untouched
  for (int64_t ch = 0; ch < c; ++ch) EXPECT_EQ(sum[5 * c + ch], got[5 * c + ch]);
  EXPECT_EQ(vq_restart_dead_codes(st, z, 1.0f, 77, 4), 0);  // nothing below the threshold now
}

TEST_P(VqLearn, KmeansFindsSeparableClusters) {
  const double centres[4][3] = {{5, 0, 0}, {0, 5, 0}, {0, 0, 5}, {-5, -5, -5}};
  const int64_t per = 100, c = 3;
  const std::vector<float> noise = random_values(4 * per * c, 90, -0.5f, 0.5f);
  std::vector<float> rows;
  for (int64_t i = 0; i < 4 * per; ++i)
    for (int64_t ch = 0; ch < c; ++ch) rows.push_back(static_cast<float>(centres[i % 4][ch]) + noise[i * c + ch]);
  for (bool pp : {true, false}) {
    VqKmeansOptions o;
    o.plus_plus = pp;
    o.seed = 3;
    const std::vector<float> cb = vq_kmeans(Tensor::from_vector(rows, {4 * per, c}, device()), 4, o).to_vector<float>();
    if (!pp) continue;  // random seeding may merge two clusters: only k-means++ is held to this
    for (const auto& want : centres) {
      double best = 1e9;
      for (int j = 0; j < 4; ++j) {
        double d = 0.0;
        for (int ch = 0; ch < 3; ++ch) d += (cb[j * 3 + ch] - want[ch]) * (cb[j * 3 + ch] - want[ch]);
        best = std::min(best, d);
      }
      EXPECT_LT(best, 0.1 * 0.1) << "no centre near (" << want[0] << ", " << want[1] << ", " << want[2] << ")";
    }
  }
}

TEST_P(VqLearn, CosineCodebookComparesAngles) {
  const Tensor e = Tensor::from_vector<float>({0.1f, 0.0f, 3.0f, 3.0f}, {2, 2}, device());
  const Tensor z = Tensor::from_vector<float>({3.0f, 0.5f}, {1, 2}, device());
  EXPECT_EQ(vq_quantize(z, e).indices.to_vector<int32_t>()[0], 1);  // Euclidean: (3, 3) is nearer
  VqOptions o;
  o.cosine = true;
  const VqResult r = vq_quantize(z, e, o);
  EXPECT_EQ(r.indices.to_vector<int32_t>()[0], 0);  // 9.5 degrees from code 0, 35.5 from code 1
  EXPECT_TRUE(all_close(r.z_q.to_vector<float>(), {1.0, 0.0}, 1e-7, 0.0));
}

TEST_P(VqLearn, NormalizeGradient) {
  for (const Shape& shape : {Shape{4, 5}, Shape{2, 3, 2, 2}}) {
    EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& in) { return l2_normalize_rows(in[0]); },
                                {random_tensor(shape, 95, device())}))
        << shape.str();
  }
}

TEST_P(VqLearn, ResidualLevelsRefineAndPassGradientStraightThrough) {
  const Tensor z = random_tensor({64, 6}, 100, device());
  const Tensor e0 = random_tensor({16, 6}, 101, device());
  std::vector<float> e1v = random_values(16 * 6, 102, -0.3f, 0.3f);
  std::fill(e1v.begin(), e1v.begin() + 6, 0.0f);  // a zero code: level 2 never increases the error
  const Tensor e1 = Tensor::from_vector(e1v, {16, 6}, device());
  Tensor zg = z.clone();
  zg.set_requires_grad(true);
  const Tensor w = random_tensor(z.shape(), 103, device());
  Tape tape;
  ResidualVqResult r;
  Tensor loss;
  {
    TapeRecording rec(tape);
    VqOptions o;
    o.losses = false;
    r = vq_residual(zg, {e0, e1}, o);
    loss = sum(mul(r.z_q, w));
  }
  ASSERT_EQ(r.indices.size(), 2u);
  EXPECT_EQ(r.indices[0].to_vector<int32_t>(), vq_quantize(z, e0).indices.to_vector<int32_t>());
  const std::vector<float> zv = z.to_vector<float>(), q = r.z_q.to_vector<float>();
  const std::vector<float> q0 = vq_quantize(z, e0).z_q.to_vector<float>();
  for (int64_t i = 0; i < 64; ++i) {
    double d_one = 0.0, d_two = 0.0;
    for (int64_t ch = 0; ch < 6; ++ch) {
      d_one += std::pow(zv[i * 6 + ch] - q0[i * 6 + ch], 2);
      d_two += std::pow(zv[i * 6 + ch] - q[i * 6 + ch], 2);
    }
    EXPECT_LE(d_two, d_one + 1e-5) << "row " << i;
  }
  tape.backward(loss);
  EXPECT_TRUE(all_close(zg.grad().to_vector<float>(), as_double(w.to_vector<float>()), 0.0, 0.0));
}

TEST_P(VqLearn, StatisticsFromCounts) {
  const VqStats s = vq_stats(Tensor::from_vector<int32_t>({2, 2, 0, 0}, {4}, device()));
  EXPECT_NEAR(s.perplexity, 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.used_fraction, 0.5);
  const VqStats u = vq_stats(Tensor::from_vector<int32_t>({3, 3, 3}, {3}, device()));
  EXPECT_NEAR(u.perplexity, 3.0, 1e-12);
}

TEST_P(VqLearn, EmaTrainingRevivesDeadCodesAndKeepsAGoodCodebook) {
  // 16 well-separated clusters in 8-D, batches of 512 rows.
  const int64_t clusters = 16, c = 8, batch = 512;
  const std::vector<float> centres = random_values(static_cast<size_t>(clusters * c), 120, -4.0f, 4.0f);
  auto make_batch = [&](uint32_t seed) {
    const std::vector<float> noise = random_values(static_cast<size_t>(batch * c), seed, -0.1f, 0.1f);
    std::vector<float> rows(noise.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = centres[(i / c * 7 + seed) % clusters * c + i % c] + noise[i];
    return Tensor::from_vector(rows, {batch, c}, device());
  };
  VqEmaOptions o;
  o.decay = 0.8f;
  VqOptions q;
  q.counts = true;
  q.z_q = false;
  auto train = [&](VqEmaState& st, int steps, bool restart) {
    VqStats stats;
    float loss = 0.0f;
    for (int step = 0; step < steps; ++step) {
      const Tensor z = make_batch(200 + static_cast<uint32_t>(step));
      const VqResult r = vq_quantize(z, st.codebook, q);
      vq_ema_update(st, z, r.indices, o);
      if (restart) vq_restart_dead_codes(st, z, 0.5f, 7, static_cast<uint64_t>(step));
      stats = vq_stats(r.counts);
      loss = r.codebook_loss.item();
    }
    return std::make_pair(stats, loss);
  };
  // A collapsed codebook (16 copies of one point: 15 dead codes). Without restarts most codes stay
  // dead; with them every code comes back into use (where they settle is a k-means local optimum,
  // so the error is not held to a bound here).
  VqEmaState collapsed = vq_ema_state(Tensor::full({clusters, c}, 0.5f, device()));
  EXPECT_LT(train(collapsed, 20, false).first.used_fraction, 0.5);
  VqEmaState revived = vq_ema_state(Tensor::full({clusters, c}, 0.5f, device()));
  EXPECT_EQ(train(revived, 20, true).first.used_fraction, 1.0);
  // Seeded by k-means++ on one batch, EMA training keeps one code per cluster.
  VqKmeansOptions ko;
  ko.seed = 5;
  VqEmaState seeded = vq_ema_state(vq_kmeans(make_batch(199), clusters, ko));
  const auto [good, loss_good] = train(seeded, 20, true);
  EXPECT_GT(good.perplexity, 14.0);
  EXPECT_LT(loss_good, 0.01f);
}

// Codes of no dimension: a clear error on every backend. The CUDA code-sum kernels divided by the
// channel count on the host and wrote K sums into buffers of K x 0 floats.
TEST_P(VqLearn, ZeroChannelsIsAClearError) {
  const Tensor z = Tensor::zeros({6, 0}, DType::f32, device());
  const Tensor idx = Tensor::zeros({6}, DType::i32, device());
  Tensor sums, counts;
  EXPECT_LVK_ERROR(vq_cluster_sums(sums, counts, z, idx, 4), "vq_cluster_sums: C must be >= 1");
  VqEmaState st = vq_ema_state(Tensor::zeros({4, 0}, DType::f32, device()));
  EXPECT_LVK_ERROR(vq_ema_update(st, z, idx, VqEmaOptions{}), "C must be >= 1");
}

TEST_P(VqLearn, RejectsBadArguments) {
  const Tensor z = random_tensor({4, 3}, 1, device());
  VqEmaState st = vq_ema_state(random_tensor({5, 3}, 2, device()));
  VqEmaOptions bad;
  bad.decay = 1.0f;
  const Tensor idx = Tensor::zeros({4}, DType::i32, device());
  try {
    vq_ema_update(st, z, idx, bad);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vq_ema_update: decay=1"), std::string::npos) << e.what();
  }
  // Indices are validated where they can be read without a device synchronisation: on the CPU.
  // CUDA callers pass indices made by the lookup itself.
  if (device().is_cpu()) {
    try {
      Tensor sums, counts;
      vq_cluster_sums(sums, counts, z, Tensor::from_vector<int32_t>({0, 1, 5, 2}, {4}, device()), 5);
      ADD_FAILURE() << "no error for an index outside [0, K)";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("index 5 at row 2"), std::string::npos) << e.what();
    }
  }
  try {
    vq_kmeans(z, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vq_kmeans: K=0"), std::string::npos) << e.what();
  }
  Tensor cb = random_tensor({5, 3}, 3, device());
  try {
    vq_restart_dead_codes(cb, Tensor::zeros({4}, DType::f32, device()), z, 1.0f, 0, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("K=5"), std::string::npos) << e.what();
  }
}

// Beyond the op table (tests/backend_ops): a sequence of EMA updates, a restart and k-means, each
// step reading the last one's state.
TEST(VqCuda, LearningMatchesCpuTwin) {
  const Device dev = Device::cuda(0);
  LVK_SKIP_IF_UNUSABLE(dev);
  const Tensor z = random_tensor({2, 7, 9, 5}, 110, Device::cpu());
  const Tensor cb = random_tensor({33, 7}, 111, Device::cpu());
  auto run = [&](Device d) {
    VqEmaState st = vq_ema_state(cb.to(d));
    const Tensor zd = z.to(d);
    for (int step = 0; step < 3; ++step) vq_ema_update(st, zd, vq_quantize(zd, st.codebook).indices);
    vq_restart_dead_codes(st, zd, 0.05f, 9, 1);
    return std::make_pair(st.codebook.to(Device::cpu()), vq_kmeans(zd, 5).to(Device::cpu()));
  };
  const auto cpu = run(Device::cpu()), gpu = run(dev);
  EXPECT_TRUE(all_close(gpu.first, cpu.first, 1e-5, 1e-4));
  EXPECT_TRUE(all_close(gpu.second, cpu.second, 1e-5, 1e-4));
}

LVK_INSTANTIATE_BACKENDS(VqLearn);

}  // namespace
}  // namespace lvk::test
