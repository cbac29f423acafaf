#pragma once
// RealNVP (Dinh et al. 2017) on vectors: a learnable density p(z | lambda) usable as a VAE prior.
// f maps data z to the base u ~ N(0, I) through `layers` blocks of ActNorm then affine coupling:
//   log p(z) = log N(f(z); 0, I) + log |det J_f(z)|.
// Each coupling's conditioner is an MLP on the masked input (the mask is folded into the first
// weight matrix, so no masked copy of x is made) with two zero-initialised heads for s_raw and t:
// the flow starts as the identity. Masks alternate between layers.
#include <vector>

#include "models/layers.h"
#include "runtime/ops/coupling.h"

namespace lvk {

struct RealNvpOptions {
  int64_t dim = 2;
  int layers = 8;
  int64_t hidden = 64;
  int hidden_layers = 2;        // Linear + ReLU layers in each conditioner trunk
  float max_log_scale = 2.0f;   // s = max_log_scale * tanh(s_raw)
  MaskKind mask = MaskKind::alternating;
  bool actnorm = true;
};

struct FlowResult {
  Tensor u;        // f(z), [N, D]
  Tensor log_det;  // log |det J_f(z)| per row, [N]
};

class RealNvp : public Module {
 public:
  RealNvp(RealNvpOptions options, InitStream& init, Device device = Device::cpu());

  // z -> u with the log-determinant; recorded on the tape.
  FlowResult forward(const Tensor& z) const;
  // log p(z) per row [N]; throws naming the count when z holds NaN or Inf.
  Tensor log_prob(const Tensor& z) const;
  // Without the finiteness check, which reads z back on the host: for the train step, which must
  // not wait for a GPU (and is captured as a CUDA Graph); a non-finite z there gives a non-finite
  // loss, which the step's guard skips and counts.
  Tensor log_prob_unchecked(const Tensor& z) const;
  // u -> z; recorded when a tape is, so samples can be differentiated (reparametrised sampling).
  Tensor inverse(const Tensor& u) const;
  // n samples z = f^{-1}(u), u ~ N(0, I) drawn from Philox (seed, offset); recorded like inverse.
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) const;

  // Data-dependent ActNorm initialisation (Kingma & Dhariwal 2018): sets each ActNorm so that its
  // output on `z` has zero mean and unit variance per feature. Call once, on a first batch.
  void initialize_actnorm(const Tensor& z);

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
