// One train step of every model of `lvk train` (models/train_step.h, as the trainer takes it), on
// 28x28 single-channel images at the models' default sizes: the eager step against the step
// replayed from a CUDA Graph, which on a GPU shows how much of an eager step is launch overhead.
// Args: device (0 cpu, 1 cuda), model (0 vae, 1 flowvae, 2 dvae, 3 vqvae, 4 vqvae2), batch,
// CUDA Graph (0/1; ignored on the CPU). bench_vqvae has the VQ-VAE comparison with PyTorch.
#include <string>

#include "bench/harness.h"
#include "models/model_factory.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

const char* const kModels[] = {"vae", "flowvae", "dvae", "vqvae", "vqvae2"};

void BM_train_step(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const std::string kind = kModels[state.range(1)];
  const int64_t batch = state.range(2);
  InitStream init(1);
  const std::unique_ptr<GenerativeModel> model = make_model(kind, nlohmann::json::object(), {1, 28, 28}, init, dev);
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
  if (dev.is_cuda()) state.counters["graph_steps"] = static_cast<double>(step.graph_steps());
}

BENCHMARK(BM_train_step)
    ->ArgsProduct({{0}, {0, 1, 2, 3, 4}, {32}, {0}})
    ->ArgsProduct({{1}, {0, 1, 2, 3, 4}, {128}, {0, 1}})
    ->ArgNames({"dev", "model", "batch", "graph"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
