#include "runtime/context.h"

#include <cstdlib>
#include <mutex>
#include <string>

#include "base/error.h"
#include "runtime/dist/watchdog.h"

#if LVK_WITH_CUDA
#include "kernels/probe.h"
#include "runtime/cuda_context.h"
#endif

namespace lvk {

namespace {

#if LVK_WITH_CUDA
CudaStatus probe_cuda() {
  CudaStatus s;
  s.built = true;
#if defined(LVK_EMU)
  s.emulated = true;
#endif
  cudaRuntimeGetVersion(&s.runtime_version);
  if (cudaDriverGetVersion(&s.driver_version) != cudaSuccess) s.driver_version = 0;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later probes start clean
    return s;
  }
  if (count == 0) {
    s.reason = "the CUDA driver reports no devices";
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.sm_count = prop.multiProcessorCount;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
    info.total_memory = prop.totalGlobalMem;
    s.devices.push_back(info);
  }
  if (s.devices.empty()) {
    s.reason = "no device answered cudaGetDeviceProperties";
    return s;
  }
  const CudaDeviceInfo& first = s.devices.front();
  if (first.compute_major < 8) {
    s.reason = "device 0 (" + first.name + ") has compute capability " + std::to_string(first.compute_major) + "." +
               std::to_string(first.compute_minor) + "; lvk needs 8.0 or newer";
    return s;
  }
  // Creating the primary context is what fails on a broken driver install; try it now.
  err = cudaSetDevice(0);
  if (err == cudaSuccess) err = cudaFree(nullptr);
  if (err != cudaSuccess) {
    s.reason = std::string("cannot create a context on device 0: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return s;
  }
  err = kernels::cuda::probe_kernel_image();
  if (err != cudaSuccess) {
    s.reason = "lvk was not built for device 0 (" + first.name + ", sm_" + std::to_string(first.compute_major) +
               std::to_string(first.compute_minor) + "): " + cudaGetErrorString(err) +
               "; rebuild with LVK_CUDA_ARCHS=" + std::to_string(first.compute_major) +
               std::to_string(first.compute_minor);
    cudaGetLastError();
    return s;
  }
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) s.devices.front().free_memory = free_b;
  s.usable = true;
  return s;
}
#else
CudaStatus probe_cuda() {
  CudaStatus s;
  s.reason = "lvk was built without the CUDA backend (LVK_CUDA=OFF or no nvcc at configure time)";
  return s;
}
#endif

}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = probe_cuda();
  return status;
}

void require_cuda(int index) {
  const CudaStatus& s = cuda_status();
  LVK_CHECK(s.usable, "no usable CUDA device: ", s.reason);
  // Ops run on one device: the compute stream belongs to device 0.
  LVK_CHECK(index == 0, "no usable CUDA device: cuda:", index, " requested, but lvk runs on cuda:0 only (",
            s.devices.size(), " device(s) found)");
}

void synchronize() {
#if LVK_WITH_CUDA
  if (cuda_status().usable) {
    dist::PeerWait wait("a device synchronisation (behind the stream's collectives)");
    LVK_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  }
#endif
}

}  // namespace lvk
