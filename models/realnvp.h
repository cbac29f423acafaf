#pragma once
// RealNVP (Dinh et al. 2017) on vectors: a learnable density p(z | lambda) usable as a VAE prior.
// f maps data z to the base u ~ N(0, I) through `layers` blocks of ActNorm then affine coupling:
//   log p(z) = log N(f(z); 0, I) + log |det J_f(z)|.
// Each coupling's conditioner is an MLP on the masked input (the mask is folded into the first
// weight matrix, so no masked copy of x is made) with two zero-initialised heads for s_raw and t:
// the flow starts as the identity. Masks alternate between layers.
#include <vector>

#include "models/flow_prior.h"
#include "models/layers.h"
#include "runtime/ops/coupling.h"

namespace lvk {

struct RealNvpOptions {
  int64_t dim = 2;
  int layers = 8;
  int64_t hidden = 64;
  int hidden_layers = 2;       // Linear + ReLU layers in each conditioner trunk
  float max_log_scale = 2.0f;  // s = max_log_scale * tanh(s_raw)
  MaskKind mask = MaskKind::alternating;
  bool actnorm = true;
};

class RealNvp : public FlowPrior {
 public:
  RealNvp(RealNvpOptions options, InitStream& init, Device device = Device::cpu());

  FlowResult forward(const Tensor& z) const override;
  // u -> z; recorded when a tape is, so samples can be differentiated (reparametrised sampling).
  Tensor inverse(const Tensor& u) const;
  // Samples are recorded like inverse (reparametrised sampling).
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) const override;
  void initialize_actnorm(const Tensor& z) override;
  int64_t dim() const override { return options_.dim; }
  const char* name() const override { return "RealNvp"; }

  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  const RealNvpOptions& options() const { return options_; }

 private:
  struct Layer {
    Tensor mask;        // [D]
    Tensor input_mask;  // [hidden, D]: the mask repeated over the first weight's rows
    std::vector<Linear> trunk;
    Linear s_head, t_head;
    Tensor log_scale, bias;  // ActNorm, [D]
  };
  // s_raw and t from the pass-through features of x (rows of x with the mask applied).
  std::pair<Tensor, Tensor> conditioner(const Layer& layer, const Tensor& x) const;

  RealNvpOptions options_;
  Device device_;
  std::vector<Layer> layers_;
};

}  // namespace lvk
