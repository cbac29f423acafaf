#pragma once
// VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017): a conv encoder to spatial latents
// z_e [B, C, H/4, W/4], the fused nearest-code lookup with the straight-through estimator, a conv
// decoder. Loss (what the optimiser minimises, all per-dimension means):
//   recon_dim + codebook + beta * commitment
// where recon_dim is the per-pixel MSE (gaussian decoder) or the per-pixel Bernoulli NLL
// (bernoulli decoder), codebook = mean ||sg(z_e) - e||^2 (absent with an EMA codebook) and
// commitment = beta * mean ||z_e - sg(e)||^2.
//
// Reported terms (per image, nats unless stated):
//   recon       -log p(x|z_q): the gaussian decoder is N(x; mu, 1/2) per pixel, whose NLL is exactly
//               D * (mse + log(pi)/2), so the MSE objective is its maximum-likelihood form; the
//               bernoulli decoder's is D * bce.
//   mse         per-pixel mean squared error of the decoder mean (gaussian decoder only)
//   codebook, commitment   the two VQ terms as they enter the loss (per element, summed over levels)
//   elbo        -(recon + P * L * log K): the ELBO with q(z|x) one-hot and a uniform prior,
//               so KL = log K per latent position (P = H/4 * W/4 positions, L residual levels)
//   bpd         -elbo / (D ln 2), bits per dimension, D = channels * height * width
// Stats: perplexity and usage (fraction of codes used) of level 0 in the batch, restarts (dead
// codes re-seeded since training began; EMA codebooks only).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/conv_layers.h"
#include "models/generative.h"
#include "models/image_shape.h"
#include "models/option_table.h"
#include "models/vq_bottleneck.h"

namespace lvk {

struct VqVaeOptions {
  VqBottleneckOptions vq;
  int64_t channels = 64;             // hidden channels of encoder and decoder
  std::string decoder = "gaussian";  // "gaussian" (MSE) or "bernoulli" (logits)

  static const OptionTable<VqVaeOptions>& fields();  // every key: JSON, --help, models/README.md
  // Unknown keys are an error; `what` names the model kind in messages.
  static VqVaeOptions from_json(const nlohmann::json& j, const char* what = "vqvae");
  nlohmann::json to_json() const;
};

// The ELBO bookkeeping shared by the VQ models: fills terms from the per-dimension reconstruction
// term, given D and the KL constant (positions * levels * log K summed over bottlenecks).
void add_vq_terms(ModelOutput& out, const Tensor& recon_dim, bool gaussian, int64_t pixels, double kl_nats,
                  const Tensor& codebook, const Tensor& commitment);
// Decoder output (means or logits) to images in [0, 1].
Tensor vq_decoder_image(const Tensor& out, bool gaussian);
// The reconstruction term per dimension (mean over elements): MSE or Bernoulli NLL.
Tensor vq_recon_per_dim(const Tensor& out, const Tensor& x, bool gaussian);

class VqVae : public GenerativeModel, public DiscreteLatentModel {
 public:
  VqVae(const VqVaeOptions& options, const ImageShape& shape, InitStream& init, Device device);

  std::string kind() const override { return "vqvae"; }
  ModelOutput forward(const Tensor& x, const StepInfo& info) override;
  Tensor reconstruct(const Tensor& x) override;
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) override;
  void after_step(const Tensor& x, const StepInfo& info) override;
  int replay_variant(const StepInfo& info) const override { return vq_.restarts_at(info.step) ? 1 : 0; }
  void initialize(const Tensor& x, const StepInfo& info) override;
  ParameterList buffers() const override;
  // Level 0's codebook and code map (residual levels refine it).
  int64_t codebook_size() const override { return options_.vq.codes; }
  int64_t latent_positions() const override { return (shape_.height / 4) * (shape_.width / 4); }
  Tensor encode_codes(const Tensor& x) override;
  // "codes": the code maps of x; "usage": the histogram of codes over x.
  std::vector<std::pair<std::string, io::Image>> pictures(const Tensor& x) override;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

  Tensor encode(const Tensor& x) const;    // z_e [B, C, H/4, W/4]
  Tensor decode(const Tensor& z_q) const;  // means or logits, image-shaped
  // The code map of a batch: level-0 indices i32 [B, H/4, W/4] (not recorded).
  Tensor codes(const Tensor& x);
  // Images in [0, 1] decoded from code maps i32 [B, H/4, W/4] (level-0 codebook rows; what a prior
  // over the codes samples). Not recorded.
  Tensor decode_codes(const Tensor& codes) const;
  VqBottleneck& bottleneck() { return vq_; }
  const VqVaeOptions& options() const { return options_; }

 private:
  void check_input(const Tensor& x) const;

  VqVaeOptions options_;
  ImageShape shape_;
  Device device_;
  // Construction order fixes the InitStream offsets: keep declarations in this order.
  Conv2d enc1_, enc2_;
  std::vector<ResidualBlock> enc_res_;
  Conv2d enc_out_;
  VqBottleneck vq_;
  Conv2d dec_in_;
  std::vector<ResidualBlock> dec_res_;
  ConvTranspose2d dec_up1_, dec_up2_;
};

}  // namespace lvk
