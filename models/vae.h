#pragma once
// The Gaussian VAE (Kingma & Welling 2014): q(z|x) = N(mu(x), diag sigma^2(x)),
// z = mu + sigma * eps, decoder p(x|z) Bernoulli (logits) or Gaussian (fixed variance), and
//   ELBO(x) = E_q[log p(x|z)] - beta * KL(q(z|x) || p(z)).
// With the standard prior the KL is the closed form; with a flow prior ("flowvae": RealNVP or MAF)
// it is the single-sample estimate log q(z|x) - log p(z|lambda), and the prior trains jointly.
// The VampPrior (Tomczak & Welling 2018, prior "vamp", also under the "flowvae" kind) is
// p(z) = (1/K) sum_k q(z | u_k) with K learned pseudo-inputs u_k pushed through the encoder; its
// log-density is the fused mixture op (runtime/ops/mixture.h) with its backward.
#include <memory>
#include <nlohmann/json.hpp>

#include "models/conv_layers.h"
#include "models/flow_prior.h"
#include "models/generative.h"
#include "models/image_shape.h"
#include "models/layers.h"
#include "models/option_table.h"

namespace lvk {

struct VaeOptions {
  std::string arch = "mlp";  // "mlp" or "conv" (conv needs height and width divisible by 4)
  int64_t latent = 16;
  int64_t hidden = 256;               // mlp width
  int64_t channels = 32;              // conv: channels after the first convolution (then 2x)
  std::string decoder = "bernoulli";  // "bernoulli" or "gaussian"
  float decoder_logvar = -2.0f;       // log sigma^2 of the Gaussian decoder
  float beta = 1.0f;
  std::string prior = "standard";  // "standard", "realnvp", "maf" or "vamp"
  int flow_layers = 4;
  int64_t flow_hidden = 64;
  int64_t pseudo_inputs = 100;  // vamp: K

  static const OptionTable<VaeOptions>& fields();        // every key: JSON, --help, models/README.md
  static VaeOptions from_json(const nlohmann::json& j);  // unknown keys are an error
  nlohmann::json to_json() const;
};

class Vae : public GenerativeModel {
 public:
  Vae(const VaeOptions& options, const ImageShape& shape, InitStream& init, Device device);

  std::string kind() const override { return options_.prior == "standard" ? "vae" : "flowvae"; }
  ModelOutput forward(const Tensor& x, const StepInfo& info) override;
  Tensor reconstruct(const Tensor& x) override;
  int replay_variant(const StepInfo&) const override { return 0; }
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) override;
  void initialize(const Tensor& x, const StepInfo& info) override;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

  // The posterior's parameters for a batch: mu and logvar, [B, latent] each.
  std::pair<Tensor, Tensor> encode(const Tensor& x) const;
  // Decoder output (logits or means) for latents z [B, latent], image-shaped.
  Tensor decode(const Tensor& z) const;
  const VaeOptions& options() const { return options_; }
  const FlowPrior* flow_prior() const { return flow_.get(); }
  bool standard_prior() const { return options_.prior == "standard"; }
  // log p(z) per row under the model's prior (recorded); flows check z for NaN/Inf.
  Tensor log_prior(const Tensor& z) const;
  // n draws of z from the prior (Philox seed, offset).
  Tensor sample_prior(int64_t n, uint64_t seed, uint64_t offset) const;

 private:
  VaeOptions options_;
  ImageShape shape_;
  Device device_;
  int64_t feature_side_ = 0;  // conv: spatial side of the deepest feature map
  // mlp: enc = [Linear(D, H), Linear(H, H)]; conv: enc_conv = [Conv 4x4/2, Conv 4x4/2].
  std::vector<Linear> enc_;
  std::vector<Conv2d> enc_conv_;
  std::unique_ptr<Linear> mu_head_, logvar_head_;
  std::vector<Linear> dec_;
  std::vector<ConvTranspose2d> dec_conv_;
  std::unique_ptr<FlowPrior> flow_;
  Tensor pseudo_inputs_;  // vamp: [K, C, H, W]
};

}  // namespace lvk
