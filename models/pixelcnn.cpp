#include "models/pixelcnn.h"

#include "base/error.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/code_conv.h"
#include "runtime/ops/layout.h"

namespace lvk {

namespace {
// The raster past of a k x k kernel is its first taps positions in raster order: the rows above
// the centre and the centre row up to the centre (type 'A' excludes it, type 'B' includes it).
int64_t raster_taps(int64_t k, char type) {
  const int64_t c = k / 2;
  return c * k + c + (type == 'B' ? 1 : 0);
}

Tensor raster_mask(int64_t out, int64_t in, int64_t k, int64_t taps, Device device) {
  std::vector<float> m(static_cast<size_t>(out * in * k * k));
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<int64_t>(i) % (k * k) < taps ? 1.0f : 0.0f;
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
  taps_ = raster_taps(k, type);
  mask_ = raster_mask(out, in, k, taps_, device);
}

Tensor MaskedConv2d::forward(const Tensor& x) const {
  return conv2d(x, mul(conv_.weight, mask_), conv_.bias, Conv2dParams::make(1, conv_.options.padding));
}

Tensor MaskedConv2d::forward_codes(const Tensor& codes) const {
  return code_conv2d(codes, conv_.weight, conv_.bias, taps_);
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
  Tensor h = input_.forward_codes(codes);
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
