#pragma once
// Scratch memory for library calls on the compute stream (cuBLASLt, cuDNN). One grow-only buffer
// per device: every user runs on the same stream, so consecutive calls may share it, and a buffer
// replaced by a larger one is freed stream-ordered after the work that used it. The buffer lives
// until exit on purpose (no teardown-order hazards with the CUDA runtime).
#include <cstddef>

#include "runtime/device.h"

namespace lvk {

// At least `bytes` of device memory on `device` (CUDA only); nullptr when bytes == 0.
void* cuda_workspace(Device device, size_t bytes);

}  // namespace lvk
