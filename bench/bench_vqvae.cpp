// VQ-VAE training throughput (images/s): one whole train step (forward on the tape, backward,
// Adam with global-norm clipping) of the `lvk train vqvae` architecture at channels 64, K = 512,
// C = 64, codebook loss, no k-means, no stats read-back: what bench/torch/vqvae_baseline.py runs
// in PyTorch eager and torch.compile. Args: device (0 cpu, 1 cuda), batch, image side, EMA (0/1).
// The CPU cases are small (batch 32) so the binary stays usable on a laptop; the GPU cases are
// the batch 128 and 512 at 28x28 and 32x32. 3 warm-up steps precede the timing.
#include "bench/harness.h"
#include "models/optim.h"
#include "models/vqvae.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace lvk::bench {
namespace {

VqVaeOptions bench_options(bool ema) {
  VqVaeOptions o;
  o.channels = 64;
  o.vq.codes = 512;
  o.vq.code_dim = 64;
  o.vq.codebook = ema ? "ema" : "loss";
  o.vq.kmeans_init = false;
  o.vq.stats = false;  // the trainer's stats read K counts back; a throughput run reads nothing
  return o;
}

// One train step as the trainer takes it (minus its logging reads); returns the loss tensor.
struct Step {
  VqVae model;
  Adam adam;
  int64_t step = 0;
  Step(const VqVaeOptions& o, int64_t side, InitStream&& init, Device dev)
      : model(o, ImageShape{1, side, side}, init, dev),
        adam(model.parameters(), AdamOptions{2e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, true, 1.0f}) {}
  ModelOutput operator()(const Tensor& x) {
    const StepInfo info{step++, 0, true};
    Tape tape;
    ModelOutput out;
    {
      TapeRecording rec(tape);
      out = model.forward(x, info);
    }
    tape.backward(out.loss);
    adam.step();
    adam.zero_grad();
    model.after_step(x, info);
    return out;
  }
};

void BM_vqvae_train_step(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t batch = state.range(1), side = state.range(2);
  Step step(bench_options(state.range(3) != 0), side, InitStream(1), dev);
  const Tensor x = uniform({batch, 1, side, side}, 2, 0, dev);
  for (int i = 0; i < 3; ++i) step(x);  // warm-up: allocator pools, cuBLAS/cuDNN plans
  time_iterations(state, dev, [&] { step(x); });
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
    Step step(bench_options(false), side, InitStream(1), dev);
    const Tensor x = uniform({batch, 1, side, side}, 2, 0, dev);
    ModelOutput out;
    for (int64_t i = 0; i < steps; ++i) out = step(x);
    state.counters["loss"] = out.loss.item();
    for (const auto& [name, t] : out.terms)
      if (name == "mse") state.counters["mse"] = t.item();
  }
  state.counters["steps"] = static_cast<double>(steps);
}

BENCHMARK(BM_vqvae_loss_after_steps)
    ->Args({0, 32, 28, 20})
    ->Args({0, 32, 28, 1})
    ->Args({0, 32, 28, 5})
    ->ArgsProduct({{1}, {128, 512}, {28, 32}, {200}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

BENCHMARK(BM_vqvae_train_step)
    ->ArgsProduct({{0}, {32}, {28, 32}, {0, 1}})
    ->ArgsProduct({{1}, {128, 512}, {28, 32}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
