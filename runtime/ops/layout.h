#pragma once
// Channels-first <-> channels-last moves of 4-D feature maps, so per-position row ops (the
// Gumbel-softmax over K codes, the codebook mixture) can read a conv output as [B*H*W, K] rows.
// Each is recorded on the tape; the backward of one is the other. Kernels: kernels/layout.h.
#include "runtime/tensor.h"

namespace lvk {

// x f32 [B, C, H, W] -> [B, H, W, C] (a fresh contiguous tensor).
Tensor to_channels_last(const Tensor& x);
// x f32 [B, H, W, C] -> [B, C, H, W].
Tensor to_channels_first(const Tensor& x);

}  // namespace lvk
