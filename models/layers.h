#pragma once
// Basic layers: Linear and a small MLP. Convolutional layers live in models/conv_layers.h.
#include <vector>

#include "models/module.h"
#include "runtime/ops/nn.h"

namespace lvk {

struct LinearOptions {
  bool bias = true;
  Activation act = Activation::none;  // fused after the bias
  float leaky_slope = 0.01f;
  Init init = Init::torch_default;  // the weight's; the bias uses torch_default (or zeros with Init::zeros)
};

// y = act(x W^T + b), x [N, in] -> [N, out]. Parameters "weight" [out, in], "bias" [out].
// Consumes two InitStream offsets (weight, bias) whether or not it has a bias.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, InitStream& init, Device device = Device::cpu(), LinearOptions opts = {});
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

  int64_t in_features() const { return weight.dim(1); }
  int64_t out_features() const { return weight.dim(0); }
  Tensor weight, bias;  // bias undefined when opts.bias is false
  LinearOptions options;
};

// Linear layers with `hidden` activations between them and none (or `out_act`) after the last.
class Mlp : public Module {
 public:
  Mlp(const std::vector<int64_t>& widths, InitStream& init, Device device = Device::cpu(),
      Activation hidden = Activation::relu, Activation out_act = Activation::none);
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  std::vector<Linear> layers;  // parameters named "<i>.weight", "<i>.bias"
};

}  // namespace lvk
