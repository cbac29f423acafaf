// The emulated device: its properties, error strings, kernel attributes and launches.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "diagnostics.h"
#include "lvk_emu/launch.h"
#include "lvk_emu/runtime_api.h"
#include "scheduler.h"
#include "streams.h"

using namespace lvk_emu;

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// An H100-class (sm_90) device; shared-memory and launch limits are the ones real launches are
// checked against.
constexpr size_t kSharedPerBlock = 48 << 10;
constexpr size_t kSharedPerBlockOptin = 227 << 10;
constexpr int kSmCount = 132;

size_t host_memory_bytes() {
  return static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// cudaFuncAttributeMaxDynamicSharedMemorySize per kernel.
std::map<const void*, int> g_max_dynamic_shared;

}  // namespace

namespace lvk_emu {

std::string kernel_name_from_signature(const char* pretty) {
  // GCC: "const char* lvk_emu::kernel_name() [with auto Kernel = ns::kernel<3>]"
  std::string s = pretty;
  const auto at = s.find("Kernel = ");
  if (at == std::string::npos) return s;
  std::string name = s.substr(at + 9);
  if (!name.empty() && name.back() == ']') name.pop_back();
  return name;
}

cudaError_t launch_kernel(const LaunchConfig& config, std::function<void()> thread_body) {
  Lock lock(device_mutex());
  if (sticky_error()) return sticky_error();
  const dim3 b = config.block, g = config.grid;
  const uint64_t threads = uint64_t{b.x} * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024 || g.x == 0 ||
      g.y == 0 || g.z == 0 || g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
    std::fprintf(stderr, "lvk-emu: launch of %s with grid (%u,%u,%u) block (%u,%u,%u) is not a valid configuration\n",
                 config.kernel_name, g.x, g.y, g.z, b.x, b.y, b.z);
    return api_error(cudaErrorInvalidConfiguration);
  }
  auto limit = g_max_dynamic_shared.find(config.kernel);
  const size_t dynamic_limit =
      limit != g_max_dynamic_shared.end() ? static_cast<size_t>(limit->second) : kSharedPerBlock;
  if (config.shared_bytes > dynamic_limit) {
    std::fprintf(stderr,
                 "lvk-emu: launch of %s asks for %zu bytes of dynamic shared memory; the limit is %zu without "
                 "cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize)\n",
                 config.kernel_name, config.shared_bytes, dynamic_limit);
    return api_error(cudaErrorInvalidValue);
  }
  CUstream_st* s = stream_of(config.stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  enqueue_op(s, config.kernel_name, [config, body = std::move(thread_body)] { run_grid(config, body); });
  return cudaSuccess;
}

}  // namespace lvk_emu

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define LVK_EMU_NAME(e) \
  case e:               \
    return #e;
    LVK_EMU_NAME(cudaSuccess)
    LVK_EMU_NAME(cudaErrorInvalidValue)
    LVK_EMU_NAME(cudaErrorMemoryAllocation)
    LVK_EMU_NAME(cudaErrorInitializationError)
    LVK_EMU_NAME(cudaErrorCudartUnloading)
    LVK_EMU_NAME(cudaErrorInvalidConfiguration)
    LVK_EMU_NAME(cudaErrorInvalidDeviceFunction)
    LVK_EMU_NAME(cudaErrorInvalidPitchValue)
    LVK_EMU_NAME(cudaErrorInvalidSymbol)
    LVK_EMU_NAME(cudaErrorInvalidDevicePointer)
    LVK_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    LVK_EMU_NAME(cudaErrorInvalidResourceHandle)
    LVK_EMU_NAME(cudaErrorIllegalState)
    LVK_EMU_NAME(cudaErrorNotReady)
    LVK_EMU_NAME(cudaErrorIllegalAddress)
    LVK_EMU_NAME(cudaErrorLaunchOutOfResources)
    LVK_EMU_NAME(cudaErrorLaunchTimeout)
    LVK_EMU_NAME(cudaErrorAssert)
    LVK_EMU_NAME(cudaErrorIllegalInstruction)
    LVK_EMU_NAME(cudaErrorLaunchFailure)
    LVK_EMU_NAME(cudaErrorNoDevice)
    LVK_EMU_NAME(cudaErrorInvalidDevice)
    LVK_EMU_NAME(cudaErrorNoKernelImageForDevice)
    LVK_EMU_NAME(cudaErrorInvalidKernelImage)
    LVK_EMU_NAME(cudaErrorStreamCaptureUnsupported)
    LVK_EMU_NAME(cudaErrorStreamCaptureInvalidated)
    LVK_EMU_NAME(cudaErrorStreamCaptureMerge)
    LVK_EMU_NAME(cudaErrorStreamCaptureUnmatched)
    LVK_EMU_NAME(cudaErrorStreamCaptureUnjoined)
    LVK_EMU_NAME(cudaErrorStreamCaptureIsolation)
    LVK_EMU_NAME(cudaErrorStreamCaptureImplicit)
    LVK_EMU_NAME(cudaErrorCapturedEvent)
    LVK_EMU_NAME(cudaErrorStreamCaptureWrongThread)
    LVK_EMU_NAME(cudaErrorGraphExecUpdateFailure)
    LVK_EMU_NAME(cudaErrorNotSupported)
    LVK_EMU_NAME(cudaErrorUnknown)
#undef LVK_EMU_NAME
  }
  return "cudaErrorUnknown";
}

namespace {
const char* plain_error_string(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorIllegalState:
      return "the operation cannot be performed in the present state";
    case cudaErrorNotReady:
      return "device not ready";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
    case cudaErrorAssert:
      return "device-side assert triggered";
    case cudaErrorIllegalInstruction:
      return "an illegal instruction was encountered";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent:
      return "operation not permitted on an event last recorded in a capturing stream";
    case cudaErrorStreamCaptureWrongThread:
      return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorNotSupported:
      return "operation not supported on the emulated device";
    default:
      return "unknown error";
  }
}
}  // namespace

const char* cudaGetErrorString(cudaError_t error) {
  // The sticky error of a failed kernel carries the emulator's account of what went wrong.
  thread_local std::string text;
  if (error != cudaSuccess && error == sticky_error() && !sticky_message().empty()) {
    text = std::string(plain_error_string(error)) + " (lvk-emu: " + sticky_message() + ")";
    return text.c_str();
  }
  return plain_error_string(error);
}

cudaError_t cudaGetLastError() {
  return take_last_error();
}
cudaError_t cudaPeekAtLastError() {
  return peek_last_error();
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return api_error(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (!version) return api_error(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return api_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return api_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : api_error(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return api_error(cudaErrorInvalidValue);
  if (device != 0) return api_error(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof(prop->name), "lvk-emu (emulated sm_90 on the CPU)");
  prop->totalGlobalMem = host_memory_bytes();
  prop->sharedMemPerBlock = kSharedPerBlock;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->memPitch = 2147483647;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = kSmCount;
  prop->l2CacheSize = 50 << 20;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->sharedMemPerMultiprocessor = 228 << 10;
  prop->sharedMemPerBlockOptin = kSharedPerBlockOptin;
  prop->memoryBusWidth = 5120;
  prop->concurrentKernels = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return api_error(cudaErrorInvalidValue);
  if (device != 0) return api_error(cudaErrorInvalidDevice);
  cudaDeviceProp p;
  cudaGetDeviceProperties(&p, 0);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = p.maxThreadsPerBlock;
      break;
    case cudaDevAttrMaxBlockDimX:
      *value = p.maxThreadsDim[0];
      break;
    case cudaDevAttrMaxBlockDimY:
      *value = p.maxThreadsDim[1];
      break;
    case cudaDevAttrMaxBlockDimZ:
      *value = p.maxThreadsDim[2];
      break;
    case cudaDevAttrMaxGridDimX:
      *value = p.maxGridSize[0];
      break;
    case cudaDevAttrMaxGridDimY:
      *value = p.maxGridSize[1];
      break;
    case cudaDevAttrMaxGridDimZ:
      *value = p.maxGridSize[2];
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = static_cast<int>(p.sharedMemPerBlock);
      break;
    case cudaDevAttrWarpSize:
      *value = 32;
      break;
    case cudaDevAttrMultiProcessorCount:
      *value = p.multiProcessorCount;
      break;
    case cudaDevAttrComputeCapabilityMajor:
      *value = p.major;
      break;
    case cudaDevAttrComputeCapabilityMinor:
      *value = p.minor;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = static_cast<int>(p.sharedMemPerBlockOptin);
      break;
    default:
      return api_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceReset() {
  Lock lock(device_mutex());
  flush_all();
  clear_sticky_error();
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return api_error(cudaErrorInvalidValue);
  *total_bytes = host_memory_bytes();
  *free_bytes = static_cast<size_t>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  if (!attr || !func) return api_error(cudaErrorInvalidDeviceFunction);
  *attr = cudaFuncAttributes{};
  attr->maxThreadsPerBlock = 1024;
  attr->ptxVersion = 90;
  attr->binaryVersion = 90;
  auto it = g_max_dynamic_shared.find(func);
  attr->maxDynamicSharedSizeBytes = it != g_max_dynamic_shared.end() ? it->second : static_cast<int>(kSharedPerBlock);
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  Lock lock(device_mutex());
  if (!func) return api_error(cudaErrorInvalidDeviceFunction);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || static_cast<size_t>(value) > kSharedPerBlockOptin) return api_error(cudaErrorInvalidValue);
    g_max_dynamic_shared[func] = value;
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout)
    return value >= -1 && value <= 100 ? cudaSuccess : api_error(cudaErrorInvalidValue);
  return api_error(cudaErrorInvalidValue);
}
