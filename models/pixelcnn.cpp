#include "models/pixelcnn.h"

#include "base/error.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/layout.h"

namespace lvk {

namespace {
Tensor raster_mask(int64_t out, int64_t in, int64_t k, char type, Device device) {
  const int64_t c = k / 2;
  std::vector<float> m(static_cast<size_t>(out * in * k * k));
  for (int64_t i = 0; i < out * in; ++i)
    for (int64_t r = 0; r < k; ++r)
      for (int64_t s = 0; s < k; ++s) {
        const bool past = r < c || (r == c && (type == 'A' ? s < c : s <= c));
        m[static_cast<size_t>((i * k + r) * k + s)] = past ? 1.0f : 0.0f;
      }
  return Tensor::from_vector(m, {out, in, k, k}, device);
}

std::vector<MaskedConv2d> residual_blocks(int64_t hidden, int64_t layers, InitStream& init, Device device) {
  std::vector<MaskedConv2d> blocks;
  for (int64_t i = 0; i < layers; ++i) blocks.emplace_back(hidden, hidden, 3, 'B', init, device);
  return blocks;
}
}  // namespace

MaskedConv2d::MaskedConv2d(int64_t in, int64_t out, int64_t k, char type, InitStream& init, Device device)
    : conv_(in, out, k, init, device, ConvOptions{1, k / 2}) {
  LVK_CHECK(type == 'A' || type == 'B', "MaskedConv2d: type '", type, "' is not A or B");
  LVK_CHECK(k % 2 == 1 && (type == 'B' || k >= 3), "MaskedConv2d: kernel=", k, " must be odd (and >= 3 for type A)");
  mask_ = raster_mask(out, in, k, type, device);
}

Tensor MaskedConv2d::forward(const Tensor& x) const {
  return conv2d(x, mul(conv_.weight, mask_), conv_.bias, Conv2dParams::make(1, conv_.options.padding));
}

void MaskedConv2d::collect_parameters(const std::string& prefix, ParameterList& out) const {
  conv_.collect_parameters(prefix, out);
}

PixelCnn::PixelCnn(int64_t codes, int64_t hidden, int64_t layers, int64_t kernel, InitStream& init, Device device)
    : codes_(codes),
      input_(codes, hidden, kernel, 'A', init, device),
      blocks_(residual_blocks(hidden, layers, init, device)),
      output_(hidden, codes, 1, init, device) {}

Tensor PixelCnn::logits(const Tensor& codes) const {
  LVK_CHECK(codes.rank() == 3 && codes.dtype() == DType::i32, "pixelcnn: expected code maps i32 [B, H, W], got ",
            codes.str());
  Tensor h = input_.forward(to_channels_first(one_hot(codes, codes_)));
  for (const MaskedConv2d& b : blocks_) h = add(h, b.forward(relu(h)));
  return output_.forward(relu(h));
}

Tensor PixelCnn::logit_rows(const Tensor& codes) const {
  const Tensor l = to_channels_last(logits(codes));
  return reshape(l, {l.numel() / codes_, codes_});
}

void PixelCnn::collect_parameters(const std::string& prefix, ParameterList& out) const {
  input_.collect_parameters(prefix + "in.", out);
  for (size_t i = 0; i < blocks_.size(); ++i)
    blocks_[i].collect_parameters(prefix + "res." + std::to_string(i) + ".", out);
  output_.collect_parameters(prefix + "out.", out);
}

}  // namespace lvk
