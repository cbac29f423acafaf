#include "runtime/ops/workspace.h"

#include <map>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "runtime/tensor.h"

#if LVK_WITH_CUDA
#include <cuda_runtime.h>

#include "base/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace lvk {

void* cuda_workspace(Device device, size_t bytes) {
  LVK_CHECK(device.is_cuda(), "cuda_workspace: device ", device.str(), " is not a CUDA device");
  if (bytes == 0) return nullptr;
  static std::mutex mutex;
  static auto* buffers = new std::map<int, Tensor>();  // leaked: see the header
  static auto* retired = new std::vector<Tensor>();
  std::lock_guard<std::mutex> lock(mutex);
  Tensor& buf = (*buffers)[device.index];
  if (!buf.defined() || buf.bytes() < bytes) {
#if LVK_WITH_CUDA
    // Memory allocated inside a capture belongs to the graph; the buffer must outlive it.
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    LVK_CUDA_CHECK(cudaStreamIsCapturing(cuda::stream(), &capturing));
    LVK_CHECK(capturing == cudaStreamCaptureStatusNone, "cuda_workspace: needs to grow to ", bytes,
              " bytes while a CUDA Graph is being captured (run the work once eagerly first)");
#endif
    // Grow by at least 1.5x so alternating shapes do not reallocate every call. The old buffer
    // stays allocated: a captured CUDA Graph may hold its address (geometric growth bounds the
    // total at 3x the largest).
    const size_t want = std::max(bytes, buf.defined() ? buf.bytes() + buf.bytes() / 2 : bytes);
    if (buf.defined()) retired->push_back(buf);
    buf = Tensor::empty({static_cast<int64_t>((want + 3) / 4)}, DType::f32, device);
  }
  return buf.raw();
}

}  // namespace lvk
