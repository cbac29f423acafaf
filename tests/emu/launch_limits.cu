// Launch configurations a GPU refuses: 1025 threads per block, a grid y extent of 65536, and 49 KiB
// of dynamic shared memory without raising the kernel's limit with cudaFuncSetAttribute. Each launch
// fails at once: cudaGetLastError returns the error and nothing runs. After cudaFuncSetAttribute the
// 49 KiB launch is accepted.
#include <cstdio>

#include "lvk_emu/launch.h"

__global__ void touch(int* counter) {
  atomicAdd(counter, 1);
}

static int failures = 0;
static void expect(const char* what, cudaError_t want) {
  const cudaError_t got = cudaGetLastError();
  std::fprintf(stderr, "%s: %s%s\n", what, cudaGetErrorName(got), got == want ? "" : " (UNEXPECTED)");
  failures += got != want;
}

int main() {
  int* counter = nullptr;
  if (cudaMalloc(&counter, sizeof(int)) != cudaSuccess) return 1;
  cudaMemset(counter, 0, sizeof(int));
  lvk_emu::launch<touch>(1, 1025, 0, 0, counter);
  expect("block of 1025 threads", cudaErrorInvalidConfiguration);
  lvk_emu::launch<touch>(dim3(1, 65536), 1, 0, 0, counter);
  expect("grid y of 65536", cudaErrorInvalidConfiguration);
  lvk_emu::launch<touch>(1, 32, 49 << 10, 0, counter);
  expect("49 KiB dynamic shared memory", cudaErrorInvalidValue);
  cudaFuncSetAttribute(touch, cudaFuncAttributeMaxDynamicSharedMemorySize, 49 << 10);
  lvk_emu::launch<touch>(1, 32, 49 << 10, 0, counter);
  expect("49 KiB after cudaFuncSetAttribute", cudaSuccess);
  int ran = -1;
  cudaMemcpy(&ran, counter, sizeof ran, cudaMemcpyDeviceToHost);
  std::fprintf(stderr, "threads that ran: %d (expected 32: only the last launch)\n", ran);
  failures += ran != 32;
  cudaFree(counter);
  std::fprintf(stderr, "launch limits check: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
