#include "runtime/device_timer.h"

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "runtime/context.h"

#if LVK_WITH_CUDA
#include "base/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace lvk {

DeviceTimer::DeviceTimer(Device device) : device_(device) {
#if LVK_WITH_CUDA
  if (device_.is_cuda()) {
    cudaEvent_t a = nullptr, b = nullptr;
    LVK_CUDA_CHECK(cudaEventCreate(&a));
    const cudaError_t err = cudaEventCreate(&b);
    if (err != cudaSuccess) cudaEventDestroy(a);
    LVK_CUDA_CHECK(err);
    start_event_ = a, stop_event_ = b;
  }
#endif
}

DeviceTimer::~DeviceTimer() {
#if LVK_WITH_CUDA
  if (start_event_) cudaEventDestroy(static_cast<cudaEvent_t>(start_event_));
  if (stop_event_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_event_));
#endif
}

void DeviceTimer::start() {
#if LVK_WITH_CUDA
  if (start_event_) {
    LVK_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_event_), cuda::stream()));
    return;
  }
#endif
  started_ = std::chrono::steady_clock::now();
}

double DeviceTimer::stop() {
#if LVK_WITH_CUDA
  if (stop_event_) {
    const auto b = static_cast<cudaEvent_t>(stop_event_);
    LVK_CUDA_CHECK(cudaEventRecord(b, cuda::stream()));
    LVK_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0.0f;
    LVK_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_event_), b));
    return ms / 1e3;
  }
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

double median_seconds(Device device, int repeats, const std::function<void()>& fn) {
  LVK_CHECK(repeats >= 1, "median_seconds: repeats=", repeats, " must be >= 1");
  fn();  // warm-up: allocator pools, library handles, first touch
  synchronize();
  DeviceTimer timer(device);
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    timer.start();
    fn();
    t.push_back(timer.stop());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace lvk
