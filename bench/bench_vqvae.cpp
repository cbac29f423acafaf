// VQ-VAE training throughput (images/s): one whole train step (forward on the tape, backward,
// Adam with global-norm clipping) of the `lvk train vqvae` architecture at channels 64, K = 512,
// C = 64, codebook loss, no k-means, no stats read-back: what bench/torch/vqvae_baseline.py runs
// in PyTorch eager and torch.compile. Args: device (0 cpu, 1 cuda), batch, image side, EMA (0/1).
// The CPU cases are small (batch 32) so the binary stays usable on a laptop; the GPU cases are
// the batch 128 and 512 at 28x28 and 32x32.
#include "bench/harness.h"
#include "models/optim.h"
#include "models/vqvae.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace lvk::bench {
namespace {

void BM_vqvae_train_step(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t batch = state.range(1), side = state.range(2);
  const bool ema = state.range(3) != 0;
  VqVaeOptions o;
  o.channels = 64;
  o.vq.codes = 512;
  o.vq.code_dim = 64;
  o.vq.codebook = ema ? "ema" : "loss";
  o.vq.kmeans_init = false;
  o.vq.stats = false;  // the trainer's stats read K counts back; a throughput run reads nothing
  InitStream init(1);
  VqVae model(o, ImageShape{1, side, side}, init, dev);
  Adam adam(model.parameters(), AdamOptions{2e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, true, 1.0f});
  const Tensor x = uniform({batch, 1, side, side}, 2, 0, dev);
  int64_t step = 0;
  time_iterations(state, dev, [&] {
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
  });
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_vqvae_train_step)
    ->ArgsProduct({{0}, {32}, {28, 32}, {0, 1}})
    ->ArgsProduct({{1}, {128, 512}, {28, 32}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
