#pragma once
// Masked autoregressive flow (Papamakarios et al. 2017) on vectors, usable as a VAE prior.
// f maps data z to the base u ~ N(0, I) through `layers` blocks of ActNorm then one MAF layer,
//   u_i = (x_i - mu_i(x_<i)) exp(-alpha_i(x_<i)),  alpha = max_log_scale * tanh(alpha_raw),
// with mu and alpha_raw from a MADE (made.h); consecutive layers reverse the autoregressive order.
// The density direction is one parallel pass per layer (masked matmuls, then the coupling kernel
// with an all-zero mask as the fused epilogue), on the tape. Sampling inverts each layer with the
// fused one-launch kernel (runtime/ops/made.h); `inverse_by_reevaluation` is the D-pass
// inversion other libraries use, kept as the reference and the benchmark's baseline.
#include <vector>

#include "models/flow_prior.h"
#include "models/made.h"

namespace lvk {

struct MafOptions {
  int64_t dim = 2;
  int layers = 4;
  int64_t hidden = 64;         // <= 512 (the fused inverse's limit)
  int hidden_layers = 1;       // 1: the O(D H) incremental inverse; more: re-evaluated per step
  float max_log_scale = 2.0f;  // alpha = max_log_scale * tanh(alpha_raw)
  bool actnorm = true;
  bool random_degrees = false;  // MADE hidden degrees drawn at random (seeded by the InitStream), else cycling
};

class Maf : public FlowPrior {
 public:
  Maf(MafOptions options, InitStream& init, Device device = Device::cpu());

  FlowResult forward(const Tensor& z) const override;
  // u -> z with the fused kernel, one launch per layer; not recorded (throws under a tape that
  // wants gradients).
  Tensor inverse(const Tensor& u) const;
  // u -> z with D full MADE evaluations per layer through the ordinary ops (recorded).
  Tensor inverse_by_reevaluation(const Tensor& u) const;
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) const override;
  void initialize_actnorm(const Tensor& z) override;
  int64_t dim() const override { return options_.dim; }
  const char* name() const override { return "Maf"; }

  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  const MafOptions& options() const { return options_; }

 private:
  struct Layer {
    Made made;
    Tensor log_scale, bias;  // ActNorm, [D]
  };
  void check_input(const char* who, const Tensor& x) const;

  MafOptions options_;
  Device device_;
  Tensor zero_mask_;  // [D]: every feature transformed, so the coupling kernel is the MAF epilogue
  std::vector<Layer> layers_;
};

}  // namespace lvk
