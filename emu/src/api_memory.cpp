// cudaMalloc and friends, copies and fills, on the emulated device.
#include <cstring>
#include <vector>

#include "diagnostics.h"
#include "lvk_emu/runtime_api.h"
#include "memory.h"
#include "streams.h"

using namespace lvk_emu;

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

bool is_device(const void* p, size_t bytes) {
  return bytes == 0 || in_allocation(p, bytes, MemoryKind::device);
}
bool is_pinned(const void* p, size_t bytes) {
  return in_allocation(p, bytes, MemoryKind::pinned);
}

// What cudaMemcpyDefault infers, and what an explicit kind must agree with: with unified
// addressing the runtime knows which side a pointer is on and refuses a kind that contradicts it.
bool kind_matches(void* dst, const void* src, size_t bytes, cudaMemcpyKind& kind) {
  const bool dst_dev = in_allocation(dst, bytes, MemoryKind::device);
  const bool src_dev = in_allocation(src, bytes, MemoryKind::device);
  if (kind == cudaMemcpyDefault) {
    kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    return true;
  }
  switch (kind) {
    case cudaMemcpyHostToDevice:
      return dst_dev && !src_dev;
    case cudaMemcpyDeviceToHost:
      return src_dev && !dst_dev;
    case cudaMemcpyDeviceToDevice:
      return src_dev && dst_dev;
    case cudaMemcpyHostToHost:
      return !src_dev && !dst_dev;
    default:
      return false;
  }
}

}  // namespace

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  Lock lock(device_mutex());
  if (!ptr) return api_error(cudaErrorInvalidValue);
  if (sticky_error()) return sticky_error();
  if (capture_forbids("cudaMalloc")) return cudaErrorStreamCaptureUnsupported;
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  *ptr = allocate(bytes, MemoryKind::device);
  return *ptr ? cudaSuccess : api_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void* ptr) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  if (capture_forbids("cudaFree")) return cudaErrorStreamCaptureUnsupported;
  if (!ptr) return cudaSuccess;
  flush_all();  // cudaFree waits for the device
  if (is_graph_block(ptr)) return api_error(cudaErrorInvalidValue);
  return release(ptr, MemoryKind::device) ? cudaSuccess : api_error(cudaErrorInvalidValue);
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  Lock lock(device_mutex());
  if (!ptr) return api_error(cudaErrorInvalidValue);
  if (capture_forbids("cudaMallocHost")) return cudaErrorStreamCaptureUnsupported;
  *ptr = allocate(bytes, MemoryKind::pinned);
  return *ptr ? cudaSuccess : api_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  return cudaMallocHost(ptr, bytes);
}

cudaError_t cudaFreeHost(void* ptr) {
  Lock lock(device_mutex());
  if (capture_forbids("cudaFreeHost")) return cudaErrorStreamCaptureUnsupported;
  if (!ptr) return cudaSuccess;
  flush_all();
  return release(ptr, MemoryKind::pinned) ? cudaSuccess : api_error(cudaErrorInvalidValue);
}

cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream) {
  Lock lock(device_mutex());
  if (!ptr) return api_error(cudaErrorInvalidValue);
  if (sticky_error()) return sticky_error();
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (s->capture) {  // a graph allocation node: the memory exists between the node and its free
    CUgraph_st* graph = s->capture->graph;
    void* p = allocate(bytes, MemoryKind::device, graph->memory.get());
    if (!p) return api_error(cudaErrorMemoryAllocation);
    enqueue_op(s, "graph allocation", [p] { set_graph_block_live(p, true); });
    *ptr = p;
    return cudaSuccess;
  }
  *ptr = allocate(bytes, MemoryKind::device);
  return *ptr ? cudaSuccess : api_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (!ptr) return cudaSuccess;
  if (is_graph_block(ptr)) {
    enqueue_op(s, "graph free", [ptr] { set_graph_block_live(ptr, false); });
    return cudaSuccess;
  }
  if (!is_allocation(ptr, MemoryKind::device)) return api_error(cudaErrorInvalidValue);
  if (s->capture) {
    // During capture a free becomes a graph node, which may only free a graph allocation.
    s->capture->invalidated_by = cudaErrorInvalidValue;
    s->capture->why = "cudaFreeAsync during capture of memory that no graph allocated";
    return api_error(cudaErrorInvalidValue);
  }
  enqueue_op(s, "cudaFreeAsync", [ptr] { release(ptr, MemoryKind::device); });
  return cudaSuccess;
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  if (!pool || device != 0) return api_error(device != 0 ? cudaErrorInvalidDevice : cudaErrorInvalidValue);
  static int the_pool;
  *pool = reinterpret_cast<cudaMemPool_t>(&the_pool);
  return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr, void* value) {
  return pool && value ? cudaSuccess : api_error(cudaErrorInvalidValue);
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr, void* value) {
  if (!pool || !value) return api_error(cudaErrorInvalidValue);
  *static_cast<uint64_t*>(value) = 0;
  return cudaSuccess;
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t) {
  return pool ? cudaSuccess : api_error(cudaErrorInvalidValue);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return api_error(cudaErrorInvalidValue);
  if (!kind_matches(dst, src, bytes, kind)) return api_error(cudaErrorInvalidValue);
  if (kind == cudaMemcpyHostToDevice && !is_pinned(src, bytes) && !s->capture) {
    // From pageable memory the runtime stages the source before returning: the caller may reuse it.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                               static_cast<const unsigned char*>(src) + bytes);
    enqueue_op(s, "cudaMemcpyAsync HtoD", [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); });
    return cudaSuccess;
  }
  if (kind == cudaMemcpyDeviceToHost && !is_pinned(dst, bytes) && !s->capture) {
    // To pageable memory the copy is synchronous.
    flush(s);
    if (sticky_error()) return sticky_error();
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
  }
  enqueue_op(s, "cudaMemcpyAsync", [dst, src, bytes] { std::memmove(dst, src, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  if (capture_forbids("cudaMemcpy")) return cudaErrorStreamCaptureUnsupported;
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src || !kind_matches(dst, src, bytes, kind)) return api_error(cudaErrorInvalidValue);
  flush_all();  // on the legacy stream: after all earlier work of blocking streams
  if (sticky_error()) return sticky_error();
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!is_device(dst, bytes)) return api_error(cudaErrorInvalidValue);
  enqueue_op(s, "cudaMemsetAsync", [dst, value, bytes] { std::memset(dst, value, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  if (capture_forbids("cudaMemset")) return cudaErrorStreamCaptureUnsupported;
  if (bytes == 0) return cudaSuccess;
  if (!is_device(dst, bytes)) return api_error(cudaErrorInvalidValue);
  flush_all();
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
