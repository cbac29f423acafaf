// Data-parallel training, run by ctest as `mpirun -np 2 lvk_dist_tests` on CPU ranks (MPI), and by
// tools/gpu-check.sh with LVK_DIST_TEST_DEVICE=cuda on two GPUs (NCCL): the
// collectives, bit-identical ranks, 2 ranks x B/2 against 1 rank x B (EMA updates, dead-code
// restarts and k-means initialisation included), the gradient exchange overlapped with backward
// against the exchange after it, a non-finite step on one rank skipped on all, resuming a 2-rank
// checkpoint on one rank, and uneven splits that must fail cleanly on every rank instead of hanging.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "models/model_factory.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "models/trainer.h"
#include "runtime/dist/launch.h"
#include "runtime/ops/creation.h"
#include "runtime/storage.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

dist::World* g_world = nullptr;
dist::Communicator& comm() {
  return *g_world->comm;
}
Device dev() {
  return g_world->device;
}
// A tensor on the ranks' device, and one back on the host.
Tensor on_dev(const Tensor& t) {
  return t.to(dev());
}
Tensor host(const Tensor& t) {
  return t.to(Device::cpu());
}

// One folder per job, the same path on every rank (the ranks' parent is the launcher). Emptied
// by the caller: run_dir is collective, local_dir for work of rank 0 alone.
std::string local_dir(const std::string& name) {
  const fs::path root = fs::temp_directory_path() / ("lvk-dist-" + std::to_string(getppid()));
  fs::remove_all(root / name);
  fs::create_directories(root);
  return (root / name).string();
}
std::string run_dir(const std::string& name) {
  const std::string dir = comm().is_root() ? local_dir(name) : std::string();
  comm().barrier();
  return comm().is_root() ? dir
                          : (fs::temp_directory_path() / ("lvk-dist-" + std::to_string(getppid())) / name).string();
}

TrainConfig vq_run(const std::string& out, int64_t steps) {
  TrainConfig c;
  c.model = "vqvae";
  // EMA codebook, dead codes restarted every 2 steps with a threshold that makes some dead.
  c.model_options = {{"channels", 8}, {"codes", 16}, {"code_dim", 4}, {"restart_every", 2}, {"restart_threshold", 2.0}};
  c.data.source = "shapes";
  c.data.count = 256;
  c.data.side = 12;
  c.steps = steps;
  c.batch = 16;
  c.lr = 3e-3f;
  c.warmup = 2;
  c.out = out;
  c.eval_every = 1000;
  c.eval_batches = 1;
  c.checkpoint_every = 3;
  return c;
}

void quiet_step(const StepReport&) {}
void quiet_eval(const EvalReport&) {}

std::map<std::string, std::vector<float>> state_of(Trainer& t) {
  std::map<std::string, std::vector<float>> s;
  for (const ParameterList& list : {t.model().parameters(), t.model().buffers()})
    for (const auto& [name, tensor] : list)
      if (tensor.dtype() == DType::f32) s[name] = tensor.to(Device::cpu()).to_vector<float>();
  return s;
}

float restarts_of(Trainer& t) {
  for (const auto& [name, tensor] : t.model().buffers())
    if (name.size() >= 8 && name.compare(name.size() - 8, 8, "restarts") == 0)
      return host(tensor).to_vector<float>()[0];
  return -1.0f;
}

// Every state tensor equal within float tolerance; returns the worst |a - b|.
void expect_close(const std::map<std::string, std::vector<float>>& a,
                  const std::map<std::string, std::vector<float>>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, va] : a) {
    const std::vector<float>& vb = b.at(name);
    ASSERT_EQ(va.size(), vb.size()) << what << ": " << name;
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      const double d = std::fabs(static_cast<double>(va[i]) - vb[i]) - 1e-3 * std::fabs(static_cast<double>(vb[i]));
      if (d > worst) worst = d, at = i;
    }
    EXPECT_LE(worst, 2e-4) << what << ": " << name << "[" << at << "] " << va[at] << " vs " << vb[at];
  }
}

TEST(Dist, Collectives) {
  ASSERT_EQ(comm().size(), 2) << "run under mpirun -np 2";
  const int r = comm().rank();
  Tensor x = on_dev(Tensor::from_vector<float>({1.0f + r, 10.0f * (r + 1)}, {2}));
  comm().all_reduce_(x, dist::ReduceOp::sum);
  EXPECT_EQ(host(x).to_vector<float>(), (std::vector<float>{3.0f, 30.0f}));
  comm().all_reduce_(x, dist::ReduceOp::avg);
  EXPECT_EQ(host(x).to_vector<float>(), (std::vector<float>{3.0f, 30.0f}));  // already equal everywhere
  Tensor y = on_dev(Tensor::from_vector<float>({2.0f * r, 1.0f}, {2}));
  comm().start_all_reduce_(y, dist::ReduceOp::avg)->wait();
  EXPECT_EQ(host(y).to_vector<float>(), (std::vector<float>{1.0f, 1.0f}));
  Tensor counts = on_dev(Tensor::from_vector<int32_t>({r, 1}, {2}));
  comm().all_reduce_(counts, dist::ReduceOp::sum);
  EXPECT_EQ(host(counts).to_vector<int32_t>(), (std::vector<int32_t>{1, 2}));
  Tensor b = on_dev(Tensor::from_vector<float>({static_cast<float>(7 + r)}, {1}));
  comm().broadcast_(b, 1);
  EXPECT_EQ(host(b).to_vector<float>()[0], 8.0f);
  const Tensor g = comm().all_gather(on_dev(Tensor::from_vector<int32_t>({r, r}, {1, 2})));
  EXPECT_EQ(g.shape(), Shape({2, 2}));
  EXPECT_EQ(host(g).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1, 1}));  // rank order
  EXPECT_THROW(comm().all_reduce_(counts, dist::ReduceOp::avg), Error);         // avg of integers
}

TEST(Dist, MismatchedGatherFailsOnEveryRankInsteadOfHanging) {
  // NCCL cannot compare the sizes first without a host synchronisation, which a captured step
  // does not allow; the trainer's callers pass equal shapes by construction.
  if (comm().kind() == "nccl") GTEST_SKIP() << "MPI ranks only: NCCL gathers do not check sizes";
  // A rank with no rows left contributes nothing: every rank must get the error.
  const Tensor mine = Tensor::zeros({comm().rank() == 0 ? 3 : 0, 2});
  try {
    (void)comm().all_gather(mine);
    ADD_FAILURE() << "an uneven all_gather did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: 6, rank 1: 0 elements"), std::string::npos) << e.what();
  }
}

TEST(Dist, UnevenBatchSplitFailsOnEveryRank) {
  TrainConfig c = vq_run(run_dir("uneven"), 2);
  c.batch = 15;
  try {
    Trainer t(c, dev(), false, &comm());
    ADD_FAILURE() << "a batch of 15 over 2 ranks was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be split evenly over 2 ranks"), std::string::npos) << e.what();
  }
}

TEST(Dist, EpochsWithAShortLastBatchEndTogether) {
  // 40 images in global batches of 16: 2 steps per epoch on every rank, the last 8 dropped.
  TrainConfig c = vq_run(run_dir("epochs"), 0);
  c.data.count = 40;
  c.epochs = 3;
  Trainer t(c, dev(), false, &comm());
  t.run(quiet_step, quiet_eval);
  EXPECT_EQ(t.step(), 6);
  comm().barrier();
}

TEST(Dist, RanksStayBitIdenticalAndMatchOneRankOnTheDoubledBatch) {
  const int64_t steps = 6;
  Trainer two(vq_run(run_dir("two"), steps), dev(), false, &comm());
  two.run(quiet_step, quiet_eval);
  const auto state = state_of(two);
  EXPECT_GT(restarts_of(two), 0.0f) << "no dead code was restarted: the test does not cover restarts";
  // Bitwise across ranks, tensor by tensor (the trainer's own digest check passed at each save).
  for (const auto& [name, values] : state) {
    const Tensor both =
        comm().all_gather(on_dev(Tensor::from_vector(values, {1, static_cast<int64_t>(values.size())})));
    const std::vector<float> v = host(both).to_vector<float>();
    EXPECT_TRUE(std::equal(v.begin(), v.begin() + values.size(), v.begin() + values.size()))
        << name << " differs between the ranks";
  }
  if (comm().is_root()) {
    Trainer one(vq_run(local_dir("one"), steps), dev(), false);  // 1 rank, batch 16
    one.run(quiet_step, quiet_eval);
    EXPECT_EQ(restarts_of(one), restarts_of(two));
    expect_close(state, state_of(one), "2 ranks x 8 vs 1 rank x 16");
  }
  comm().barrier();
}

// A model of `kind` on this rank, with its own step, fed the same batches as in one process.
struct RankStep {
  RankStep(const std::string& kind, TrainStepOptions options, const Tensor& first_batch)
      : init(7),
        model(make_model(kind, nlohmann::json::object(), {1, 28, 28}, init, dev())),
        adam(model->parameters(), AdamOptions{1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, true, 1.0f}),
        step(*model, adam, {1e-3f}, dev(), options) {
    model->initialize(on_dev(first_batch), StepInfo{0, 0, true, nullptr, options.comm});
  }
  InitStream init;
  std::unique_ptr<GenerativeModel> model;
  Adam adam;
  TrainStep step;
};

// This rank's batch of step s: different on every rank, as shards are.
Tensor rank_batch(int64_t s) {
  return uniform({8, 1, 28, 28}, 100 + static_cast<uint64_t>(comm().rank()), static_cast<uint64_t>(s) * 8 * 784);
}

std::vector<float> flat_parameters(const GenerativeModel& model) {
  std::vector<float> all;
  for (const auto& [name, p] : model.parameters()) {
    const std::vector<float> v = host(p).to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

bool same_on_every_rank(const std::vector<float>& mine) {
  const Tensor both = comm().all_gather(on_dev(Tensor::from_vector(mine, {1, static_cast<int64_t>(mine.size())})));
  const std::vector<float> v = host(both).to_vector<float>();
  return std::equal(v.begin(), v.begin() + mine.size(), v.begin() + mine.size());
}

TEST(Dist, GradientsExchangedDuringBackwardEqualThoseExchangedAfterIt) {
  // Small buckets, so that the convolutional VQ-VAE's gradients fill several and the first
  // ones start while the backward pass is still running.
  TrainStepOptions overlapped{0, 1, false, 2, &comm()};
  overlapped.bucket_bytes = 16 << 10;
  TrainStepOptions after = overlapped;
  after.overlap = false;
  RankStep a("vqvae", overlapped, rank_batch(0)), b("vqvae", after, rank_batch(0));
  for (int64_t s = 0; s < 4; ++s) {
    a.step.take(rank_batch(s), s);
    b.step.take(rank_batch(s), s);
  }
  const GradientSync* sync = a.step.grad_sync();
  ASSERT_NE(sync, nullptr);
  EXPECT_GT(sync->last_collectives(), 2);
  EXPECT_GT(sync->last_overlapped(), 0) << "no bucket started before the backward pass ended";
  EXPECT_EQ(b.step.grad_sync()->last_overlapped(), 0);
  EXPECT_EQ(sync->last_bytes(), b.step.grad_sync()->last_bytes());
  const std::vector<float> pa = flat_parameters(*a.model), pb = flat_parameters(*b.model);
  EXPECT_TRUE(pa == pb) << "overlapped and after-backward exchanges gave different parameters";
  EXPECT_TRUE(same_on_every_rank(pa)) << "the ranks' parameters differ";
}

TEST(Dist, ANonFiniteStepOnOneRankIsSkippedOnEveryRank) {
  // The VQ-VAE also all-reduces its EMA statistics, which the poisoned batch makes non-finite too.
  for (const char* kind : {"vae", "vqvae"}) {
    SCOPED_TRACE(kind);
    TrainStepOptions options{0, 4, false, 2, &comm()};
    RankStep r(kind, options, rank_batch(0));
    for (int64_t s = 0; s < 4; ++s) {
      Tensor x = rank_batch(s);
      if (s == 2 && comm().rank() == 1) x.data<float>()[5] = NAN;  // only rank 1 sees it
      r.step.take(x, s);
    }
    const std::vector<std::vector<float>> rows = r.step.read(0, 3);
    ASSERT_EQ(r.step.figure_names().back(), "skipped");
    std::vector<float> skipped;
    for (const auto& row : rows) skipped.push_back(row.back());
    EXPECT_EQ(skipped, (std::vector<float>{0, 0, 1, 0})) << "on rank " << comm().rank();
    EXPECT_TRUE(same_on_every_rank(skipped));
    std::vector<float> state = flat_parameters(*r.model);
    for (const auto& [name, buffer] : r.model->buffers())
      if (buffer.dtype() == DType::f32) {
        const std::vector<float> v = host(buffer).to_vector<float>();
        state.insert(state.end(), v.begin(), v.end());
      }
    EXPECT_TRUE(std::all_of(state.begin(), state.end(), [](float v) { return std::isfinite(v); }))
        << "a skipped step wrote non-finite values into the parameters or buffers";
    EXPECT_TRUE(same_on_every_rank(state)) << "the ranks diverged over a step only one of them saw as non-finite";
  }
}

TEST(Dist, ACheckpointRefusesRanksThatDiverged) {
  const std::string dir = run_dir("diverged");
  Trainer t(vq_run(dir, 2), dev(), false, &comm());
  if (comm().rank() == 1) {
    Tensor p = t.model().parameters().front().second;
    Tensor changed = host(p);
    changed.data<float>()[0] += 1.0f;
    copy_bytes(p.raw(), p.device(), changed.raw(), Device::cpu(), p.bytes());
  }
  try {
    t.save();
    ADD_FAILURE() << "a checkpoint of diverged ranks was written";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1's parameters"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/ckpt-00000000.safetensors"));
  comm().barrier();
}

TEST(Dist, ATwoRankCheckpointResumesOnOneRank) {
  const std::string dir = run_dir("resume");
  {
    Trainer two(vq_run(dir, 6), dev(), false, &comm());
    two.run(quiet_step, quiet_eval, 4);  // checkpoint at step 3, then "crashes" after step 4
  }
  comm().barrier();
  if (comm().is_root()) {
    Trainer resumed(vq_run(dir, 6), dev(), true);
    EXPECT_EQ(resumed.step(), 3);
    resumed.run(quiet_step, quiet_eval);
    Trainer straight(vq_run(local_dir("resume-straight"), 6), dev(), false);
    straight.run(quiet_step, quiet_eval);
    expect_close(state_of(resumed), state_of(straight), "2 ranks to step 3, 1 rank on, vs 1 rank throughout");
  }
  comm().barrier();
}

}  // namespace
}  // namespace lvk::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* device = std::getenv("LVK_DIST_TEST_DEVICE");
  lvk::dist::World world = lvk::dist::join_world(device != nullptr && *device != '\0' ? device : "cpu");
  lvk::test::g_world = &world;
  if (world.comm->size() < 2) {
    std::fprintf(stderr, "lvk_dist_tests: run under mpirun -np 2 (this is a world of %d)\n", world.comm->size());
    return 1;
  }
  const int failed = RUN_ALL_TESTS();
  world.comm->barrier();
  if (world.comm->is_root() && std::getenv("KEEP") == nullptr)
    fs::remove_all(fs::temp_directory_path() / ("lvk-dist-" + std::to_string(getppid())));
  lvk::Tensor total = lvk::Tensor::from_vector<int32_t>({failed != 0 ? 1 : 0}, {1}).to(world.device);
  world.comm->all_reduce_(total, lvk::dist::ReduceOp::sum);
  const int failing = total.to(lvk::Device::cpu()).to_vector<int32_t>()[0];
  if (world.comm->is_root() && failing > 0) std::fprintf(stderr, "lvk_dist_tests: %d rank(s) had failures\n", failing);
  return failing > 0 ? 1 : 0;
}
