// The training loop: exact resume on the CPU, refusing to clobber a run, non-finite steps,
// bad settings, and the run folder's files.
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "tests/harness.h"
#include "tests/train_util.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

std::string fresh_dir(const std::string& name) { return fresh_run_dir("trainer_" + name); }

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
