#pragma once
// Warp-level tensor-core products shared by the CUDA twins. This is the one place where device code
// forks between nvcc and the emulated CUDA build (LVK_EMU): everything else is the same source.
#include <cuda_runtime.h>

#include <cstdint>

#if defined(LVK_EMU)
#include "lvk_emu/mma.h"
#endif

namespace lvk::kernels::cuda {

// d[0..3] += A (16 x 16, row-major) * B (16 x 8, column-major) for one warp: mma.sync m16n8k16 with
// BF16 inputs and fp32 accumulation. a holds 4 and b 2 registers of packed BF16 pairs in the PTX
// fragment layout; d holds this lane's 4 accumulators. Needs sm_80 or newer (the host checks).
__device__ __forceinline__ void mma_m16n8k16_bf16(float* d, const uint32_t* a, const uint32_t* b) {
#if defined(LVK_EMU)
  lvk_emu::mma_m16n8k16_bf16(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // the host refuses to launch below sm_80
#endif
}

}  // namespace lvk::kernels::cuda
