// Stochastic latents: the fused Gumbel-softmax and Gaussian kernels against the unfused
// compositions a PyTorch user runs (F.gumbel_softmax: noise, add, divide, softmax, and for hard
// argmax, one-hot, straight-through combine; mu + exp(0.5*logvar)*randn_like: noise, exp, mul,
// add), built here from the project's simple passes so both sides run in one binary.
//
// Arguments: device (0 = cpu, 1 = cuda), log2(N*K) (or log2(N*D)), K (or D), hard (Gumbel).
// Bytes reported are the bandwidth floor: one read of the inputs and one write of the sample
// (Gumbel: 8 B per element; Gaussian: 12 B per element), so bytes_per_second / (the copy_floor
// case's bytes_per_second) is the fraction of measured bandwidth. Kernels are called directly
// with preallocated buffers, so no case times an allocation. Sizes of 2^24 elements and more
// exceed the H100's 50 MB L2 (the target range); smaller ones are partly L2-resident.
#include "bench/harness.h"
#include "kernels/elementwise.h"
#include "kernels/gaussian.h"
#include "kernels/gaussian_unfused.h"
#include "kernels/gumbel.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

constexpr float kTau = 0.5f;
constexpr int64_t kF = static_cast<int64_t>(sizeof(float));

// CPU cases stop at 2^22 elements: beyond that one iteration takes seconds on a small machine.
// The last argument is a flag named `flag` (hard, or kl for the backward), 0 only when !both.
void gumbel_shapes(benchmark::internal::Benchmark* b, const char* flag, bool both) {
  for (int dev : {0, 1})
    for (int lg : {16, 20, 22, 24, 26})
      for (int k : {512, 8192})
        for (int f = 0; f < (both ? 2 : 1); ++f) {
          if ((dev == 0 && lg > 22) || (dev == 1 && lg == 22)) continue;
          b->Args({dev, lg, k, f});
        }
  b->ArgNames({"cuda", "log2NK", "K", flag})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
void gumbel_args(benchmark::internal::Benchmark* b) {
  gumbel_shapes(b, "hard", true);
}
void gumbel_backward_args(benchmark::internal::Benchmark* b) {
  gumbel_shapes(b, "kl", true);
}
void gumbel_unfused_backward_args(benchmark::internal::Benchmark* b) {
  gumbel_shapes(b, "kl", false);
}

void floor_args(benchmark::internal::Benchmark* b) {
  for (int dev : {0, 1})
    for (int lg : {16, 20, 22, 24, 26}) {
      if ((dev == 0 && lg > 22) || (dev == 1 && lg == 22)) continue;
      b->Args({dev, lg});
    }
  b->ArgNames({"cuda", "log2N"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

struct GumbelBuffers {
  int64_t n, k;
  Tensor logits, y, index, kl, g, v, soft, hot, dy, dlogits;
  GumbelBuffers(Device dev, int64_t n_, int64_t k_) : n(n_), k(k_) {
    logits = uniform({n, k}, 1, 0, dev);
    y = Tensor::empty({n, k}, DType::f32, dev);
    index = Tensor::empty({n}, DType::i32, dev);
    kl = Tensor::empty({n}, DType::f32, dev);
  }
  void for_unfused(Device dev) {
    g = Tensor::empty({n, k}, DType::f32, dev);
    v = Tensor::empty({n, k}, DType::f32, dev);
    soft = Tensor::empty({n, k}, DType::f32, dev);
    hot = Tensor::empty({n, k}, DType::f32, dev);
  }
  void for_backward(Device dev) {
    dy = uniform({n, k}, 2, 0, dev);
    dlogits = Tensor::empty({n, k}, DType::f32, dev);
  }
};

bool gumbel_setup(benchmark::State& state, Device& dev, int64_t& n, int64_t& k) {
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return false;
  k = state.range(2);
  n = (int64_t{1} << state.range(1)) / k;
  return true;
}

void report(benchmark::State& state, int64_t elements, int64_t floor_bytes_per_element) {
  state.SetBytesProcessed(state.iterations() * elements * floor_bytes_per_element);
  state.SetItemsProcessed(state.iterations() * elements);
}

// The floor: one read and one write of N floats (the project's scale kernel with alpha = 1).
void BM_copy_floor(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  const int64_t n = int64_t{1} << state.range(1);
  Tensor x = uniform({n}, 1, 0, dev), y = Tensor::empty({n}, DType::f32, dev);
  time_iterations(state, dev, [&] { LVK_DISPATCH(dev, scale, y.data<float>(), x.data<float>(), 1.0f, n); });
  report(state, n, 2 * kF);
}
BENCHMARK(BM_copy_floor)->Apply(floor_args);

void BM_gumbel_fused_forward(benchmark::State& state) {
  Device dev;
  int64_t n, k;
  if (!gumbel_setup(state, dev, n, k)) return;
  GumbelBuffers b(dev, n, k);
  const bool hard = state.range(3) != 0;
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gumbel_softmax_forward, b.y.data<float>(), nullptr, b.index.data<int32_t>(), b.kl.data<float>(),
                 b.logits.data<float>(), n, k, kTau, 7, 0, hard, kernels::GumbelDeviceArgs{});
  });
  report(state, n * k, 2 * kF);
}
BENCHMARK(BM_gumbel_fused_forward)->Apply(gumbel_args);

// F.gumbel_softmax as separate passes (without the KL, which the fused kernel adds for free).
void BM_gumbel_unfused_forward(benchmark::State& state) {
  Device dev;
  int64_t n, k;
  if (!gumbel_setup(state, dev, n, k)) return;
  GumbelBuffers b(dev, n, k);
  b.for_unfused(dev);
  const bool hard = state.range(3) != 0;
  const int64_t nk = n * k;
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gumbel_noise, b.g.data<float>(), n, k, 7, 0);
    LVK_DISPATCH(dev, add, b.v.data<float>(), b.logits.data<float>(), b.g.data<float>(), nk);
    LVK_DISPATCH(dev, scale, b.v.data<float>(), b.v.data<float>(), 1.0f / kTau, nk);
    LVK_DISPATCH(dev, softmax_rows, b.soft.data<float>(), b.v.data<float>(), n, k);
    if (hard) {  // y_hard - y_soft.detach() + y_soft
      LVK_DISPATCH(dev, argmax_rows, b.index.data<int32_t>(), b.soft.data<float>(), n, k);
      LVK_DISPATCH(dev, one_hot, b.hot.data<float>(), b.index.data<int32_t>(), n, k);
      LVK_DISPATCH(dev, sub, b.y.data<float>(), b.hot.data<float>(), b.soft.data<float>(), nk);
      LVK_DISPATCH(dev, add, b.y.data<float>(), b.y.data<float>(), b.soft.data<float>(), nk);
    }
  });
  report(state, nk, 2 * kF);
}
BENCHMARK(BM_gumbel_unfused_forward)->Apply(gumbel_args);

// Backward of the relaxed sample (kl = 1: with the KL term as well, reading the logits too).
void BM_gumbel_fused_backward(benchmark::State& state) {
  Device dev;
  int64_t n, k;
  if (!gumbel_setup(state, dev, n, k)) return;
  GumbelBuffers b(dev, n, k);
  b.for_backward(dev);
  const bool with_kl = state.range(3) != 0;
  Tensor dkl = uniform({n}, 3, 0, dev);
  LVK_DISPATCH(dev, gumbel_softmax_forward, b.y.data<float>(), nullptr, b.index.data<int32_t>(), b.kl.data<float>(),
               b.logits.data<float>(), n, k, kTau, 7, 0, false, kernels::GumbelDeviceArgs{});
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gumbel_softmax_backward, b.dlogits.data<float>(), b.dy.data<float>(), b.y.data<float>(),
                 with_kl ? dkl.data<float>() : nullptr, b.logits.data<float>(), n, k, kTau,
                 kernels::GumbelDeviceArgs{});
  });
  report(state, n * k, (with_kl ? 4 : 3) * kF);  // read y, dy (and logits), write dlogits
}
BENCHMARK(BM_gumbel_fused_backward)->Apply(gumbel_backward_args);

// Softmax backward then the 1/tau scale, as autograd runs them (no KL term).
void BM_gumbel_unfused_backward(benchmark::State& state) {
  Device dev;
  int64_t n, k;
  if (!gumbel_setup(state, dev, n, k)) return;
  GumbelBuffers b(dev, n, k);
  b.for_backward(dev);
  LVK_DISPATCH(dev, softmax_rows, b.y.data<float>(), b.logits.data<float>(), n, k);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, softmax_rows_backward, b.dlogits.data<float>(), b.dy.data<float>(), b.y.data<float>(), n, k);
    LVK_DISPATCH(dev, scale, b.dlogits.data<float>(), b.dlogits.data<float>(), 1.0f / kTau, n * k);
  });
  report(state, n * k, 3 * kF);
}
BENCHMARK(BM_gumbel_unfused_backward)->Apply(gumbel_unfused_backward_args);

void gaussian_args(benchmark::internal::Benchmark* b) {
  for (int dev : {0, 1})
    for (int lg : {16, 20, 22, 24, 26})
      for (int s : {1, 8}) {
        if ((dev == 0 && lg > 22) || (dev == 1 && lg == 22)) continue;
        b->Args({dev, lg, 256, s});
      }
  b->ArgNames({"cuda", "log2ND", "D", "S"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

struct GaussianBuffers {
  int64_t s, n, d;
  Tensor mu, lv, z, kl, log_q;
  GaussianBuffers(benchmark::State& state, Device dev) {
    d = state.range(2), s = state.range(3);
    n = (int64_t{1} << state.range(1)) / (d * s);  // N*D*S = 2^log2: the sample has that many elements
    mu = uniform({n, d}, 4, 0, dev);
    lv = uniform({n, d}, 4, 1, dev);
    z = Tensor::empty({s, n, d}, DType::f32, dev);
    kl = Tensor::empty({n}, DType::f32, dev);
    log_q = Tensor::empty({s, n}, DType::f32, dev);
  }
  // Floor: read mu and logvar once, write z.
  int64_t floor_bytes() const { return (2 * n * d + s * n * d) * kF; }
};

void BM_gaussian_fused_forward(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  GaussianBuffers b(state, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gaussian_sample, b.z.data<float>(), b.kl.data<float>(), b.log_q.data<float>(), b.mu.data<float>(),
                 b.lv.data<float>(), b.s, b.n, b.d, 9, 0, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * b.floor_bytes());
  state.SetItemsProcessed(state.iterations() * b.s * b.n * b.d);
}
BENCHMARK(BM_gaussian_fused_forward)->Apply(gaussian_args);

// mu + exp(0.5*logvar) * randn_like: noise, exp, mul, add per sample (no KL, no log q).
void BM_gaussian_unfused_forward(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  GaussianBuffers b(state, dev);
  const int64_t nd = b.n * b.d;
  Tensor sigma = Tensor::empty({b.n, b.d}, DType::f32, dev), eps = Tensor::empty({b.s, b.n, b.d}, DType::f32, dev);
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gaussian_noise, eps.data<float>(), b.s * nd, 9, 0);
    LVK_DISPATCH(dev, gaussian_std, sigma.data<float>(), b.lv.data<float>(), nd);
    for (int64_t t = 0; t < b.s; ++t) {
      float* zt = b.z.data<float>() + t * nd;
      LVK_DISPATCH(dev, mul, zt, eps.data<float>() + t * nd, sigma.data<float>(), nd);
      LVK_DISPATCH(dev, add, zt, zt, b.mu.data<float>(), nd);
    }
  });
  state.SetBytesProcessed(state.iterations() * b.floor_bytes());
  state.SetItemsProcessed(state.iterations() * b.s * nd);
}
BENCHMARK(BM_gaussian_unfused_forward)->Apply(gaussian_args);

void BM_gaussian_fused_backward(benchmark::State& state) {
  Device dev;
  if (!pick_device(state, static_cast<int>(state.range(0)), dev)) return;
  GaussianBuffers b(state, dev);
  Tensor dz = uniform({b.s, b.n, b.d}, 5, 0, dev), dkl = uniform({b.n}, 5, 1, dev);
  Tensor dmu = Tensor::empty({b.n, b.d}, DType::f32, dev), dlv = Tensor::empty({b.n, b.d}, DType::f32, dev);
  LVK_DISPATCH(dev, gaussian_sample, b.z.data<float>(), b.kl.data<float>(), b.log_q.data<float>(), b.mu.data<float>(),
               b.lv.data<float>(), b.s, b.n, b.d, 9, 0, nullptr);  // the backward reads the forward's z
  time_iterations(state, dev, [&] {
    LVK_DISPATCH(dev, gaussian_sample_backward, dmu.data<float>(), dlv.data<float>(), dz.data<float>(),
                 dkl.data<float>(), nullptr, b.z.data<float>(), b.mu.data<float>(), b.lv.data<float>(), b.s, b.n, b.d);
  });
  // Floor: read dz, z, mu, logvar; write dmu, dlogvar.
  state.SetBytesProcessed(state.iterations() * (2 * b.s * b.n * b.d + 4 * b.n * b.d) * kF);
  state.SetItemsProcessed(state.iterations() * b.s * b.n * b.d);
}
BENCHMARK(BM_gaussian_fused_backward)->Apply(gaussian_args);

}  // namespace
}  // namespace lvk::bench

BENCHMARK_MAIN();
