#pragma once
// Scratch memory for library calls on the compute stream (cuBLASLt, cuDNN). One grow-only buffer
// per device: every user runs on the same stream, so consecutive calls may share it. Buffers live
// until exit on purpose, replaced ones too: a captured CUDA Graph keeps using the address it saw
// (and exit-time frees would race the CUDA runtime's teardown).
#include <cstddef>

#include "runtime/device.h"

namespace lvk {

// At least `bytes` of device memory on `device` (CUDA only); nullptr when bytes == 0.
void* cuda_workspace(Device device, size_t bytes);

}  // namespace lvk
