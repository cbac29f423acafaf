#pragma once
// Whether this build carries machine code (or PTX) the current CUDA device can run.
#include "kernels/twins.h"

#if LVK_WITH_CUDA
namespace lvk::kernels::cuda {
// cudaSuccess, or the error (e.g. cudaErrorNoKernelImageForDevice) from asking for a kernel's
// attributes on the current device.
cudaError_t probe_kernel_image();
}  // namespace lvk::kernels::cuda
#endif
