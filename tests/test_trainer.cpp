// The training loop: exact resume on the CPU, refusing to clobber a run, non-finite steps,
// bad settings, and the run folder's files.
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "tests/harness.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("lvk_trainer_" + name);
  fs::remove_all(dir);
  return dir.string();
}

TrainConfig tiny_config(const std::string& out) {
  TrainConfig c;
  c.model = "vae";
  c.model_options = {{"latent", 4}, {"hidden", 32}};
  c.data.source = "shapes";
  c.data.count = 256;
  c.data.side = 12;
  c.steps = 6;
  c.batch = 16;
  c.lr = 3e-3f;
  c.warmup = 2;
  c.eval_every = 100;
  c.eval_batches = 2;
  c.checkpoint_every = 3;
  c.out = out;
  return c;
}

std::vector<double> losses_of(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<double> losses;
  std::string line;
  while (std::getline(in, line)) losses.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return losses;
}

void ignore_step(const StepReport&) {}
void ignore_eval(const EvalReport&) {}

TEST(Trainer, ResumeContinuesBitIdenticallyOnTheCpu) {
  const std::string straight = fresh_dir("straight"), resumed = fresh_dir("resumed");
  {
    Trainer t(tiny_config(straight), Device::cpu(), false);
    t.run(ignore_step, ignore_eval);
  }
  {
    Trainer t(tiny_config(resumed), Device::cpu(), false);
    t.run(ignore_step, ignore_eval, /*stop_at=*/5);  // "crashes" after step 5; last checkpoint is step 3
  }
  {
    Trainer t(tiny_config(resumed), Device::cpu(), true);
    EXPECT_EQ(t.step(), 3);
    t.run(ignore_step, ignore_eval);
  }
  const std::vector<double> a = losses_of(straight + "/metrics.jsonl"), b = losses_of(resumed + "/metrics.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u) << "metrics of the lost steps 4-5 must be replaced, not duplicated";
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  const CheckpointState sa = load_checkpoint(*latest_checkpoint(straight), Device::cpu());
  const CheckpointState sb = load_checkpoint(*latest_checkpoint(resumed), Device::cpu());
  ASSERT_EQ(sa.params.size(), sb.params.size());
  for (size_t i = 0; i < sa.params.size(); ++i)
    EXPECT_EQ(sa.params[i].second.to_vector<float>(), sb.params[i].second.to_vector<float>()) << sa.params[i].first;
  EXPECT_EQ(sa.loader.position, sb.loader.position);
  EXPECT_TRUE(fs::exists(straight + "/config.json"));
  EXPECT_TRUE(fs::exists(straight + "/recon-6.png"));
  EXPECT_TRUE(fs::exists(straight + "/samples-6.png"));
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
  EXPECT_EQ(skipped, 2);  // the third one throws before reporting
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
