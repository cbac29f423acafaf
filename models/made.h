#pragma once
// MADE (Germain et al. 2015): an MLP whose weights are masked so that output i depends only on the
// inputs before i in a chosen order, here producing the shift mu_i and the raw log-scale
// alpha_raw_i of one MAF layer. Degrees (standard assignment): input j gets its 1-based position
// in `order`; hidden unit k gets k mod (D - 1) + 1, cycling through 1..D-1, or (with a degree seed)
// a Philox draw uniform in [the previous layer's smallest degree, D - 1] as in the MADE paper; 0 when
// D = 1, so the outputs are learned constants. A hidden unit sees units of degree <= its own;
// output i sees hidden units of degree < its input's. Hidden layers are ReLU; both heads start at zero, so a
// fresh MAF layer is the identity. The masks multiply the weights on every forward, so masked
// entries receive no gradient.
#include <optional>
#include <vector>

#include "models/layers.h"
#include "runtime/ops/made.h"

namespace lvk {

class Made : public Module {
 public:
  // order: a permutation of 0..dim-1 (the autoregressive order).
  // degree_seed: random hidden degrees from this Philox seed (cycling ones when absent).
  Made(int64_t dim, int64_t hidden, int hidden_layers, const std::vector<int32_t>& order, InitStream& init,
       Device device = Device::cpu(), std::optional<uint64_t> degree_seed = std::nullopt);

  struct Output {
    Tensor shift, alpha_raw;  // [N, D] each
  };
  // Recorded on the tape: masked `linear` layers.
  Output forward(const Tensor& x) const;
  // The masked weights as the fused inverse reads them (not recorded).
  MadeTensors masked() const;

  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  int64_t dim() const { return shift_.out_features(); }

 private:
  std::vector<Linear> trunk_;
  std::vector<Tensor> trunk_masks_;  // [H, D], then [H, H] per deeper layer
  Linear shift_, log_scale_;
  Tensor head_mask_;  // [D, H]
  Tensor order_;      // i32 [D]
};

// The masks of a MADE, as 0/1 floats row-major [out, in]: first layer [H, D], then hidden_layers - 1
// of [H, H], then the heads' [D, H]. Exposed for tests.
std::vector<std::vector<float>> made_masks(int64_t dim, int64_t hidden, int hidden_layers,
                                           const std::vector<int32_t>& order,
                                           std::optional<uint64_t> degree_seed = std::nullopt);

}  // namespace lvk
