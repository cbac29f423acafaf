#pragma once
// Memory-layout kernels: the channels-first <-> channels-last moves that let row-wise ops (the
// Gumbel-softmax over K, the codebook mixture) run on conv feature maps. CPU twins in
// cpu/layout.cpp, CUDA twins in cuda/layout.cu, same signatures minus the stream.
#include "kernels/twins.h"

namespace lvk::kernels {

#define LVK_LAYOUT_DECLS(...)                                                                                         \
  /* out[b, j, i] = in[b, i, j] for every b < batch, i < rows, j < cols (a batch of matrix transposes). */            \
  /* NCHW -> NHWC is (rows = C, cols = H*W); NHWC -> NCHW is (rows = H*W, cols = C). */                               \
  void swap_last_axes(float* out /* [batch, cols, rows] */, const float* in /* [batch, rows, cols] */, index_t batch, \
                      index_t rows, index_t cols __VA_ARGS__);

namespace cpu {
LVK_LAYOUT_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_LAYOUT_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_LAYOUT_DECLS

}  // namespace lvk::kernels
