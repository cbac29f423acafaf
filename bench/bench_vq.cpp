// Nearest-codebook lookup: the fused kernel (kernels/vq.h; fp32 and, on the GPU, fast) against the unfused composition
// a PyTorch user runs (GEMM z E^T into an [N, K] buffer, then a separate argmin pass; CPU: OpenBLAS sgemm + argmin), in
// the same run. Arguments: device (0 = cpu, 1 = cuda), N, K, C.
//
// Counters: rows/s (items), FLOP/s = 2 N K C / t (the products either way), bytes/s from the
// bytes each variant must move at least (fused: z, E, indices; unfused adds the N x K scores,
// written once and read once).
//
// CPU defaults stay short on a 2-core machine (N = 4096 for every K, C of the issue, N = 65536
// for K <= 1024, C = 64); LVK_BENCH_FULL=1 runs the full CPU grid.
#include <unistd.h>

#include <cstdlib>

#include "bench/harness.h"
#include "kernels/matmul.h"
#include "kernels/vq.h"
#include "kernels/vq_unfused.h"
#include "runtime/context.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"

namespace lvk::bench {
namespace {

struct Problem {
  Device device;
  kernels::VqShape shape;
  Tensor z, codebook, indices, workspace;
};

bool setup(benchmark::State& state, Problem& p) {
  if (!pick_device(state, static_cast<int>(state.range(0)), p.device)) return false;
  p.shape.n = state.range(1);
  p.shape.k = state.range(2);
  p.shape.c = state.range(3);
  p.z = uniform({p.shape.n, p.shape.c}, 11, 0, p.device);
  p.codebook = uniform({p.shape.k, p.shape.c}, 11, 1, p.device);
  p.indices = Tensor::empty({p.shape.n}, DType::i32, p.device);
  return true;
}

// Physical memory of the host, or free memory of the device.
double memory_bytes(Device device) {
  if (device.is_cuda()) {
    const auto& devs = cuda_status().devices;
    return devs.empty() ? 0.0 : static_cast<double>(devs[0].free_memory);
  }
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

void report(benchmark::State& state, const Problem& p, double extra_bytes) {
  const double n = static_cast<double>(p.shape.n), k = static_cast<double>(p.shape.k),
               c = static_cast<double>(p.shape.c);
  const double it = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * p.shape.n));
  state.SetBytesProcessed(static_cast<int64_t>(it * ((n * c + k * c) * 4.0 + n * 4.0 + extra_bytes)));
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * n * k * c * it, benchmark::Counter::kIsRate);
}

void BM_vq_fused(benchmark::State& state) {
  Problem p;
  if (!setup(state, p)) return;
#if LVK_WITH_CUDA
  if (p.device.is_cuda()) {
    const size_t bytes = kernels::cuda::vq_workspace_bytes(p.shape);
    p.workspace = Tensor::empty({static_cast<int64_t>(bytes / 4 + 1)}, DType::f32, p.device);
  }
#endif
  void* ws = p.workspace.defined() ? p.workspace.raw() : nullptr;
  time_iterations(state, p.device, [&] {
    LVK_DISPATCH(p.device, vq_nearest, p.indices.data<int32_t>(), nullptr, nullptr, nullptr, p.z.data<float>(),
                 p.codebook.data<float>(), p.shape, ws);
  });
  report(state, p, 0.0);
}

// The fast mode (BF16 tensor-core shortlist + exact fp32 re-check); its CPU twin is a slow
// reference, so only GPU shapes are registered.
void BM_vq_fast(benchmark::State& state) {
  Problem p;
  if (!setup(state, p)) return;
#if LVK_WITH_CUDA
  if (p.device.is_cuda()) {
    const size_t bytes = kernels::cuda::vq_fast_workspace_bytes(p.shape);
    p.workspace = Tensor::empty({static_cast<int64_t>(bytes / 4 + 1)}, DType::f32, p.device);
  }
#endif
  void* ws = p.workspace.defined() ? p.workspace.raw() : nullptr;
  time_iterations(state, p.device, [&] {
    LVK_DISPATCH(p.device, vq_nearest_fast, p.indices.data<int32_t>(), nullptr, nullptr, nullptr, p.z.data<float>(),
                 p.codebook.data<float>(), p.shape, ws);
  });
  report(state, p, 0.0);
}

void BM_vq_unfused(benchmark::State& state) {
  Problem p;
  if (!setup(state, p)) return;
  const double score_bytes = 4.0 * static_cast<double>(p.shape.n) * static_cast<double>(p.shape.k);
  if (score_bytes > 0.5 * memory_bytes(p.device)) {  // the O(N K) buffer is what the fused kernel avoids
    state.SkipWithError("the unfused [N, K] score buffer would not fit in memory");
    return;
  }
  Tensor dots = Tensor::empty({p.shape.n, p.shape.k}, DType::f32, p.device);
  Tensor norms = Tensor::empty({p.shape.k}, DType::f32, p.device);
  const kernels::GemmShape g{p.shape.n, p.shape.k, p.shape.c, false, true};
  time_iterations(state, p.device, [&] {
    LVK_DISPATCH(p.device, vq_codebook_norms, norms.data<float>(), p.codebook.data<float>(), p.shape.k, p.shape.c);
    if (p.device.is_cuda()) {
#if LVK_WITH_CUDA
      kernels::cuda::sgemm(dots.data<float>(), p.z.data<float>(), p.codebook.data<float>(), g, 1.0f, 0.0f,
                           cuda::cublas(), cuda::stream());
#endif
    } else {
      kernels::cpu::sgemm(dots.data<float>(), p.z.data<float>(), p.codebook.data<float>(), g, 1.0f, 0.0f);
    }
    LVK_DISPATCH(p.device, vq_argmin_scores, p.indices.data<int32_t>(), dots.data<float>(), norms.data<float>(),
                 p.shape.n, p.shape.k);
  });
  report(state, p, 2.0 * score_bytes);
}

void cpu_default(benchmark::internal::Benchmark* b) {
  for (int64_t k : {512, 1024, 8192})
    for (int64_t c : {64, 256}) b->Args({0, 4096, k, c});
  for (int64_t k : {512, 1024}) b->Args({0, 65536, k, 64});
}
void cpu_full(benchmark::internal::Benchmark* b) {
  for (int64_t n : {65536, 1048576})
    for (int64_t k : {512, 1024, 8192})
      for (int64_t c : {64, 256}) b->Args({0, n, k, c});
}
void gpu_all(benchmark::internal::Benchmark* b) {
  for (int64_t n : {4096, 65536, 1048576})
    for (int64_t k : {512, 1024, 8192})
      for (int64_t c : {64, 256}) b->Args({1, n, k, c});
}

void register_all(bool full) {
  for (auto [name, fn] : {std::pair{"BM_vq_fused", BM_vq_fused}, std::pair{"BM_vq_unfused", BM_vq_unfused}}) {
    auto* b = benchmark::RegisterBenchmark(name, fn);
    (full ? cpu_full(b) : cpu_default(b));
    gpu_all(b);
    b->ArgNames({"dev", "N", "K", "C"})->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  auto* fast = benchmark::RegisterBenchmark("BM_vq_fast", BM_vq_fast);
  gpu_all(fast);
  fast->ArgNames({"dev", "N", "K", "C"})->UseManualTime()->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace lvk::bench

// LVK_BENCH_FULL=1 swaps the short CPU list for the full CPU grid (slow on few cores).
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* full = std::getenv("LVK_BENCH_FULL");
  lvk::bench::register_all(full && full[0] == '1');
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
