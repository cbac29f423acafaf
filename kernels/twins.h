#pragma once
// Shared by the kernel declarations: the stream type for CUDA twins and the 64-bit index type.
#include <cstdint>

#if LVK_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lvk::kernels {
using index_t = int64_t;  // every element count and offset; tensors may exceed 2^31 elements
}
