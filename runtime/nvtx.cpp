#include "runtime/nvtx.h"

#include <cstdlib>
#include <cstring>

#if LVK_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace lvk {

bool nvtx_enabled() {
#if LVK_WITH_CUDA
  static const bool on = [] {
    const char* v = std::getenv("LVK_NVTX");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
#else
  return false;
#endif
}

NvtxRange::NvtxRange(const char* name) : active_(nvtx_enabled()) {
#if LVK_WITH_CUDA
  if (active_) nvtxRangePushA(name);
#else
  (void)name;
#endif
}

NvtxRange::~NvtxRange() {
#if LVK_WITH_CUDA
  if (active_) nvtxRangePop();
#endif
}

}  // namespace lvk
