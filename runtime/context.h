#pragma once
// Device discovery and the process-wide compute context. Discovery never crashes without a GPU,
// a driver or a CUDA build: it reports why no device is usable.
#include <cstddef>
#include <string>
#include <vector>

namespace lvk {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int sm_count = 0;
  int compute_major = 0, compute_minor = 0;
  size_t total_memory = 0;
  size_t free_memory = 0;
};

struct CudaStatus {
  bool built = false;       // compiled with the CUDA backend
  bool usable = false;      // at least one device can run our kernels
  bool emulated = false;    // the device is the CPU emulation of LVK_CUDA=EMU: correct, not fast
  std::string reason;       // why not, when !usable
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver
  std::vector<CudaDeviceInfo> devices;
};

// Probed once, then cached. Safe to call on any machine.
const CudaStatus& cuda_status();

// Throws lvk::Error "no usable CUDA device: <reason>" unless CUDA device `index` is usable.
void require_cuda(int index = 0);

// Waits for the compute stream (no-op without CUDA).
void synchronize();

}  // namespace lvk
