#include "bench/harness.h"

#include <string>

#include "runtime/context.h"
#include "runtime/device_timer.h"

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
  fn();  // warm-up: allocator pools, library handles, first touch
  synchronize();
  DeviceTimer timer(device);
  for (auto _ : state) {
    timer.start();
    fn();
    state.SetIterationTime(timer.stop());
  }
}

}  // namespace lvk::bench
