// The foundation's ops: elementwise add (bandwidth), full sum (deterministic reduction), sgemm.
// Argument 0 selects the device (0 = cpu, 1 = cuda), argument 1 the size.
#include "bench/harness.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

void BM_add(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t n = state.range(1);
  Tensor a = uniform({n}, 1, 0, device), b = uniform({n}, 1, 1, device);
  time_iterations(state, device, [&] { benchmark::DoNotOptimize(add(a, b)); });
  state.SetBytesProcessed(state.iterations() * n * 3 * static_cast<int64_t>(sizeof(float)));
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_add)->ArgsProduct({{0, 1}, {1 << 20, 1 << 26}})->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_sum(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t n = state.range(1);
  Tensor x = uniform({n}, 2, 0, device);
  time_iterations(state, device, [&] { benchmark::DoNotOptimize(sum(x)); });
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_sum)->ArgsProduct({{0, 1}, {1 << 20, 1 << 26}})->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_matmul(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t n = state.range(1);
  Tensor a = uniform({n, n}, 3, 0, device), b = uniform({n, n}, 3, 1, device);
  time_iterations(state, device, [&] { benchmark::DoNotOptimize(matmul(a, b)); });
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * n * n * n * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_matmul)->ArgsProduct({{0, 1}, {256, 1024, 4096}})->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
