#pragma once
// A stride-1, same-padded 2-D convolution whose input is one-hot over K codes, computed from the
// codes without forming the one-hot tensor: with c = kernel / 2,
//   y[n, o, i, j] = b[o] + sum over allowed taps (r, s) with (i + r - c, j + s - c) in the image
//                   of w[o, codes[n, i + r - c, j + s - c], r, s],
// a gather of weight columns, and its weight gradient a scatter-add of dy. The allowed taps are
// the first `taps` kernel positions in raster order (r * kernel + s < taps): the raster masks of
// a PixelCNN (type 'A' stops before the centre, type 'B' includes it; taps = kernel^2 is unmasked).
// Codes outside [0, K) contribute nothing, as their one-hot row (all zeros) would.
// Both twins are deterministic: every sum runs in a fixed order, with no float atomics.
// CPU twins in cpu/code_conv.cpp, CUDA twins in cuda/code_conv.cu.
#include "kernels/twins.h"

namespace lvk::kernels {

struct CodeConvShape {
  index_t n, h, w;  // code maps [n, h, w]
  index_t codes;    // K, the input channels of the equivalent dense convolution
  index_t o;        // output channels
  index_t kernel;   // odd; padding kernel / 2 keeps the output h x w
  index_t taps;     // 1 <= taps <= kernel^2
};

#define LVK_CODE_CONV_DECLS(...)                                                                               \
  /* y = code_conv(codes, w) + b; b may be null (no bias). */                                                  \
  void code_conv_forward(float* y /* [n, o, h, w] */, const int32_t* codes /* [n, h, w] */,                    \
                         const float* w /* [o, K, kernel, kernel] */, const float* b /* [o] or null */,        \
                         const CodeConvShape& s __VA_ARGS__);                                                  \
  /* dw = the weight gradient (written, not accumulated; zero at the taps the mask excludes). */               \
  void code_conv_backward_filter(float* dw /* [o, K, kernel, kernel] */, const int32_t* codes /* [n, h, w] */, \
                                 const float* dy /* [n, o, h, w] */, const CodeConvShape& s __VA_ARGS__);

namespace cpu {
LVK_CODE_CONV_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_CODE_CONV_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_CODE_CONV_DECLS

}  // namespace lvk::kernels
