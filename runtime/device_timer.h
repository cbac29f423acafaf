#pragma once
// Timing of work queued on a device, honest on both backends: CUDA events recorded on the compute
// stream for a CUDA device (created once per timer, destroyed with it), the wall clock otherwise.
#include <chrono>
#include <functional>

#include "runtime/device.h"

namespace lvk {

class DeviceTimer {
 public:
  explicit DeviceTimer(Device device);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  void start();
  // Seconds of the device work queued since start(); waits for it to finish.
  double stop();

 private:
  Device device_;
  void* start_event_ = nullptr;  // cudaEvent_t on a CUDA device
  void* stop_event_ = nullptr;
  std::chrono::steady_clock::time_point started_;
};

// The median seconds of `repeats` (>= 1) calls of fn, after one untimed warm-up call.
double median_seconds(Device device, int repeats, const std::function<void()>& fn);

}  // namespace lvk
