// One train step of every model of `lvk train` (models/train_step.h, as the trainer takes it), on
// 28x28 single-channel images at the models' default sizes: the eager step against the step
// replayed from a CUDA Graph, which on a GPU shows how much of an eager step is launch overhead.
// Args: device (0 cpu, 1 cuda), model (an index into kModels), batch, CUDA Graph (0/1; ignored on
// the CPU). Counters: images/s, the model's trained parameters (what a PyTorch twin must match) and
// the process's peak resident memory so far (process-wide: run one case per process to read one
// case's peak, as bench/torch/train_side_by_side.py does). bench/torch/train_step_baseline.py is
// the same architecture in PyTorch; bench_vqvae has the VQ-VAE loss comparison.
#include <sys/resource.h>

#include <string>

#include "bench/harness.h"
#include "models/model_factory.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

const char* const kModels[] = {"vae", "flowvae", "dvae", "vqvae", "vqvae2", "vqprior"};

// The model's options: the defaults, but the PixelCNN prior needs its VQ-VAE. As in `lvk train
// vqprior`, every step encodes the batch through the frozen VQ-VAE to get the code maps; here the
// VQ-VAE is a freshly initialised default one (its options inline, so no run folder is read), and
// the batch is fixed, so the prior trains on the same codes every step.
nlohmann::json options_for(const std::string& kind) {
  if (kind != "vqprior") return nlohmann::json::object();
  return {{"vqvae", "untrained default vqvae"},
          {"vqvae_model", {{"options", nlohmann::json::object()}, {"image", {1, 28, 28}}}}};
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

void BM_train_step(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const std::string kind = kModels[state.range(1)];
  const int64_t batch = state.range(2);
  InitStream init(1);
  const std::unique_ptr<GenerativeModel> model = make_model(kind, options_for(kind), {1, 28, 28}, init, dev);
  Adam adam(model->parameters(), AdamOptions{1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, true, 1.0f});
  TrainStep step(*model, adam, {1e-3f}, dev, TrainStepOptions{0, 1, state.range(3) != 0});
  const Tensor x = uniform({batch, 1, 28, 28}, 2, 0, dev);
  model->initialize(x, StepInfo{0, 0, true});
  int64_t taken = 0;
  for (int i = 0; i < 4; ++i) step.take(x, taken++);  // warm-up and the capture
  time_iterations(state, dev, [&] { step.take(x, taken++); });
  state.SetLabel(kind + (step.graph_note().empty() ? "" : "; " + step.graph_note()));
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
  state.counters["parameters"] = static_cast<double>(model->parameter_count());
  state.counters["peak_rss_mb"] = peak_rss_mb();
  if (dev.is_cuda()) state.counters["graph_steps"] = static_cast<double>(step.graph_steps());
}

BENCHMARK(BM_train_step)
    ->ArgsProduct({{0}, {0, 1, 2, 3, 4, 5}, {32, 128}, {0}})
    ->ArgsProduct({{1}, {0, 1, 2, 3, 4, 5}, {128}, {0, 1}})
    ->ArgNames({"dev", "model", "batch", "graph"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
