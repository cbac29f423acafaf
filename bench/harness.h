#pragma once
// Shared by the benchmarks: device selection with a stated skip, and timing of one op call that
// is honest on both backends (CUDA events around the launch; wall clock on the CPU).
#include <benchmark/benchmark.h>

#include <functional>

#include "runtime/device.h"

namespace lvk::bench {

// Device for a benchmark argument (0 = cpu, 1 = cuda); SkipWithError and returns false when the
// device is unusable.
bool pick_device(benchmark::State& state, int which, Device& device);

// Runs fn once per iteration and sets the iteration time: CUDA events on the compute stream for
// a CUDA device (the benchmark must use UseManualTime), wall clock otherwise.
void time_iterations(benchmark::State& state, Device device, const std::function<void()>& fn);

}  // namespace lvk::bench
