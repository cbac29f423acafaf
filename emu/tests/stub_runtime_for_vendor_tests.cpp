// Test-only stand-in for the emulator runtime, so the vendor-library tests build before it
// exists: work runs at once, "device memory" is what cudaMalloc below handed out, and only the
// default-stream handles are valid. Delete this file once the runtime lands.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "lvk_emu/enqueue.h"

namespace {

std::mutex g_mutex;
std::map<uintptr_t, size_t> g_allocations;  // start -> bytes

}  // namespace

namespace lvk_emu {

bool is_valid_stream(cudaStream_t stream) {
  return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
}

cudaError_t enqueue(cudaStream_t stream, const char* /*name*/, std::function<void()> work) {
  if (!is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  work();
  return cudaSuccess;
}

bool is_device_range(const void* p, size_t bytes) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_allocations.upper_bound(v);
  if (it == g_allocations.begin()) return false;
  --it;
  return v + bytes <= it->first + it->second;
}

}  // namespace lvk_emu

cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (!p) return cudaErrorInvalidValue;
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p) return cudaErrorMemoryAllocation;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_allocations[reinterpret_cast<uintptr_t>(*p)] = bytes;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_allocations.erase(reinterpret_cast<uintptr_t>(p)) == 0) return cudaErrorInvalidValue;
  }
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind /*kind*/) {
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  return cudaSuccess;
}
