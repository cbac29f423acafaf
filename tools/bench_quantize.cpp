// `lvk bench quantize`: times the fused nearest-codebook lookup and the unfused baseline (GEMM into
// an [N, K] score buffer + argmin, as PyTorch computes it) on the same inputs in one run, the same
// two compositions bench/bench_vq.cpp times, and prints time, vectors/s, effective TFLOP/s
// (2 N K C / t), bytes moved, and the fractions of the measured copy bandwidth and of the measured
// fp32 FMA peak (kernels/peak.h) they imply. The fast mode's tensor-core peak is not probed.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/peak.h"
#include "kernels/vq.h"
#include "kernels/vq_unfused.h"
#include "runtime/context.h"
#include "runtime/device_timer.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

struct BenchArgs {
  int64_t n = 65536, k = 1024, c = 64;
  int repeats = 10;
  std::string device = "auto", mode = "fp32";
  bool json = false, skip_unfused = false;
};

// Bytes per second of a large device-local copy: the bandwidth the roofline fraction refers to.
double copy_bandwidth(Device device) {
  const int64_t n = int64_t{1} << 26;  // 256 MiB
  Tensor a = Tensor::zeros({n}, DType::f32, device), b = Tensor::empty({n}, DType::f32, device);
  const double s =
      median_seconds(device, 5, [&] { LVK_DISPATCH(device, scale, b.data<float>(), a.data<float>(), 1.0f, n); });
  return 2.0 * 4.0 * static_cast<double>(n) / s;
}

// FLOP/s of the FMA probe (kernels/peak.h): the compute roofline of the fp32 mode.
double fma_peak(Device device) {
  Tensor sink = Tensor::empty({1}, DType::f32, device);
  const int64_t iterations = device.is_cuda() ? 1 << 11 : 1 << 22;  // ~0.1 s per call either way
  int64_t flops = 0;
  const double s = median_seconds(device, 5, [&] {
    if (device.is_cuda()) {
#if LVK_WITH_CUDA
      flops = kernels::cuda::fma_spin(sink.data<float>(), iterations, cuda::stream());
#endif
    } else {
      flops = kernels::cpu::fma_spin(sink.data<float>(), iterations);
    }
  });
  return static_cast<double>(flops) / s;
}

struct Row {
  const char* name;
  double seconds, bytes;
};

void run_bench(const BenchArgs& a) {
  const Device device = parse_device(a.device);
  LVK_CHECK(
      !(device.is_cuda() && cuda_status().emulated), "lvk bench quantize: ", device.str(),
      " is emulated on the CPU (LVK_CUDA=EMU); its timings are not GPU figures. Use --device cpu, or a GPU build");
  kernels::VqShape s;
  s.n = a.n, s.k = a.k, s.c = a.c;
  const Tensor z = uniform({s.n, s.c}, 11, 0, device), e = uniform({s.k, s.c}, 11, 1, device);
  Tensor idx = Tensor::empty({s.n}, DType::i32, device);
  Tensor ws;
#if LVK_WITH_CUDA
  if (device.is_cuda())
    ws = Tensor::empty(
        {static_cast<int64_t>(
            std::max(kernels::cuda::vq_workspace_bytes(s), kernels::cuda::vq_fast_workspace_bytes(s)) / 4 + 1)},
        DType::f32, device);
#endif
  void* wsp = ws.defined() ? ws.raw() : nullptr;
  const double base_bytes = 4.0 * static_cast<double>(s.n * s.c + s.k * s.c + s.n);
  std::vector<Row> rows;
  const bool fast = a.mode == "fast";
  rows.push_back({fast ? "fast" : "fused",
                  median_seconds(device, a.repeats,
                                 [&] {
                                   if (fast)
                                     LVK_DISPATCH(device, vq_nearest_fast, idx.data<int32_t>(), nullptr, nullptr,
                                                  nullptr, z.data<float>(), e.data<float>(), s, wsp);
                                   else
                                     LVK_DISPATCH(device, vq_nearest, idx.data<int32_t>(), nullptr, nullptr, nullptr,
                                                  z.data<float>(), e.data<float>(), s, wsp);
                                 }),
                  base_bytes});
  if (!a.skip_unfused) {
    Tensor dots = Tensor::empty({s.n, s.k}, DType::f32, device), norms = Tensor::empty({s.k}, DType::f32, device);
    const kernels::GemmShape g{s.n, s.k, s.c, false, true};
    rows.push_back(
        {"unfused",
         median_seconds(device, a.repeats,
                        [&] {
                          LVK_DISPATCH(device, vq_codebook_norms, norms.data<float>(), e.data<float>(), s.k, s.c);
                          if (device.is_cuda()) {
#if LVK_WITH_CUDA
                            kernels::cuda::sgemm(dots.data<float>(), z.data<float>(), e.data<float>(), g, 1.0f, 0.0f,
                                                 cuda::cublas(), cuda::stream());
#endif
                          } else {
                            kernels::cpu::sgemm(dots.data<float>(), z.data<float>(), e.data<float>(), g, 1.0f, 0.0f);
                          }
                          LVK_DISPATCH(device, vq_argmin_scores, idx.data<int32_t>(), dots.data<float>(),
                                       norms.data<float>(), s.n, s.k);
                        }),
         base_bytes + 8.0 * static_cast<double>(s.n) * static_cast<double>(s.k)});
  }
  // The fast mode's disagreement with the fp32 argmin on these (uniform random) inputs.
  double disagreement = -1.0;
  if (fast) {
    Tensor exact = Tensor::empty({s.n}, DType::i32, device);
    LVK_DISPATCH(device, vq_nearest, exact.data<int32_t>(), nullptr, nullptr, nullptr, z.data<float>(), e.data<float>(),
                 s, wsp);
    const std::vector<int32_t> a_idx = idx.to_vector<int32_t>(), b_idx = exact.to_vector<int32_t>();
    int64_t differ = 0;
    for (size_t i = 0; i < a_idx.size(); ++i) differ += a_idx[i] != b_idx[i];
    disagreement = s.n ? static_cast<double>(differ) / static_cast<double>(s.n) : 0.0;
  }
  const double bw = copy_bandwidth(device), peak = fma_peak(device);
  const double flops = 2.0 * static_cast<double>(s.n) * static_cast<double>(s.k) * static_cast<double>(s.c);
  if (a.json) {
    std::printf(
        "{\"device\": \"%s\", \"n\": %lld, \"k\": %lld, \"c\": %lld, \"mode\": \"%s\", "
        "\"copy_bandwidth_GBps\": %.3f, \"fma_peak_tflops\": %.4f, \"fast_disagreement\": %.6g, \"results\": [",
        device.str().c_str(), static_cast<long long>(s.n), static_cast<long long>(s.k), static_cast<long long>(s.c),
        a.mode.c_str(), bw / 1e9, peak / 1e12, disagreement);
    for (size_t i = 0; i < rows.size(); ++i)
      std::printf(
          "%s{\"variant\": \"%s\", \"seconds\": %.9g, \"vectors_per_s\": %.6g, \"tflops\": %.6g, "
          "\"bytes\": %.6g, \"bandwidth_fraction\": %.4f, \"fma_peak_fraction\": %.4f}",
          i ? ", " : "", rows[i].name, rows[i].seconds, static_cast<double>(s.n) / rows[i].seconds,
          flops / rows[i].seconds / 1e12, rows[i].bytes, rows[i].bytes / rows[i].seconds / bw,
          flops / rows[i].seconds / peak);
    std::printf("]}\n");
    return;
  }
  std::printf(
      "quantize N=%lld K=%lld C=%lld on %s, mode %s (median of %d; copy bandwidth %.1f GB/s; fp32 FMA "
      "peak %.3f TFLOP/s)\n",
      static_cast<long long>(s.n), static_cast<long long>(s.k), static_cast<long long>(s.c), device.str().c_str(),
      a.mode.c_str(), a.repeats, bw / 1e9, peak / 1e12);
  std::printf("%-8s %12s %14s %10s %12s %8s %8s\n", "variant", "time ms", "vectors/s", "TFLOP/s", "bytes", "of bw",
              "of FMA");
  for (const Row& r : rows)
    std::printf("%-8s %12.3f %14.4g %10.4f %12.4g %7.1f%% %7.1f%%\n", r.name, r.seconds * 1e3,
                static_cast<double>(s.n) / r.seconds, flops / r.seconds / 1e12, r.bytes,
                100.0 * r.bytes / r.seconds / bw, 100.0 * flops / r.seconds / peak);
  if (fast) std::printf("fast vs fp32 argmin: %.4f%% of rows differ (uniform random inputs)\n", 100.0 * disagreement);
  if (rows.size() == 2)
    std::printf("%s speed-up over unfused: %.2fx\n", rows[0].name, rows[1].seconds / rows[0].seconds);
}

}  // namespace

void add_bench_quantize_command(CLI::App& app) {
  // `bench` may already exist when another family registered its own benchmark first.
  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "Kernel benchmarks (fused kernels against their unfused baselines)");
    bench->require_subcommand(1);
  }
  auto a = std::make_shared<BenchArgs>();
  CLI::App* q = bench->add_subcommand("quantize", "Fused nearest-codebook lookup vs GEMM + argmin");
  q->add_option("--n", a->n, "vectors")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  q->add_option("--k", a->k, "codes")->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  q->add_option("--c", a->c, "channels")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  q->add_option("--repeats", a->repeats, "timed repeats (median reported)")->check(CLI::Range(1, 100000));
  q->add_option("--device", a->device, "auto, cpu or cuda[:N]");
  q->add_option("--mode", a->mode, "fp32 or fast")->check(CLI::IsMember({"fp32", "fast"}));
  q->add_flag("--json", a->json, "print one JSON object instead of a table");
  q->add_flag("--skip-unfused", a->skip_unfused, "time only the fused kernel (the baseline needs N*K*4 bytes)");
  q->callback([a] { run_bench(*a); });
}

}  // namespace lvk::cli
