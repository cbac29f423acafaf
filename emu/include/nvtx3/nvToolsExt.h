#pragma once
// NVTX annotations. Without a profiler attached the real library's calls do nothing and report
// that no tool tracks ranges; the emulator never has one attached, so these are inline no-ops
// with the same results.
#include <cstdint>

#define NVTX_VERSION 3
#define NVTX_SUCCESS 0
#define NVTX_FAIL 1
#define NVTX_NO_PUSH_POP_TRACKING ((int)-2)

typedef uint64_t nvtxRangeId_t;

inline void nvtxInitialize(const void* /*reserved*/) {}
inline void nvtxMarkA(const char* /*message*/) {}
inline void nvtxMarkW(const wchar_t* /*message*/) {}
inline int nvtxRangePushA(const char* /*message*/) {
  return NVTX_NO_PUSH_POP_TRACKING;
}
inline int nvtxRangePushW(const wchar_t* /*message*/) {
  return NVTX_NO_PUSH_POP_TRACKING;
}
inline int nvtxRangePop(void) {
  return NVTX_NO_PUSH_POP_TRACKING;
}
inline nvtxRangeId_t nvtxRangeStartA(const char* /*message*/) {
  return 0;
}
inline nvtxRangeId_t nvtxRangeStartW(const wchar_t* /*message*/) {
  return 0;
}
inline void nvtxRangeEnd(nvtxRangeId_t /*id*/) {}
inline void nvtxNameOsThreadA(uint32_t /*threadId*/, const char* /*name*/) {}
inline void nvtxNameOsThreadW(uint32_t /*threadId*/, const wchar_t* /*name*/) {}
inline void nvtxNameCategoryA(uint32_t /*category*/, const char* /*name*/) {}
inline void nvtxNameCategoryW(uint32_t /*category*/, const wchar_t* /*name*/) {}
