// The training loop: exact resume on the CPU, refusing to clobber a run, non-finite steps,
// bad settings, and the run folder's files.
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "runtime/io/atomic_file.h"
#include "tests/harness.h"
#include "tests/train_util.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

std::string fresh_dir(const std::string& name) {
  return fresh_run_dir("trainer_" + name);
}

TrainConfig tiny_config(const std::string& out) {
  TrainConfig c = small_run("vae", {{"latent", 4}, {"hidden", 32}}, out);
  c.eval_every = 100;
  c.eval_batches = 2;
  return c;
}

void ignore_step(const StepReport&) {}
void ignore_eval(const EvalReport&) {}

TEST(Trainer, ResumeContinuesBitIdenticallyOnTheCpu) {
  // Crashes after step 5; the last checkpoint is step 3.
  expect_exact_resume(tiny_config(fresh_dir("resume")), 5, 3);
  const std::string dir = fresh_dir("files");
  Trainer(tiny_config(dir), Device::cpu(), false).run(ignore_step, ignore_eval);
  for (const char* f : {"config.json", "metrics.jsonl", "recon-6.png", "samples-6.png"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
}

// On CUDA too: the default path of every kernel is deterministic, the step clock and the data order
// are restored, and the resumed run captures its step graphs again.
TEST(Trainer, ResumeContinuesBitIdenticallyOnCuda) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  expect_exact_resume(tiny_config(fresh_dir("resume_cuda")), 5, 3, Device::cuda(0));
  TrainConfig vq = small_run("vqvae", {{"channels", 8}, {"codes", 16}, {"code_dim", 4}, {"restart_every", 2}},
                             fresh_dir("resume_cuda_vq"));
  expect_exact_resume(vq, 5, 3, Device::cuda(0));
}

TEST(Trainer, ResumeIsExactWhenFiguresAreReadBackInBatches) {
  TrainConfig c = tiny_config(fresh_dir("resume_batched"));
  c.readback_every = 4;  // the crash after step 5 falls inside a window
  expect_exact_resume(c, 5, 3);
}

TEST(Trainer, KeepsOnlyTheNewestCheckpoints) {
  const std::string dir = fresh_dir("keep");
  TrainConfig c = tiny_config(dir);
  c.checkpoint_every = 1;
  c.keep_checkpoints = 2;
  Trainer t(c, Device::cpu(), false);
  t.run(ignore_step, ignore_eval);
  int count = 0;
  for (const auto& e : fs::directory_iterator(dir)) count += e.path().extension() == ".safetensors";
  EXPECT_EQ(count, 2);
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 6)));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 5)));
}

TEST(Trainer, RefusesToOverwriteOrMismatchARun) {
  const std::string dir = fresh_dir("guard");
  {
    Trainer t(tiny_config(dir), Device::cpu(), false);
    t.run(ignore_step, ignore_eval);
  }
  EXPECT_LVK_ERROR(Trainer(tiny_config(dir), Device::cpu(), false), "already holds a run");
  TrainConfig other = tiny_config(dir);
  other.model_options["latent"] = 5;
  EXPECT_LVK_ERROR(Trainer(other, Device::cpu(), true), "different model, data, batch or seed");
  EXPECT_LVK_ERROR(Trainer(tiny_config(fresh_dir("empty")), Device::cpu(), true), "holds no checkpoint");
}

TEST(Trainer, StopsOnRepeatedNonFiniteStepsWithoutSavingThem) {
  const std::string dir = fresh_dir("nonfinite");
  TrainConfig c = tiny_config(dir);
  c.lr = 1e30f;  // the first update makes the weights astronomically large
  c.warmup = 0;
  c.grad_clip = 0;
  c.checkpoint_every = 1;
  c.max_nonfinite = 3;
  Trainer t(c, Device::cpu(), false);
  int skipped = 0;
  EXPECT_LVK_ERROR(t.run([&](const StepReport& r) { skipped += r.skipped; }, ignore_eval),
                   "consecutive steps had a non-finite");
  EXPECT_EQ(skipped, 3);  // every skipped step is reported, then the run stops
  const std::optional<std::string> last = latest_checkpoint(dir);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, checkpoint_path(dir, 1)) << "no checkpoint may follow the first (last good) step";
}

std::vector<std::string> metric_lines(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Trainer, ReadingFiguresBackInBatchesChangesNothing) {
  // A VQ-VAE with EMA restarts (every 4 steps), an evaluation and checkpoints inside the windows.
  TrainConfig every = small_run("vqvae", {{"channels", 8}, {"codes", 16}, {"code_dim", 4}, {"restart_every", 4}},
                                fresh_dir("readback1"));
  every.steps = 11;
  every.eval_every = 7;
  every.checkpoint_every = 5;
  every.readback_every = 1;
  TrainConfig batched = every;
  batched.out = fresh_dir("readback4");
  batched.readback_every = 4;
  std::vector<int64_t> seen;
  Trainer(every, Device::cpu(), false).run(ignore_step, ignore_eval);
  Trainer(batched, Device::cpu(), false).run([&](const StepReport& r) { seen.push_back(r.step); }, ignore_eval);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  const std::vector<std::string> a = metric_lines(every.out), b = metric_lines(batched.out);
  ASSERT_EQ(a.size(), 11u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[6].find("\"eval\""), std::string::npos) << "step 7 carries the evaluation: " << a[6];
  for (const char* figure : {"\"perplexity\"", "\"usage\"", "\"restarts\"", "\"grad_norm\"", "\"lr\""})
    EXPECT_NE(a[0].find(figure), std::string::npos) << figure << " missing from " << a[0];
  EXPECT_EQ(latest_checkpoint(batched.out), checkpoint_path(batched.out, 11));
  // Each step's learning rate, read from the device clock, is the schedule's.
  const LrSchedule schedule = LrSchedule::cosine(every.lr, every.warmup, every.steps, every.lr * 0.05f);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_FLOAT_EQ(nlohmann::json::parse(a[i]).at("lr").get<float>(), schedule.lr_at(static_cast<int64_t>(i)))
        << "step " << i + 1;
}

// On a GPU: replaying the captured step must train like eager steps (same kernels, values read
// from the device clock), for every model: noise (VAE), a flow prior (flow-VAE), scheduled
// temperature and KL weight (dVAE), EMA restarts (VQ-VAE: two captured variants; VQ-VAE-2: one per
// level) and the PixelCNN prior over a VQ-VAE's codes. A model whose step cannot be captured fails.
TEST(Trainer, CudaGraphReplayMatchesEagerSteps) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  std::string vqvae_run;  // the trained VQ-VAE the code prior reads
  for (auto [model, options] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"vae", {{"latent", 4}, {"hidden", 32}}},
           {"flowvae", {{"latent", 4}, {"hidden", 32}}},
           {"flowvae", {{"latent", 4}, {"hidden", 32}, {"prior", "maf"}}},
           {"flowvae", {{"latent", 4}, {"hidden", 32}, {"prior", "vamp"}, {"pseudo_inputs", 5}}},
           {"dvae", {{"codes", 8}, {"code_dim", 4}, {"channels", 8}, {"anneal_steps", 10}, {"kl_warmup", 5}}},
           {"vqvae", {{"channels", 8}, {"codes", 16}, {"code_dim", 4}, {"restart_every", 5}}},
           {"vqvae2", {{"channels", 8}, {"codes", 16}, {"code_dim", 4}, {"restart_every", 5}}},
           {"vqprior", {{"hidden", 8}, {"layers", 2}, {"kernel", 3}}}}) {
    if (model == "vqprior") options["vqvae"] = vqvae_run;
    const std::string tag = model + (options.contains("prior") ? "_" + options["prior"].get<std::string>() : "");
    SCOPED_TRACE(tag);
    TrainConfig eager = small_run(model, options, fresh_dir("eager_" + tag));
    if (model == "vqvae") vqvae_run = eager.out;
    eager.steps = 14;
    eager.cuda_graph = false;
    TrainConfig graph = eager;
    graph.out = fresh_dir("graph_" + tag);
    graph.cuda_graph = true;
    Trainer e(eager, Device::cuda(0), false);
    e.run(ignore_step, ignore_eval);
    Trainer g(graph, Device::cuda(0), false);
    g.run(ignore_step, ignore_eval);
    EXPECT_EQ(g.graph_note(), "") << model;
    EXPECT_GT(g.graph_steps(), 6) << model;
    EXPECT_EQ(e.graph_steps(), 0) << model;
    // The scheduled values a replay reads from the clock must follow the schedule exactly (a value
    // baked into the graph at capture would repeat); the losses agree up to cuDNN's choices.
    const std::vector<std::string> a = metric_lines(eager.out), b = metric_lines(graph.out);
    ASSERT_EQ(a.size(), b.size()) << model;
    for (size_t i = 0; i < a.size(); ++i) {
      const nlohmann::json ja = nlohmann::json::parse(a[i]), jb = nlohmann::json::parse(b[i]);
      for (const char* exact : {"lr", "tau", "kl_weight", "skipped"}) {
        if (!ja.contains(exact)) continue;
        EXPECT_EQ(jb.value(exact, nlohmann::json()), ja[exact]) << model << " " << exact << " step " << i + 1;
      }
      const double la = ja.at("loss").get<double>(), lb = jb.at("loss").get<double>();
      EXPECT_NEAR(lb, la, 1e-3 * std::fabs(la) + 1e-5) << model << " step " << i + 1;
    }
  }
}

// A checkpoint that cannot be written (here a file-size limit stands in for a full disk) is a
// clear error and leaves the previous checkpoint as it was, with no temporary file behind.
TEST(Trainer, AFailedCheckpointWriteKeepsThePreviousOne) {
  const std::string dir = fresh_dir("full_disk");
  TrainConfig c = tiny_config(dir);
  c.checkpoint_every = 2;
  Trainer t(c, Device::cpu(), false);
  t.run(ignore_step, ignore_eval, 3);  // checkpoint at step 2, then one more step
  const std::string kept = checkpoint_path(dir, 2);
  ASSERT_EQ(latest_checkpoint(dir), kept);
  const std::vector<uint8_t> before = io::read_file(kept, 1 << 30);
  std::signal(SIGXFSZ, SIG_IGN);  // the failing write returns EFBIG instead of killing the process
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  EXPECT_LVK_ERROR(t.save(), "failed");
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(latest_checkpoint(dir), kept);
  EXPECT_EQ(io::read_file(kept, 1 << 30), before);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  t.save();  // with room again, the run saves where it is
  EXPECT_EQ(latest_checkpoint(dir), checkpoint_path(dir, 3));
}

TEST(Trainer, RejectsBadSettings) {
  TrainConfig c = tiny_config(fresh_dir("bad"));
  c.model = "gan";
  EXPECT_LVK_ERROR(Trainer(c, Device::cpu(), false), "unknown model 'gan'");
  c = tiny_config(fresh_dir("bad"));
  c.model_options["laten"] = 3;
  EXPECT_LVK_ERROR(Trainer(c, Device::cpu(), false), "unknown option 'laten'");
  c = tiny_config(fresh_dir("bad"));
  c.lr = -1;
  EXPECT_LVK_ERROR(Trainer(c, Device::cpu(), false), "lr=-1 must be finite and > 0");
  const std::string file = fresh_dir("afile");
  std::ofstream(file) << "x";
  EXPECT_LVK_ERROR(Trainer(tiny_config(file + "/run"), Device::cpu(), false), "cannot create the run folder");
  EXPECT_LVK_ERROR(TrainConfig::from_json({{"stepz", 3}}), "unknown option 'stepz'");
  EXPECT_LVK_ERROR(TrainConfig::from_json({{"steps", "many"}}), "option 'steps' has the wrong type");
}

TEST(Trainer, ConfigRoundTripsThroughJson) {
  TrainConfig c = tiny_config("x");
  c.model = "flowvae";
  c.binarize = true;
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
}

}  // namespace
}  // namespace lvk::test
