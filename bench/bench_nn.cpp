// Network layers at VQ-VAE sizes (batch 128, 28x28 / 32x32, 64-256 channels): Linear and
// Conv2d / ConvTranspose2d forward + backward, and the fused multi-tensor Adam step against one
// launch per tensor. Argument 0 selects the device (0 = cpu, 1 = cuda). CPU cases use the smaller
// channel counts only (a 256-channel 32x32 batch-128 conv is ~150 GFLOP per pass).
#include "bench/harness.h"
#include "models/optim.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"
#include "runtime/ops/nn_conv.h"
#include "runtime/ops/optim.h"
#include "runtime/tape.h"

namespace lvk::bench {
namespace {

constexpr int64_t kBatch = 128;

Tensor param(const Shape& s, uint64_t offset, Device d) {
  const int64_t fan_in = s.rank() == 1 ? s[0] : s[1] * (s.rank() == 4 ? s[2] * s[3] : 1);
  Tensor t = init_parameter(s, Init::kaiming_uniform, fan_in, s[0], 1, offset, d);
  t.set_requires_grad(true);
  return t;
}

// Forward under a tape, then backward seeded with ones: what one training step of the layer costs.
template <class F>
void forward_backward(F f) {
  Tape tape;
  Tensor y;
  {
    TapeRecording rec(tape);
    y = f();
  }
  tape.backward(y, Tensor::full(y.shape(), 1.0f, y.device()));
}

void BM_linear_relu_fwd_bwd(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t in = state.range(1), out = state.range(2);
  Tensor x = uniform({kBatch, in}, 1, 0, device);
  Tensor w = param({out, in}, 1, device), b = param({out}, 2, device);
  time_iterations(state, device, [&] {
    forward_backward([&] { return linear(x, w, b, Activation::relu); });
    w.set_grad(Tensor());
    b.set_grad(Tensor());
  });
  state.counters["FLOP/s"] =
      benchmark::Counter(3.0 * 2.0 * kBatch * in * out * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_linear_relu_fwd_bwd)
    ->ArgsProduct({{0, 1}, {784, 512, 256}, {256, 512}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The composition without the fused epilogue: GEMM, then a separate ReLU pass (bias omitted).
void BM_linear_unfused_fwd(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t in = state.range(1), out = state.range(2);
  Tensor x = uniform({kBatch, in}, 1, 0, device), w = uniform({out, in}, 1, 1, device),
         b = uniform({out}, 1, 2, device);
  time_iterations(state, device, [&] { benchmark::DoNotOptimize(relu(matmul(x, w, false, true))); });
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * kBatch * in * out * state.iterations(), benchmark::Counter::kIsRate);
}
void BM_linear_fused_fwd(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t in = state.range(1), out = state.range(2);
  Tensor x = uniform({kBatch, in}, 1, 0, device), w = uniform({out, in}, 1, 1, device),
         b = uniform({out}, 1, 2, device);
  time_iterations(state, device, [&] { benchmark::DoNotOptimize(linear(x, w, b, Activation::relu)); });
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * kBatch * in * out * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_linear_unfused_fwd)
    ->ArgsProduct({{0, 1}, {784, 256}, {512}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_linear_fused_fwd)
    ->ArgsProduct({{0, 1}, {784, 256}, {512}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// 3x3, stride 1, pad 1, C -> C: the VQ-VAE residual-block convolution.
void BM_conv3x3_fwd_bwd(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t side = state.range(1), c = state.range(2);
  Tensor x = uniform({kBatch, c, side, side}, 2, 0, device);
  x.set_requires_grad(true);
  Tensor w = param({c, c, 3, 3}, 3, device), b = param({c}, 4, device);
  time_iterations(state, device, [&] {
    forward_backward([&] { return conv2d(x, w, b, Conv2dParams::make(1, 1)); });
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
  });
  state.counters["FLOP/s"] = benchmark::Counter(3.0 * 2.0 * kBatch * c * c * 9 * side * side * state.iterations(),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_conv3x3_fwd_bwd)->ArgsProduct({{0}, {28, 32}, {64}})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv3x3_fwd_bwd)
    ->ArgsProduct({{1}, {28, 32}, {64, 128, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// 4x4, stride 2, pad 1 downsampling conv and its transposed twin (side -> side/2 -> side).
void BM_conv_down_up_fwd_bwd(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  const int64_t side = state.range(1), c = state.range(2);
  Tensor x = uniform({kBatch, c, side, side}, 5, 0, device);
  x.set_requires_grad(true);
  Tensor wd = param({c, c, 4, 4}, 6, device), wu = param({c, c, 4, 4}, 7, device);
  time_iterations(state, device, [&] {
    forward_backward([&] {
      const Tensor h = conv2d(x, wd, Tensor(), Conv2dParams::make(2, 1));
      return conv_transpose2d(h, wu, Tensor(), Conv2dParams::make(2, 1));
    });
    x.set_grad(Tensor());
    wd.set_grad(Tensor());
    wu.set_grad(Tensor());
  });
  const double half = static_cast<double>(side / 2);
  state.counters["FLOP/s"] = benchmark::Counter(2 * 3.0 * 2.0 * kBatch * c * c * 16 * half * half * state.iterations(),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_conv_down_up_fwd_bwd)->ArgsProduct({{0}, {28, 32}, {64}})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv_down_up_fwd_bwd)
    ->ArgsProduct({{1}, {28, 32}, {64, 128, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Adam over `tensors` parameter tensors of total size `total`: fused (one launch for all) versus
// one update launch per tensor, the loop a naive optimizer runs.
struct AdamSetup {
  std::vector<Tensor> p, g, m, v;
  AdamSetup(int64_t total, int64_t tensors, Device d) {
    for (int64_t i = 0; i < tensors; ++i) {
      const int64_t n = total / tensors;
      p.push_back(uniform({n}, 8, 4 * i, d));
      g.push_back(uniform({n}, 8, 4 * i + 1, d));
      m.push_back(Tensor::zeros({n}, DType::f32, d));
      v.push_back(Tensor::zeros({n}, DType::f32, d));
    }
  }
};

kernels::AdamHyper hyper() {
  return {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 0.1f, 0.001f, 1.0f, nullptr, nullptr};
}

void BM_adam_fused(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  AdamSetup s(state.range(1), state.range(2), device);
  time_iterations(state, device, [&] {
    const Tensor norm = global_norm(s.g);
    adam_update_(s.p, s.g, s.m, s.v, hyper(), norm);
  });
  // Reads p, g (twice: norm and update), m, v; writes p, m, v.
  state.SetBytesProcessed(state.iterations() * state.range(1) * 8 * static_cast<int64_t>(sizeof(float)));
}
void BM_adam_per_tensor(benchmark::State& state) {
  Device device;
  if (!pick_device(state, static_cast<int>(state.range(0)), device)) return;
  AdamSetup s(state.range(1), state.range(2), device);
  time_iterations(state, device, [&] {
    const Tensor norm = global_norm(s.g);
    for (size_t i = 0; i < s.p.size(); ++i) adam_update_({s.p[i]}, {s.g[i]}, {s.m[i]}, {s.v[i]}, hyper(), norm);
  });
  state.SetBytesProcessed(state.iterations() * state.range(1) * 8 * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_adam_fused)
    ->ArgsProduct({{0, 1}, {1 << 20, 1 << 24}, {64}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_adam_per_tensor)
    ->ArgsProduct({{0, 1}, {1 << 20, 1 << 24}, {64}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
