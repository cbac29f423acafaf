#include "runtime/ops/workspace.h"

#include <map>
#include <mutex>

#include "runtime/error.h"
#include "runtime/tensor.h"

namespace lvk {

void* cuda_workspace(Device device, size_t bytes) {
  LVK_CHECK(device.is_cuda(), "cuda_workspace: device ", device.str(), " is not a CUDA device");
  if (bytes == 0) return nullptr;
  static std::mutex mutex;
  static auto* buffers = new std::map<int, Tensor>();  // leaked: see the header
  std::lock_guard<std::mutex> lock(mutex);
  Tensor& buf = (*buffers)[device.index];
  if (!buf.defined() || buf.bytes() < bytes) {
    // Grow by at least 1.5x so alternating shapes do not reallocate every call.
    const size_t want = std::max(bytes, buf.defined() ? buf.bytes() + buf.bytes() / 2 : bytes);
    buf = Tensor::empty({static_cast<int64_t>((want + 3) / 4)}, DType::f32, device);
  }
  return buf.raw();
}

}  // namespace lvk
