#include "models/layers.h"

#include "base/error.h"

namespace lvk {

Linear::Linear(int64_t in, int64_t out, InitStream& init, Device device, LinearOptions opts) : options(opts) {
  LVK_CHECK(in >= 1 && out >= 1, "Linear: in=", in, " out=", out, ", expected both >= 1");
  const uint64_t w_off = init.take(), b_off = init.take();
  weight = make_parameter(init_parameter({out, in}, opts.init, in, out, init.seed(), w_off, device));
  if (opts.bias) {
    const Init b_init = opts.init == Init::zeros ? Init::zeros : Init::torch_default;
    bias = make_parameter(init_parameter({out}, b_init, in, out, init.seed(), b_off, device));
  }
}

Tensor Linear::forward(const Tensor& x) const {
  return linear(x, weight, bias, options.act, options.leaky_slope);
}

void Linear::collect_parameters(const std::string& prefix, ParameterList& out) const {
  out.emplace_back(prefix + "weight", weight);
  if (bias.defined()) out.emplace_back(prefix + "bias", bias);
}

Mlp::Mlp(const std::vector<int64_t>& widths, InitStream& init, Device device, Activation hidden, Activation out_act) {
  LVK_CHECK(widths.size() >= 2, "Mlp: needs at least [in, out] widths, got ", widths.size());
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    LinearOptions o;
    o.act = i + 2 == widths.size() ? out_act : hidden;
    if (o.act == Activation::relu || o.act == Activation::leaky_relu) o.init = Init::kaiming_uniform;
    layers.emplace_back(widths[i], widths[i + 1], init, device, o);
  }
}

Tensor Mlp::forward(const Tensor& x) const {
  Tensor h = x;
  for (const Linear& l : layers) h = l.forward(h);
  return h;
}

void Mlp::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t i = 0; i < layers.size(); ++i) layers[i].collect_parameters(prefix + std::to_string(i) + ".", out);
}

}  // namespace lvk
