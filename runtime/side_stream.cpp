#include "runtime/side_stream.h"

#if LVK_WITH_CUDA
#include "base/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace lvk {

#if LVK_WITH_CUDA

namespace {
cudaEvent_t event(void* e) {
  return static_cast<cudaEvent_t>(e);
}
}  // namespace

SideStream::SideStream(Device device) {
  if (!device.is_cuda()) return;
  (void)cuda::stream();  // the compute stream selects the device the side stream belongs to
  cudaStream_t s = nullptr;
  cudaEvent_t a = nullptr, b = nullptr;
  LVK_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_ = s;
  LVK_CUDA_CHECK(cudaEventCreateWithFlags(&a, cudaEventDisableTiming));
  forked_ = a;
  LVK_CUDA_CHECK(cudaEventCreateWithFlags(&b, cudaEventDisableTiming));
  joined_ = b;
}

SideStream::~SideStream() {
  if (forked_) cudaEventDestroy(event(forked_));
  if (joined_) cudaEventDestroy(event(joined_));
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

void SideStream::fork() {
  if (!stream_) return;
  LVK_CUDA_CHECK(cudaEventRecord(event(forked_), cuda::stream()));
  LVK_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream_), event(forked_), 0));
  joined_back_ = false;
}

void SideStream::join() {
  // Nothing forked since the last join: there is nothing to wait for, and inside a capture the
  // compute stream must not wait on an event recorded outside it.
  if (!stream_ || joined_back_) return;
  joined_back_ = true;
  LVK_CUDA_CHECK(cudaEventRecord(event(joined_), static_cast<cudaStream_t>(stream_)));
  LVK_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(), event(joined_), 0));
}

SideStream::Scope::Scope(SideStream& side) {
  if (side.stream_) guard_ = new cuda::StreamScope(static_cast<cudaStream_t>(side.stream_));
}

SideStream::Scope::~Scope() {
  delete static_cast<cuda::StreamScope*>(guard_);
}

#else

SideStream::SideStream(Device) {}
SideStream::~SideStream() = default;
void SideStream::fork() {}
void SideStream::join() {}
SideStream::Scope::Scope(SideStream&) {}
SideStream::Scope::~Scope() = default;

#endif

}  // namespace lvk
