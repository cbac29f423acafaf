// The aggregated-posterior log-density of ELBO surgery: M points against N diagonal-Gaussian
// components. Args: device (0 cpu, 1 cuda), M = N, D. Reports pairs/s and FLOP/s (3 per pair and
// dimension: subtract, multiply, fused multiply-add).
#include "bench/harness.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/mixture.h"

namespace lvk::bench {
namespace {

void BM_mixture_log_density(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  Tensor z = normal({n, d}, 1, 0, dev), mu = normal({n, d}, 1, 1, dev), lv = normal({n, d}, 1, 2, dev);
  time_iterations(state, dev, [&] { benchmark::DoNotOptimize(gaussian_mixture_log_density(z, mu, lv)); });
  const double pairs = static_cast<double>(n) * n;
  state.counters["pairs/s"] = benchmark::Counter(pairs * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(3.0 * pairs * d * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_mixture_log_density)
    ->Args({0, 2000, 32})
    ->Args({0, 10000, 32})
    ->Args({1, 10000, 32})
    ->Args({1, 60000, 32})
    ->Args({1, 60000, 64})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
