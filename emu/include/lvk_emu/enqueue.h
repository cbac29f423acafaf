#pragma once
// What an emulated library (cuBLAS, cuDNN, CUB's device algorithms) needs from the emulated
// runtime: stream-ordered work and knowledge of which pointers are device memory.
#include <cstddef>
#include <functional>

#include "lvk_emu/types.h"

namespace lvk_emu {

// Appends `work` to `stream` (0 means the legacy default stream): it runs after everything
// enqueued there before, when the host next waits on that stream, and is recorded instead while
// the stream is being captured into a graph. `name` labels the work in diagnostics. Returns the
// error the calling API must return (an invalid stream handle, an invalidated capture).
cudaError_t enqueue(cudaStream_t stream, const char* name, std::function<void()> work);

// True when [p, p + bytes) lies inside one live device allocation (cudaMalloc, cudaMallocAsync or
// a graph's allocation). Pinned host memory (cudaMallocHost) is not device memory.
bool is_device_range(const void* p, size_t bytes);

// True when `stream` is a valid handle (0, the legacy/per-thread handles, or a live stream).
bool is_valid_stream(cudaStream_t stream);

}  // namespace lvk_emu
