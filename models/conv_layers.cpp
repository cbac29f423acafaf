#include "models/conv_layers.h"

#include "base/error.h"
#include "runtime/ops/basic.h"

namespace lvk {

namespace {
Tensor conv_bias(int64_t len, const ConvOptions& o, int64_t fan_in, InitStream& init, uint64_t offset, Device device) {
  if (!o.bias) return Tensor();
  const Init b_init = o.init == Init::zeros ? Init::zeros : Init::torch_default;
  return make_parameter(init_parameter({len}, b_init, fan_in, len, init.seed(), offset, device));
}
}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, InitStream& init, Device device, ConvOptions o) : options(o) {
  LVK_CHECK(in >= 1 && out >= 1 && k >= 1, "Conv2d: in=", in, " out=", out, " kernel=", k, ", expected all >= 1");
  const uint64_t w_off = init.take(), b_off = init.take();
  weight = make_parameter(init_parameter({out, in, k, k}, o.init, in * k * k, out * k * k, init.seed(), w_off, device));
  bias = conv_bias(out, o, in * k * k, init, b_off, device);
}

Tensor Conv2d::forward(const Tensor& x) const {
  return conv2d(x, weight, bias, Conv2dParams::make(options.stride, options.padding));
}

void Conv2d::collect_parameters(const std::string& prefix, ParameterList& out) const {
  out.emplace_back(prefix + "weight", weight);
  if (bias.defined()) out.emplace_back(prefix + "bias", bias);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, InitStream& init, Device device, ConvOptions o)
    : options(o) {
  LVK_CHECK(in >= 1 && out >= 1 && k >= 1, "ConvTranspose2d: in=", in, " out=", out, " kernel=", k,
            ", expected all >= 1");
  const uint64_t w_off = init.take(), b_off = init.take();
  // PyTorch computes fan_in of a transposed conv from weight.size(1) = out.
  weight = make_parameter(init_parameter({in, out, k, k}, o.init, out * k * k, in * k * k, init.seed(), w_off, device));
  bias = conv_bias(out, o, out * k * k, init, b_off, device);
}

Tensor ConvTranspose2d::forward(const Tensor& x) const {
  return conv_transpose2d(x, weight, bias, Conv2dParams::make(options.stride, options.padding), options.output_padding,
                          options.output_padding);
}

void ConvTranspose2d::collect_parameters(const std::string& prefix, ParameterList& out) const {
  out.emplace_back(prefix + "weight", weight);
  if (bias.defined()) out.emplace_back(prefix + "bias", bias);
}

GroupNorm::GroupNorm(int64_t g, int64_t channels, Device device, float e) : groups(g), eps(e) {
  LVK_CHECK(g >= 1 && channels >= 1 && channels % g == 0, "GroupNorm: channels=", channels,
            " must be a positive multiple of groups=", g);
  weight = make_parameter(Tensor::full({channels}, 1.0f, device));
  bias = make_parameter(Tensor::zeros({channels}, DType::f32, device));
}

Tensor GroupNorm::forward(const Tensor& x) const {
  return group_norm(x, weight, bias, groups, eps);
}

void GroupNorm::collect_parameters(const std::string& prefix, ParameterList& out) const {
  out.emplace_back(prefix + "weight", weight);
  out.emplace_back(prefix + "bias", bias);
}

ResidualBlock::ResidualBlock(int64_t channels, int64_t hidden, InitStream& init, Device device)
    : conv1(channels, hidden, 3, init, device, ConvOptions{1, 1, 0, true, Init::kaiming_uniform}),
      conv2(hidden, channels, 1, init, device, ConvOptions{1, 0, 0, true, Init::torch_default}) {}

Tensor ResidualBlock::forward(const Tensor& x) const {
  return add(x, conv2.forward(relu(conv1.forward(relu(x)))));
}

void ResidualBlock::collect_parameters(const std::string& prefix, ParameterList& out) const {
  conv1.collect_parameters(prefix + "conv1.", out);
  conv2.collect_parameters(prefix + "conv2.", out);
}

}  // namespace lvk
