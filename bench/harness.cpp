#include "bench/harness.h"

#include <chrono>
#include <string>

#include "runtime/context.h"

#if LVK_WITH_CUDA
#include "runtime/cuda_context.h"
#endif

namespace lvk::bench {

bool pick_device(benchmark::State& state, int which, Device& device) {
  if (which == 0) {
    device = Device::cpu();
    return true;
  }
  if (!cuda_status().usable) {
    state.SkipWithError(("no usable CUDA device: " + cuda_status().reason).c_str());
    return false;
  }
  if (cuda_status().emulated) {
    state.SkipWithError("the CUDA device is emulated on the CPU (LVK_CUDA=EMU): its timings are not GPU figures");
    return false;
  }
  device = Device::cuda(0);
  return true;
}

void time_iterations(benchmark::State& state, Device device, const std::function<void()>& fn) {
  fn();  // warm-up: allocator pools, library handles, first-touch
  synchronize();
#if LVK_WITH_CUDA
  if (device.is_cuda()) {
    cudaEvent_t start, stop;
    LVK_CUDA_CHECK(cudaEventCreate(&start));
    LVK_CUDA_CHECK(cudaEventCreate(&stop));
    for (auto _ : state) {
      LVK_CUDA_CHECK(cudaEventRecord(start, cuda::stream()));
      fn();
      LVK_CUDA_CHECK(cudaEventRecord(stop, cuda::stream()));
      LVK_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.0f;
      LVK_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      state.SetIterationTime(ms / 1e3);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return;
  }
#endif
  (void)device;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
}

}  // namespace lvk::bench
