#pragma once
// Affine coupling ops (RealNVP): one fused pass per direction, backward on the tape.
// x is [N, D] or image-shaped [B, C, H, W] (then D = C H W); the mask has D elements (1 = pass
// through, 0 = transform); s_raw and t have x's shape; s = scale * tanh(s_raw) bounds the
// log-scale to (-scale, scale).
#include "runtime/tensor.h"

namespace lvk {

struct CouplingResult {
  Tensor out;     // y for forward, x for inverse; same shape as the input
  Tensor logdet;  // [N]: log|det J| of the direction taken
};

CouplingResult coupling_forward(const Tensor& x, const Tensor& mask, const Tensor& s_raw, const Tensor& t, float scale);
CouplingResult coupling_inverse(const Tensor& y, const Tensor& mask, const Tensor& s_raw, const Tensor& t, float scale);

enum class MaskKind {
  alternating,   // features 0, 2, 4, ... pass through ([D])
  half,          // the first half passes through ([D], D odd: floor(D/2) pass)
  checkerboard,  // (h + w) even passes through, every channel ([C, H, W])
  channel,       // the first half of the channels passes through ([C, H, W])
};

// The mask for `features` ([D] or [C, H, W]); `flip` swaps the roles of the two halves, as
// consecutive coupling layers do.
Tensor coupling_mask(MaskKind kind, const Shape& features, bool flip, Device device = Device::cpu());

}  // namespace lvk
