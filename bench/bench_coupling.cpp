// Affine coupling: the fused one-pass kernels against the unfused eager composition (tanh, exp,
// mul, add, blend, masked row sum as separate passes) in the same run. Args: device (0 cpu, 1 cuda),
// N, D. Bytes count what each variant must move at minimum: the fused kernel's traffic.
#include "bench/harness.h"
#include "kernels/coupling.h"
#include "kernels/coupling_unfused.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/coupling.h"

namespace lvk::bench {
namespace {

struct CouplingInputs {
  Tensor x, s_raw, t, mask, y, logdet, dy, dlogdet, dx, ds, dt;
  CouplingInputs(int64_t n, int64_t d, Device dev)
      : x(normal({n, d}, 1, 0, dev)),
        s_raw(normal({n, d}, 1, 1, dev)),
        t(normal({n, d}, 1, 2, dev)),
        mask(coupling_mask(MaskKind::alternating, {d}, false, dev)),
        y(Tensor::empty({n, d}, DType::f32, dev)),
        logdet(Tensor::empty({n}, DType::f32, dev)),
        dy(normal({n, d}, 1, 3, dev)),
        dlogdet(normal({n}, 1, 4, dev)),
        dx(Tensor::empty({n, d}, DType::f32, dev)),
        ds(Tensor::empty({n, d}, DType::f32, dev)),
        dt(Tensor::empty({n, d}, DType::f32, dev)) {}
};

void set_traffic(benchmark::State& state, int64_t n, int64_t d, int arrays_nd) {
  state.SetBytesProcessed(state.iterations() * (arrays_nd * n * d + 2 * n) * static_cast<int64_t>(sizeof(float)));
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_coupling_forward_fused(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  CouplingInputs in(n, d, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, coupling_forward, in.y.data<float>(), in.logdet.data<float>(), in.x.data<float>(),
                 in.mask.data<float>(), in.s_raw.data<float>(), in.t.data<float>(), 2.0f, n, d);
  });
  set_traffic(state, n, d, 4);
}

void BM_coupling_forward_unfused(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  CouplingInputs in(n, d, dev);
  Tensor scratch = Tensor::empty({3, n, d}, DType::f32, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, coupling_forward_unfused, in.y.data<float>(), in.logdet.data<float>(), in.x.data<float>(),
                 in.mask.data<float>(), in.s_raw.data<float>(), in.t.data<float>(), 2.0f, n, d, scratch.data<float>());
  });
  set_traffic(state, n, d, 4);
}

void BM_coupling_inverse_fused(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  CouplingInputs in(n, d, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, coupling_inverse, in.y.data<float>(), in.logdet.data<float>(), in.x.data<float>(),
                 in.mask.data<float>(), in.s_raw.data<float>(), in.t.data<float>(), 2.0f, n, d);
  });
  set_traffic(state, n, d, 4);
}

void BM_coupling_backward_fused(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = state.range(1), d = state.range(2);
  CouplingInputs in(n, d, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, coupling_forward_backward, in.dx.data<float>(), in.ds.data<float>(), in.dt.data<float>(),
                 in.dy.data<float>(), in.dlogdet.data<float>(), in.x.data<float>(), in.mask.data<float>(),
                 in.s_raw.data<float>(), 2.0f, n, d);
  });
  set_traffic(state, n, d, 6);
}

// Batch 4096 (the PyTorch comparison point) and a bandwidth-sized batch.
const std::vector<int64_t> kDims = {16, 64, 256};
#define LVK_COUPLING_ARGS ArgsProduct({{0, 1}, {4096, 1 << 18}, kDims})->UseManualTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_coupling_forward_fused)->LVK_COUPLING_ARGS;
BENCHMARK(BM_coupling_forward_unfused)->LVK_COUPLING_ARGS;
BENCHMARK(BM_coupling_inverse_fused)->LVK_COUPLING_ARGS;
BENCHMARK(BM_coupling_backward_fused)->LVK_COUPLING_ARGS;

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
