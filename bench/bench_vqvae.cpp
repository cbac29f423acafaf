// VQ-VAE training throughput (images/s): one whole train step (forward on the tape, backward,
// Adam with global-norm clipping) of the `lvk train vqvae` architecture at channels 64, K = 512,
// C = 64, codebook loss, no k-means, no code statistics: what bench/torch/vqvae_baseline.py runs
// in PyTorch eager and torch.compile. Args: device (0 cpu, 1 cuda), batch, image side, EMA (0/1).
// The CPU cases are small (batch 32) so the binary stays usable on a laptop; the GPU cases are
// the batch 128 and 512 at 28x28 and 32x32, each eager and replayed from a CUDA Graph.
// 4 warm-up steps precede the timing.
#include "bench/harness.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "models/vqvae.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

VqVaeOptions bench_options(bool ema) {
  VqVaeOptions o;
  o.channels = 64;
  o.vq.codes = 512;
  o.vq.code_dim = 64;
  o.vq.codebook = ema ? "ema" : "loss";
  o.vq.kmeans_init = false;
  o.vq.stats = false;  // the PyTorch baseline computes no code statistics
  return o;
}

// The model, its optimiser and the trainer's step (models/train_step.h): clock-driven Adam, the
// per-step figures into the device ring, and on CUDA the captured graph when `graph` is set.
struct Run {
  VqVae model;
  Adam adam;
  TrainStep step;
  int64_t taken = 0;
  Run(const VqVaeOptions& o, int64_t side, InitStream&& init, Device dev, bool graph)
      : model(o, ImageShape{1, side, side}, init, dev),
        adam(model.parameters(), AdamOptions{2e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, true, 1.0f}),
        step(model, adam, {2e-4f}, dev, TrainStepOptions{0, 1, graph}) {}
  void operator()(const Tensor& x) { step.take(x, taken++); }
};

void BM_vqvae_train_step(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t batch = state.range(1), side = state.range(2);
  Run run(bench_options(state.range(3) != 0), side, InitStream(1), dev, state.range(4) != 0);
  const Tensor x = uniform({batch, 1, side, side}, 2, 0, dev);
  for (int i = 0; i < 4; ++i) run(x);  // warm-up: allocator pools, cuBLAS/cuDNN plans, the graph capture
  time_iterations(state, dev, [&] { run(x); });
  if (dev.is_cuda()) {
    state.counters["graph_steps"] = static_cast<double>(run.step.graph_steps());
    if (!run.step.graph_note().empty()) state.SetLabel(run.step.graph_note());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

// Quality at a fixed step count for the comparison with the PyTorch script's loss_after_steps
// (same architecture, optimiser, fixed U(0, 1) batch, seed policy: each side's own RNG). Args:
// device, batch, side, steps. Counters: loss and mse after the last step.
void BM_vqvae_loss_after_steps(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t batch = state.range(1), side = state.range(2), steps = state.range(3);
  for (auto _ : state) {
    Run run(bench_options(false), side, InitStream(1), dev, true);
    const Tensor x = uniform({batch, 1, side, side}, 2, 0, dev);
    for (int64_t i = 0; i < steps; ++i) run(x);
    // The last step's figures, as the trainer reads them.
    const std::vector<float> last = run.step.read(steps - 1, steps - 1).front();
    const std::vector<std::string>& names = run.step.figure_names();
    for (size_t j = 0; j < names.size(); ++j)
      if (names[j] == "loss" || names[j] == "mse") state.counters[names[j]] = last[j];
  }
  state.counters["steps"] = static_cast<double>(steps);
}

BENCHMARK(BM_vqvae_loss_after_steps)
    ->Args({0, 32, 28, 20})
    ->Args({0, 32, 28, 1})
    ->Args({0, 32, 28, 5})
    ->Args({0, 32, 28, 200})
    ->ArgsProduct({{1}, {128, 512}, {28, 32}, {200}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// Args: device, batch, side, EMA, CUDA Graph (0 eager, 1 captured; ignored on the CPU).
BENCHMARK(BM_vqvae_train_step)
    ->ArgsProduct({{0}, {32}, {28, 32}, {0, 1}, {0}})
    ->ArgsProduct({{1}, {128, 512}, {28, 32}, {0, 1}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
