#pragma once
// PixelCNN over code maps (van den Oord et al. 2016, as the VQ-VAE paper's prior): codes i32
// [B, H, W] of K codes -> masked conv type 'A' (kernel x kernel) of their one-hot [B, K, H, W],
// computed as a gather of weight columns by code (code_conv2d) ->
// `layers` residual blocks h + convB3x3(relu(h)) -> relu -> 1x1 conv to K logits per position.
// Positions are in raster order: the logits at (i, j) depend only on codes at rows < i and at
// row i, columns < j, so they model p(code_ij | codes before it).
#include <cstdint>
#include <vector>

#include "models/conv_layers.h"

namespace lvk {

// A conv whose kernel is masked to the raster past (same padding, stride 1): type 'A' sees rows
// above and the columns left of the centre; type 'B' also the centre (its input at a position
// already summarises only the past). Parameters "weight", "bias" as Conv2d; the mask is a
// constant [out, in, k, k] tensor, applied to the weight on every forward so gradients of the
// masked taps are zero.
class MaskedConv2d : public Module {
 public:
  // kernel odd >= 1 (type 'A' needs >= 3: at 1 it would see nothing). Two InitStream offsets.
  MaskedConv2d(int64_t in, int64_t out, int64_t kernel, char type, InitStream& init, Device device);
  Tensor forward(const Tensor& x) const;
  // The same layer on the one-hot of codes i32 [B, H, W] in [0, in), without forming it.
  Tensor forward_codes(const Tensor& codes) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  const Tensor& mask() const { return mask_; }

 private:
  Conv2d conv_;
  Tensor mask_;
  int64_t taps_;  // the kernel positions the mask keeps: the first taps_ in raster order
};

class PixelCnn : public Module {
 public:
  PixelCnn(int64_t codes, int64_t hidden, int64_t layers, int64_t kernel, InitStream& init, Device device);
  // codes i32 [B, H, W] in [0, K) -> logits f32 [B, K, H, W].
  Tensor logits(const Tensor& codes) const;
  // The same as rows in raster order, [B * H * W, K] (channels last), for categorical ops.
  Tensor logit_rows(const Tensor& codes) const;
  int64_t codes() const { return codes_; }
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

 private:
  int64_t codes_;
  MaskedConv2d input_;
  std::vector<MaskedConv2d> blocks_;
  Conv2d output_;
};

}  // namespace lvk
