#pragma once
// The fused CPU nearest-code lookup as sgemm score tiles plus an in-cache argmin
// (kernels/cpu/vq_tiles.cpp), for the ISAs where it beats the register micro-kernel of
// kernels/cpu/vq.cpp. Needs OpenBLAS.
#include "kernels/cpu/cpu_isa.h"
#include "kernels/vq.h"

namespace lvk::kernels::cpu {

bool vq_tiles_available();

// indices [N]: the nearest code of each row of z (layout s); packed [K, C]: -2 (e - mu), row-major;
// norms [K]: ||e - mu||^2; mu [C]: the codebook mean.
void vq_nearest_tiles(int32_t* indices, const float* z, const float* packed, const float* norms, const float* mu,
                      VqShape s, CpuIsa isa);

}  // namespace lvk::kernels::cpu
