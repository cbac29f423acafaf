#pragma once
// VQ-VAE-2 (Razavi, van den Oord & Vinyals 2019), small: two levels of latents.
//   bottom encoder  x -> Conv 4x4/2 -> ReLU -> Conv 4x4/2 -> ResBlock x2 -> ReLU      h_b [ch, H/4]
//   top encoder     h_b -> Conv 3x3/2 -> ResBlock -> ReLU -> Conv 1x1 to C            z_t [C, H/8]
//   top quantised   q_t; its decoder Conv 3x3 -> ResBlock -> ReLU -> ConvT 3x3/2        d_t [ch, H/4]
//   bottom latents  z_b = Conv1x1(concat(h_b, d_t)) to C, quantised q_b              [C, H/4]
//   decoder         Conv3x3(concat(q_b, ConvT 3x3/2 (q_t))) -> ResBlock x2 -> ReLU -> ConvT 4x4/2 -> ReLU
//                   -> ConvT 4x4/2 to the image
// (H/8 rounds up, so 28x28 images work: 7 -> 4 -> 7.) A convolution of a channel concatenation is
// the sum of convolutions of the parts, which is how the two concatenations are computed here: the
// same function and parameter count, no concat op. Loss and reported terms as VqVae's (models/
// vqvae.h) with both levels' VQ terms summed and the ELBO's constant (P_top + P_bottom) L log K.
// Stats: perplexity/usage of the bottom codes, perplexity_top/usage_top of the top codes.
#include <string>
#include <vector>

#include "models/vqvae.h"

namespace lvk {

class VqVae2 : public GenerativeModel {
 public:
  // The options of VqVae apply to both codebooks.
  VqVae2(const VqVaeOptions& options, const ImageShape& shape, InitStream& init, Device device);

  std::string kind() const override { return "vqvae2"; }
  ModelOutput forward(const Tensor& x, const StepInfo& info) override;
  Tensor reconstruct(const Tensor& x) override;
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) override;
  void after_step(const Tensor& x, const StepInfo& info) override;
  int replay_variant(const StepInfo& info) const override {
    return (vq_top_.restarts_at(info.step) ? 1 : 0) + (vq_bottom_.restarts_at(info.step) ? 2 : 0);
  }
  void initialize(const Tensor& x, const StepInfo& info) override;
  ParameterList buffers() const override;
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

  struct Latents {
    VqBottleneck::Output top, bottom;
    Tensor z_top, z_bottom;  // before quantisation
  };
  Latents encode(const Tensor& x, bool training, dist::Communicator* comm = nullptr);
  Tensor decode(const Tensor& q_top, const Tensor& q_bottom) const;  // means or logits

 private:
  void check_input(const Tensor& x) const;
  Tensor bottom_latents(const Tensor& h_b, const Tensor& q_top) const;

  VqVaeOptions options_;
  ImageShape shape_;
  // Construction order fixes the InitStream offsets: keep declarations in this order.
  Conv2d enc1_, enc2_;
  std::vector<ResidualBlock> enc_res_;
  Conv2d top_down_;
  std::vector<ResidualBlock> top_res_;
  Conv2d top_out_;
  VqBottleneck vq_top_;
  Conv2d top_dec_in_;
  std::vector<ResidualBlock> top_dec_res_;
  ConvTranspose2d top_dec_up_;
  Conv2d bottom_from_enc_, bottom_from_top_;  // the 1x1 conv of concat(h_b, d_t), split
  VqBottleneck vq_bottom_;
  ConvTranspose2d top_upsample_;
  Conv2d dec_from_bottom_, dec_from_top_;  // the 3x3 conv of concat(q_b, up(q_t)), split
  std::vector<ResidualBlock> dec_res_;
  ConvTranspose2d dec_up1_, dec_up2_;
};

}  // namespace lvk
