#pragma once
// Convolution and normalisation ops on NCHW f32 tensors, recorded on the tape.
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  static Conv2dParams make(int64_t stride, int64_t pad) { return {stride, stride, pad, pad}; }
};

// x [N, C, H, W], w [O, C, KH, KW], b [O] (may be undefined) -> [N, O, OH, OW],
// OH = (H + 2 pad_h - KH) / stride_h + 1 (must be >= 1).
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dParams p = {});

// The adjoint of conv2d, PyTorch's ConvTranspose2d: x [N, C_in, H, W], w [C_in, C_out, KH, KW],
// b [C_out] -> [N, C_out, OH, OW], OH = (H - 1) stride_h - 2 pad_h + KH + output_padding_h, with
// 0 <= output_padding < stride.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dParams p = {},
                        int64_t output_padding_h = 0, int64_t output_padding_w = 0);

// GroupNorm: x [N, C, ...] (rank >= 2), statistics per (image, group of C / groups channels),
// then y = xhat * gamma[c] + beta[c]. C must be divisible by groups.
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t groups, float eps = 1e-5f);

}  // namespace lvk
