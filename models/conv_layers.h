#pragma once
// Convolutional layers: Conv2d, ConvTranspose2d, GroupNorm and the VQ-VAE residual block
// (van den Oord et al. 2017: ReLU -> 3x3 conv -> ReLU -> 1x1 conv, added to the input).
#include "models/module.h"
#include "runtime/ops/nn.h"
#include "runtime/ops/nn_conv.h"

namespace lvk {

struct ConvOptions {
  int64_t stride = 1, padding = 0;
  int64_t output_padding = 0;  // ConvTranspose2d only
  bool bias = true;
  Init init = Init::torch_default;  // the weight's; fan_in = C_in * k * k
};

// Parameters "weight" [out, in, k, k], "bias" [out]. Consumes two InitStream offsets.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, InitStream& init, Device device = Device::cpu(), ConvOptions o = {});
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  Tensor weight, bias;
  ConvOptions options;
};

// Parameters "weight" [in, out, k, k] (PyTorch's layout), "bias" [out]. Two InitStream offsets.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, InitStream& init, Device device = Device::cpu(),
                  ConvOptions o = {});
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  Tensor weight, bias;
  ConvOptions options;
};

// Parameters "weight" (gamma, ones) and "bias" (beta, zeros), both [channels].
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t groups, int64_t channels, Device device = Device::cpu(), float eps = 1e-5f);
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  Tensor weight, bias;
  int64_t groups;
  float eps;
};

// x + conv1x1(relu(conv3x3(relu(x)))), channels -> hidden -> channels; spatial size kept.
// Parameters "conv1.*" (3x3) and "conv2.*" (1x1).
class ResidualBlock : public Module {
 public:
  ResidualBlock(int64_t channels, int64_t hidden, InitStream& init, Device device = Device::cpu());
  Tensor forward(const Tensor& x) const;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  Conv2d conv1, conv2;
};

}  // namespace lvk
