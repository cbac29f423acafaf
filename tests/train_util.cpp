#include "tests/train_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"

namespace fs = std::filesystem;

namespace lvk::test {

std::string fresh_run_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("lvk_run_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir.string();
}

void SuiteSetup::run(const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

TrainConfig small_run(const std::string& model, nlohmann::json options, const std::string& out) {
  TrainConfig c;
  c.model = model;
  c.model_options = std::move(options);
  c.data.source = "shapes";
  c.data.count = 256;
  c.data.side = 12;
  c.steps = 6;
  c.batch = 16;
  c.lr = 3e-3f;
  c.warmup = 2;
  c.eval_every = 1000;
  c.eval_batches = 1;
  c.checkpoint_every = 3;
  c.out = out;
  return c;
}

double output_term(const ModelOutput& out, const std::string& name) {
  for (const auto& [n, t] : out.terms)
    if (n == name) return t.item();
  ADD_FAILURE() << "no term " << name;
  return NAN;
}

VqVaeOptions tiny_vq_options(const std::string& codebook) {
  VqVaeOptions o;
  o.channels = 4;
  o.vq.codes = 8;
  o.vq.code_dim = 3;
  o.vq.codebook = codebook;
  o.vq.kmeans_init = false;
  return o;
}

std::vector<double> metric_losses(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<double> losses;
  std::string line;
  while (std::getline(in, line)) losses.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return losses;
}

namespace {
void expect_same_tensors(const char* what, const ParameterList& a, const ParameterList& b) {
  EXPECT_EQ(a.size(), b.size()) << what;
  if (a.size() != b.size()) return;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first) << what;
    const Tensor x = a[i].second.to(Device::cpu()), y = b[i].second.to(Device::cpu());
    EXPECT_EQ(x.str(), y.str()) << what << " " << a[i].first;
    if (x.str() == y.str()) {
      EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.bytes()), 0) << what << " " << a[i].first << " differs";
    }
  }
}
}  // namespace

std::string expect_exact_resume(const TrainConfig& config, int64_t stop_at, int64_t resumes_from, Device device) {
  TrainConfig straight = config, resumed = config;
  straight.out = fresh_run_dir(fs::path(config.out).filename().string() + "-straight");
  resumed.out = fresh_run_dir(fs::path(config.out).filename().string() + "-resumed");
  auto no_step = [](const StepReport&) {};
  auto no_eval = [](const EvalReport&) {};
  Trainer(straight, device, false).run(no_step, no_eval);
  Trainer(resumed, device, false).run(no_step, no_eval, stop_at);
  {
    Trainer t(resumed, device, true);
    EXPECT_EQ(t.step(), resumes_from);
    t.run(no_step, no_eval);
  }
  const std::vector<double> a = metric_losses(straight.out), b = metric_losses(resumed.out);
  EXPECT_EQ(a.size(), static_cast<size_t>(config.steps));
  EXPECT_EQ(b.size(), a.size()) << "metrics of the lost steps must be replaced, not duplicated";
  if (a.size() != b.size()) return resumed.out;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  const CheckpointState sa = load_checkpoint(*latest_checkpoint(straight.out), Device::cpu());
  const CheckpointState sb = load_checkpoint(*latest_checkpoint(resumed.out), Device::cpu());
  expect_same_tensors("parameters", sa.params, sb.params);
  expect_same_tensors("buffers", sa.buffers, sb.buffers);
  expect_same_tensors("optimizer state", sa.optimizer, sb.optimizer);
  EXPECT_EQ(sa.loader.position, sb.loader.position);
  EXPECT_EQ(sa.loader.epoch, sb.loader.epoch);
  return resumed.out;
}

}  // namespace lvk::test
