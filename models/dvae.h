#pragma once
// The discrete VAE of DALL-E (Ramesh et al. 2021) at a small scale: a conv encoder gives per
// position logits over K codes, q(z_p | x) = softmax(logits_p); training relaxes the categorical
// sample with the fused Gumbel-softmax (soft, or hard with straight-through) at a temperature tau
// that anneals, mixes a learned codebook [K, C] with the sample, and decodes with a conv decoder:
//   ELBO(x) = E_q[log p(x | z)] - sum_p KL(q(z_p | x) || Uniform(K)),  KL = log K - H(q)
//   loss    = recon + w(step) * kl      (w warms up from kl_weight_start to kl_weight)
// The prior is uniform and independent per position, so sampling draws each code uniformly.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/conv_layers.h"
#include "models/generative.h"
#include "models/image_shape.h"
#include "models/option_table.h"
#include "models/temperature.h"

namespace lvk {

struct DvaeOptions {
  int64_t codes = 512;                 // K
  int64_t code_dim = 64;               // C
  int64_t channels = 64;               // conv width of encoder and decoder
  int64_t res_blocks = 2;              // residual blocks in each of encoder and decoder
  int64_t res_hidden = 32;             // their 3x3 conv width
  bool hard = false;                   // straight-through one-hot samples
  std::string temperature = "cosine";  // constant | exponential | cosine
  double tau_max = 1.0;
  double tau_min = 1.0 / 16.0;
  int64_t anneal_steps = 5000;
  float kl_weight = 1.0f;             // w after the warm-up (1 is the ELBO)
  float kl_weight_start = 0.0f;       // w at step 0
  int64_t kl_warmup = 500;            // steps of the linear warm-up; 0: w = kl_weight throughout
  std::string decoder = "bernoulli";  // bernoulli (logits) or gaussian (means, fixed variance)
  float decoder_logvar = -2.0f;       // log sigma^2 of the Gaussian decoder

  static const OptionTable<DvaeOptions>& fields();        // every key: JSON, --help, models/README.md
  static DvaeOptions from_json(const nlohmann::json& j);  // unknown keys are an error
  nlohmann::json to_json() const;
  TemperatureSchedule temperature_schedule() const;
  // The KL weight w(step): linear from kl_weight_start to kl_weight over kl_warmup steps.
  float kl_weight_at(int64_t step) const;
};

class Dvae : public GenerativeModel, public DiscreteLatentModel {
 public:
  Dvae(const DvaeOptions& options, const ImageShape& shape, InitStream& init, Device device);

  std::string kind() const override { return "dvae"; }
  ModelOutput forward(const Tensor& x, const StepInfo& info) override;
  // Decodes the argmax codes (hard) or the posterior-mean mixture sum_k q_k e_k (soft).
  Tensor reconstruct(const Tensor& x) override;
  // Temperature and KL weight come from the step clock (columns 1 and 2): every step is alike.
  int replay_variant(const StepInfo&) const override { return 0; }
  std::vector<float> step_scalars(int64_t step) const override { return {tau_.at(step), options_.kl_weight_at(step)}; }
  // Codes drawn uniformly per position from Philox (seed, offset), one-hot, decoded.
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) override;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  int64_t codebook_size() const override { return options_.codes; }
  int64_t latent_positions() const override { return latent_h_ * latent_w_; }
  // The most probable code of q(z_p | x) at each position.
  Tensor encode_codes(const Tensor& x) override;

  // Encoder logits as rows: [B * H' * W', K], position-major within each image.
  Tensor encode_logits(const Tensor& x) const;
  // Per-position code weights y [B * H' * W', K] -> decoder output (logits or means) [B, C_in, H, W].
  Tensor decode_codes(const Tensor& y, int64_t batch) const;
  const DvaeOptions& options() const { return options_; }
  int64_t latent_height() const { return latent_h_; }
  int64_t latent_width() const { return latent_w_; }
  const Tensor& codebook() const { return codebook_; }

 private:
  void check_images(const Tensor& x) const;
  Tensor output_to_images(const Tensor& out) const;

  DvaeOptions options_;
  ImageShape shape_;
  Device device_;
  TemperatureSchedule tau_;
  int64_t latent_h_ = 0, latent_w_ = 0;  // H / 4, W / 4
  // enc_down: Conv 4x4/2 (-> ReLU) then Conv 4x4/2; enc_res; ReLU; enc_logits: Conv 1x1 -> K.
  std::vector<Conv2d> enc_down_;
  std::vector<ResidualBlock> enc_res_;
  std::unique_ptr<Conv2d> enc_logits_;
  Tensor codebook_;  // [K, C]
  // dec_in: Conv 1x1 C -> channels; dec_res; ReLU; dec_up: ConvT 4x4/2 (-> ReLU) then ConvT 4x4/2.
  std::unique_ptr<Conv2d> dec_in_;
  std::vector<ResidualBlock> dec_res_;
  std::vector<ConvTranspose2d> dec_up_;
};

}  // namespace lvk
