#pragma once
// "vqprior": a PixelCNN prior (models/pixelcnn.h) over the code maps of a trained VQ-VAE, so the
// VQ-VAE can sample: draw a code map position by position from the prior, decode it.
//
// The VQ-VAE is read from its run folder or checkpoint when the prior is built for training, and
// is not trained further: its weights are this model's buffers ("vqvae.params.*",
// "vqvae.buffers.*") and its options and image shape go into the run config (resolved_options),
// so a vqprior checkpoint stands alone: load_saved_model rebuilds it without the VQ-VAE's run.
//
// Loss: mean over images of the summed NLL of the codes, in nats. Terms: "nll" (nats per image)
// and "bpd" = nll / (pixels ln 2), the code prior's bits per pixel of the image.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/generative.h"
#include "models/image_shape.h"
#include "models/option_table.h"
#include "models/pixelcnn.h"
#include "models/vqvae.h"

namespace lvk {

struct VqPriorOptions {
  std::string vqvae;  // the VQ-VAE's run folder or checkpoint (required)
  int64_t hidden = 64, layers = 4, kernel = 5;
  // Filled from the VQ-VAE when the prior is first built: {"options": its model options,
  // "image": [C, H, W], "checkpoint": the file read}. With it the VQ-VAE is rebuilt without the file.
  nlohmann::json vqvae_model;

  // Every key but vqvae_model (filled in, never set): JSON, --help, models/README.md.
  static const OptionTable<VqPriorOptions>& fields();
  static VqPriorOptions from_json(const nlohmann::json& j);  // unknown keys are an error
  nlohmann::json to_json() const;
};

class VqPrior : public GenerativeModel, public DiscreteLatentModel {
 public:
  VqPrior(const VqPriorOptions& options, const ImageShape& shape, InitStream& init, Device device);
  ~VqPrior() override;

  std::string kind() const override { return "vqprior"; }
  ModelOutput forward(const Tensor& x, const StepInfo& info) override;
  // Nothing in a step depends on the step: one captured graph serves them all.
  int replay_variant(const StepInfo&) const override { return 0; }
  Tensor reconstruct(const Tensor& x) override;
  // The VQ-VAE's codes, and their NLL under this prior (lvk eval's learned-prior bits/dim).
  int64_t codebook_size() const override;
  int64_t latent_positions() const override { return rows_ * cols_; }
  Tensor encode_codes(const Tensor& x) override;
  Tensor code_nll(const Tensor& codes) override;
  // Draws the H' x W' codes of n maps in raster order (one network pass per position, Gumbel-max
  // with Philox (seed, offset * positions + p) at position p), then decodes them with the VQ-VAE.
  Tensor sample(int64_t n, uint64_t seed, uint64_t offset) override;
  ParameterList buffers() const override;
  nlohmann::json resolved_options() const override { return options_.to_json(); }
  void collect_parameters(const std::string& prefix, ParameterList& out) const override;

  // The code maps i32 [B, H', W'] of images x (the VQ-VAE's level-0 codes).
  Tensor codes(const Tensor& x);
  const PixelCnn& network() const { return net_; }
  VqVae& vqvae() { return *vqvae_; }

 private:
  VqPriorOptions options_;
  ImageShape shape_;
  Device device_;
  std::unique_ptr<VqVae> vqvae_;
  int64_t rows_, cols_;  // H', W' of the code maps
  PixelCnn net_;
};

}  // namespace lvk
