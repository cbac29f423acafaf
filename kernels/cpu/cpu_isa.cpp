#include "kernels/cpu/cpu_isa.h"

#include <cstdlib>
#include <string>

namespace lvk::kernels::cpu {

CpuIsa cpu_isa() {
  static const CpuIsa isa = [] {
    __builtin_cpu_init();
    const char* cap = std::getenv("LVK_CPU_ISA");
    const std::string want = cap ? cap : "";
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want.empty() && avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
      return CpuIsa::avx512;
    if (want != "base" && avx2) return CpuIsa::avx2;
    return CpuIsa::base;
  }();
  return isa;
}

}  // namespace lvk::kernels::cpu
