#include "runtime/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "runtime/context.h"
#include "runtime/dist/watchdog.h"

#if LVK_WITH_CUDA
#include "runtime/cuda_context.h"
#endif

namespace lvk {

namespace {
constexpr size_t kHostAlignment = 64;  // cache line; also enough for AVX-512 loads

// Ops allocate and free activation-sized host buffers every step. glibc serves blocks above its
// mmap threshold with fresh mappings, so each one page-faults and is zeroed by the kernel again
// (about a tenth of a CPU flow step); keeping such blocks in the heap lets free() recycle them.
const bool kHostHeapTuned = [] {
  constexpr int kKeep = 256 << 20;
  return mallopt(M_MMAP_THRESHOLD, kKeep) == 1 && mallopt(M_TRIM_THRESHOLD, kKeep) == 1;
}();
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    const size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    data_ = std::aligned_alloc(kHostAlignment, rounded);
    LVK_CHECK(data_ != nullptr, "out of host memory allocating ", bytes, " bytes");
    return;
  }
  require_cuda(device.index);
#if LVK_WITH_CUDA
  data_ = cuda::device_alloc(bytes);
#endif
}

Storage::Storage(void* data, size_t bytes, Device device, std::shared_ptr<void> owner)
    : data_(data), bytes_(bytes), device_(device), owner_(std::move(owner)) {
  LVK_CHECK(owner_ != nullptr, "storage: borrowed memory needs an owner that keeps it alive");
}

Storage::~Storage() {
  if (!data_ || owner_) return;
  if (device_.is_cpu()) {
    std::free(data_);
    return;
  }
#if LVK_WITH_CUDA
  cuda::device_free(data_);
#endif
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if LVK_WITH_CUDA
  cudaMemcpyKind kind = dst_device.is_cpu()   ? cudaMemcpyDeviceToHost
                        : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                              : cudaMemcpyDeviceToDevice;
  LVK_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, cuda::stream()));
  // Pageable host memory: wait so the host buffer may be reused or read at once.
  if (kind != cudaMemcpyDeviceToDevice) {
    dist::PeerWait wait("a copy to the host (behind the stream's collectives)");
    LVK_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  }
#else
  fail("copy: no usable CUDA device: ", cuda_status().reason);
#endif
}

}  // namespace lvk
