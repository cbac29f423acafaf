// Whole-flow RealNVP log_prob throughput (vectors/s): ActNorm + coupling layers with MLP
// conditioners (hidden 256, two trunk layers), the architecture bench/torch/flow_baseline.py
// mirrors. Args: device (0 cpu, 1 cuda), batch, D, layers.
// MAF: one layer (ActNorm + MADE with one hidden layer of H units): the density direction, and
// sampling two ways: lvk's one-launch inverse (incremental, O(D H) per sample) against the D full
// MADE passes other libraries run (nflows, normflows: O(D^2 H)). Args: device, batch, D, H.
#include "bench/harness.h"
#include "models/maf.h"
#include "models/realnvp.h"
#include "runtime/ops/basic.h"
#include "runtime/storage.h"
#include "runtime/tape.h"

namespace lvk::bench {
namespace {

constexpr int64_t kHidden = 256;

// Runs `body(flow, z)` per iteration for the benchmark's (device, batch, D, layers).
template <class Body>
void run_flow_case(benchmark::State& state, Body body) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  InitStream init(1);
  const RealNvp flow({d, static_cast<int>(state.range(3)), kHidden, 2, 2.0f, MaskKind::alternating, true}, init, dev);
  const Tensor z = normal({n, d}, 2, 0, dev);
  time_iterations(state, dev, [&] { body(flow, z); });
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_flow_log_prob(benchmark::State& state) {
  NoGrad no_grad;
  run_flow_case(state, [](const RealNvp& flow, const Tensor& z) { benchmark::DoNotOptimize(flow.log_prob(z)); });
}

void BM_flow_log_prob_backward(benchmark::State& state) {
  run_flow_case(state, [](const RealNvp& flow, const Tensor& z) {
    Tape tape;
    Tensor loss;
    {
      TapeRecording rec(tape);
      loss = mean(flow.log_prob(z));
    }
    tape.backward(loss);
  });
}

// Runs `body(flow, z)` per iteration for the benchmark's (device, batch, D, H).
template <class Body>
void run_maf_case(benchmark::State& state, Body body) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2), h = state.range(3);
  InitStream init(1);
  const Maf flow({d, 1, h, 1, 2.0f, true}, init, dev);
  // Non-zero heads, so the timed work is that of a trained flow (a fresh one is the identity).
  uint64_t offset = 100;
  for (auto& [name, p] : flow.parameters()) {
    const Tensor v = scale(normal(p.shape(), 3, offset++, dev), 0.05f);
    copy_bytes(p.raw(), dev, v.raw(), dev, p.bytes());
  }
  const Tensor z = normal({n, d}, 2, 0, dev);
  NoGrad no_grad;
  time_iterations(state, dev, [&] { body(flow, z); });
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_maf_log_prob(benchmark::State& state) {
  run_maf_case(state, [](const Maf& flow, const Tensor& z) { benchmark::DoNotOptimize(flow.log_prob(z)); });
}

void BM_maf_sample_fused(benchmark::State& state) {
  run_maf_case(state, [](const Maf& flow, const Tensor& u) { benchmark::DoNotOptimize(flow.inverse(u)); });
}

void BM_maf_sample_reevaluation(benchmark::State& state) {
  run_maf_case(state,
               [](const Maf& flow, const Tensor& u) { benchmark::DoNotOptimize(flow.inverse_by_reevaluation(u)); });
}

BENCHMARK(BM_maf_log_prob)
    ->ArgsProduct({{0, 1}, {4096}, {16, 32, 64}, {128, 256, 512}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_maf_sample_fused)
    ->ArgsProduct({{0, 1}, {4096}, {16, 32, 64}, {128, 256, 512}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_maf_sample_reevaluation)
    ->ArgsProduct({{0, 1}, {4096}, {16, 32, 64}, {128, 256, 512}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_flow_log_prob)
    ->ArgsProduct({{0, 1}, {4096}, {16, 64, 256}, {4, 8}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_flow_log_prob_backward)
    ->ArgsProduct({{0, 1}, {4096}, {16, 64, 256}, {4, 8}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
