#pragma once
// Convolution over one-hot codes without forming them: the first layer of a PixelCNN prior.
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

// conv2d(to_channels_first(one_hot(codes, K)), w * mask, b, stride 1, padding kernel / 2) as a
// gather of weight columns (kernels/code_conv.h): codes i32 [N, H, W] in [0, K), w [O, K, k, k]
// with k odd, b [O] (may be undefined) -> [N, O, H, W]. The mask keeps the first `taps` kernel
// positions in raster order (r * k + s < taps) for every channel pair, so 1 <= taps <= k * k;
// the weight gradient is zero at the other positions. The codes get no gradient. On the CPU a code
// outside [0, K) is an error; the CUDA twin (which cannot check without a host read) treats it as
// an all-zero one-hot row.
Tensor code_conv2d(const Tensor& codes, const Tensor& w, const Tensor& b, int64_t taps);

}  // namespace lvk
