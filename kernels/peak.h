#pragma once
// Machine-peak probes for roofline fractions in benchmarks: a throughput-bound chain of
// independent fp32 FMAs on every core (CPU) or SM (CUDA). Each call returns the FLOPs it
// performed (2 per FMA); callers time it. out receives a value that depends on every chain, so
// the compiler cannot drop the work.
#include "kernels/twins.h"

namespace lvk::kernels {

namespace cpu {
index_t fma_spin(float* out /* [1] */, index_t iterations);
}
#if LVK_WITH_CUDA
namespace cuda {
index_t fma_spin(float* out /* [1] */, index_t iterations, cudaStream_t stream);
}
#endif

}  // namespace lvk::kernels
