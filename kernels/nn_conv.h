#pragma once
// 2-D convolution primitives on NCHW tensors, for Conv2d and ConvTranspose2d. All three are
// defined on the geometry of a forward (cross-correlation) convolution:
//   x [n, c, h, w] --(w [o, c, kh, kw], stride, zero padding)--> y [n, o, oh, ow].
// A transposed convolution is the adjoint: its forward is conv_backward_data, its input gradient
// conv_forward, and its weight gradient conv_backward_filter with the roles of x and dy swapped.
// CPU: oneDNN's convolution primitives, or im2col + sgemm without oneDNN (kernels/cpu/nn_conv_impls.h),
// both repeating their results bit for bit at a fixed thread count. CUDA: cuDNN, pure FP32 math, only
// deterministic algorithms, chosen once per shape and cached.
#include "kernels/twins.h"

#if LVK_WITH_CUDA
#include <cudnn.h>
#endif

namespace lvk::kernels {

struct ConvShape {
  index_t n, c, h, w;  // input of the forward convolution
  index_t o;           // output channels of the forward convolution
  index_t kh, kw, sh, sw, ph, pw;
  index_t oh, ow;  // (h + 2 ph - kh) / sh + 1, likewise for w
};

#define LVK_CONV_DECLS(...)                                                                     \
  /* y = conv(x, w) */                                                                          \
  void conv_forward(float* y /* [n, o, oh, ow] */, const float* x /* [n, c, h, w] */,           \
                    const float* w /* [o, c, kh, kw] */, const ConvShape& s __VA_ARGS__);       \
  /* dx = conv^T(dy, w) (written, not accumulated) */                                           \
  void conv_backward_data(float* dx /* [n, c, h, w] */, const float* dy /* [n, o, oh, ow] */,   \
                          const float* w /* [o, c, kh, kw] */, const ConvShape& s __VA_ARGS__); \
  /* dw = sum over the batch of dy (x) x-patches (written, not accumulated) */                  \
  void conv_backward_filter(float* dw /* [o, c, kh, kw] */, const float* x /* [n, c, h, w] */,  \
                            const float* dy /* [n, o, oh, ow] */, const ConvShape& s __VA_ARGS__);

#define LVK_CHANNEL_DECLS(...)                                                                        \
  /* y[i, ch, :] += b[ch] */                                                                          \
  void channel_bias_add(float* y /* [n, ch, hw] */, const float* b /* [ch] */, index_t n, index_t ch, \
                        index_t hw __VA_ARGS__);                                                      \
  /* out[ch] = sum over n and hw of x[i, ch, :], fixed order */                                       \
  void channel_sum(float* out /* [ch] */, const float* x /* [n, ch, hw] */, index_t n, index_t ch,    \
                   index_t hw __VA_ARGS__);

namespace cpu {
LVK_CONV_DECLS()
LVK_CHANNEL_DECLS()
}  // namespace cpu
#if LVK_WITH_CUDA
namespace cuda {
// The cuDNN algorithms and workspace for one geometry, cached by conv_plan. The same workspace
// bound serves all three primitives.
struct ConvPlan {
  cudnnConvolutionFwdAlgo_t fwd;
  cudnnConvolutionBwdDataAlgo_t bwd_data;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter;
  size_t workspace_bytes;
};
const ConvPlan& conv_plan(const ConvShape& s, cudnnHandle_t handle);
LVK_CONV_DECLS(, const ConvPlan& plan, void* workspace, cudnnHandle_t handle, cudaStream_t stream)
LVK_CHANNEL_DECLS(, cudaStream_t stream)
}  // namespace cuda
#endif
#undef LVK_CONV_DECLS
#undef LVK_CHANNEL_DECLS

}  // namespace lvk::kernels
