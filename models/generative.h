#pragma once
// The interface every trainable model of `lvk train` implements (VAE, VQ-VAE, dVAE, flow-prior VAE,
// VQ-VAE-2). The trainer owns data, optimiser, checkpoints and reporting; a model owns its
// parameters and says what its loss terms are.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/module.h"
#include "runtime/io/png.h"

namespace lvk {

// Where a step is, for noise and schedules. Stochastic ops of step s draw from Philox stream
// (seed, noise_offset(s, k)) for the k-th draw of the step: a resumed run redraws the same noise.
struct StepInfo {
  int64_t step = 0;   // 0-based optimiser step (the one about to be taken)
  uint64_t seed = 0;  // the run's seed
  bool training = true;
  static constexpr uint64_t kDrawsPerStep = 16;
  uint64_t noise_offset(uint64_t k) const { return (static_cast<uint64_t>(step) + 1) * kDrawsPerStep + k; }
};

struct ModelOutput {
  Tensor loss;  // one element, recorded on the tape: what the optimiser minimises
  // Scalars for reports, per example where that is meaningful: "recon", "kl", "elbo", "codebook",
  // "commitment", ... Device tensors: reading them waits for the step.
  std::vector<std::pair<std::string, Tensor>> terms;
  // Host-side figures a model already knows: "perplexity", "usage", "tau", ...
  std::vector<std::pair<std::string, double>> stats;
};

class GenerativeModel : public Module {
 public:
  // "vae", "vqvae", "dvae", "flowvae", "vqvae2".
  virtual std::string kind() const = 0;
  // Loss terms of a batch x [B, C, H, W] with values in [0, 1]; ops record on the active tape.
  virtual ModelOutput forward(const Tensor& x, const StepInfo& info) = 0;
  // Reconstructions of x in [0, 1] (posterior mean, or the decoded nearest codes).
  virtual Tensor reconstruct(const Tensor& x) = 0;
  // n images from the model's prior; throws lvk::Error naming the model when it has no prior
  // over its latents to sample from.
  virtual Tensor sample(int64_t n, uint64_t seed, uint64_t offset) = 0;
  // Called after each optimiser step, outside the tape (EMA codebooks, dead-code restarts).
  virtual void after_step(const Tensor& x, const StepInfo& info) {
    (void)x;
    (void)info;
  }
  // Called once before training on the first batch (data-dependent initialisation: k-means
  // codebooks, ActNorm).
  virtual void initialize(const Tensor& x, const StepInfo& info) {
    (void)x;
    (void)info;
  }
  // State that is not trained by the optimiser but must survive a checkpoint (EMA statistics).
  virtual ParameterList buffers() const { return {}; }
  // Model-specific pictures of a held-out batch, written by the trainer at each evaluation as
  // <name>-<step>.png (e.g. a VQ model's code map and code-usage histogram). Default: none.
  virtual std::vector<std::pair<std::string, io::Image>> pictures(const Tensor& x) {
    (void)x;
    return {};
  }
};

// Models whose latents are codes from a K-code codebook (VQ-VAE, dVAE) also implement this, so the
// evaluation can report code usage, perplexity and bits/dim under the uniform prior over codes.
class DiscreteLatentModel {
 public:
  virtual ~DiscreteLatentModel() = default;
  virtual int64_t codebook_size() const = 0;     // K
  virtual int64_t latent_positions() const = 0;  // P code positions per image
  // The code chosen at each position (nearest code, or the argmax of the logits): i32 [B, P].
  virtual Tensor encode_codes(const Tensor& x) = 0;
};

}  // namespace lvk
