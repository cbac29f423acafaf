#pragma once
// The interface every trainable model of `lvk train` implements (VAE, VQ-VAE, dVAE, flow-prior VAE,
// VQ-VAE-2). The trainer owns data, optimiser, checkpoints and reporting; a model owns its
// parameters and says what its loss terms are.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/module.h"
#include "runtime/dist/communicator.h"
#include "runtime/io/png.h"
#include "runtime/ops/step_clock.h"

namespace lvk {

// Where a step is, for noise and schedules. Stochastic ops of step s draw from Philox stream
// (seed, (s + 1) * kDrawsPerStep + k) for the k-th draw of the step: a resumed run redraws the same
// noise. In a train step the trainer's StepClock holds s on the device; ops given the clock then
// take noise_offset(k) = k relative to its noise base, so a captured step replays with fresh noise.
struct StepInfo {
  int64_t step = 0;   // 0-based optimiser step (the one about to be taken)
  uint64_t seed = 0;  // the run's seed
  bool training = true;
  const StepClock* clock = nullptr;  // the train step's device clock, when there is one
  // Data-parallel ranks, when there are several: training statistics that steer the model (code
  // counts, EMA sums, restart rows, k-means data) are reduced or gathered over it so that every
  // rank computes what one process would on the global batch. Null: this process is the world.
  dist::Communicator* comm = nullptr;
  static constexpr uint64_t kDrawsPerStep = lvk::kDrawsPerStep;
  // The offset of draw k for an op that is given `clock` (relative), or not (absolute).
  uint64_t noise_offset(uint64_t k) const { return clock ? k : host_noise_offset(k); }
  // The seed of noise drawn per example (reparametrisation, Gumbel): data-parallel ranks hold
  // different examples, so each rank draws its own stream. Draws that must agree on every rank
  // (dead-code restarts, k-means) use `seed`.
  uint64_t example_seed() const {
    return comm ? seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(comm->rank()) : seed;
  }
  // The absolute offset, for ops that take no clock (they run outside replayable steps).
  uint64_t host_noise_offset(uint64_t k) const { return (static_cast<uint64_t>(step) + 1) * kDrawsPerStep + k; }
};

struct ModelOutput {
  Tensor loss;  // one element, recorded on the tape: what the optimiser minimises
  // Scalars for reports, per example where that is meaningful: "recon", "kl", "elbo", "codebook",
  // "commitment", ... Device tensors: reading them waits for the step.
  std::vector<std::pair<std::string, Tensor>> terms;
  // Other one-element f32 figures, also on the device: "perplexity", "usage", "tau", ...
  std::vector<std::pair<std::string, Tensor>> stats;
};

class GenerativeModel : public Module {
 public:
  // "vae", "vqvae", "dvae", "flowvae", "vqvae2", "vqprior".
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
  // Which captured step (a CUDA Graph) may stand in for step `info`: steps of one variant do
  // exactly the same work, all that varies read from info.clock on the device (a VQ model's steps
  // that restart dead codes are a second variant). -1, the default: the step reads host-side
  // values and runs eagerly. Models opt in.
  virtual int replay_variant(const StepInfo& info) const {
    (void)info;
    return -1;
  }
  // Scheduled scalars of step `step` that a step reads from info.clock, as its scalar columns 1, 2,
  // ... (column 0 is the learning rate): the dVAE's temperature and KL weight. Default: none.
  virtual std::vector<float> step_scalars(int64_t step) const {
    (void)step;
    return {};
  }
  // Called once before training on the first batch (data-dependent initialisation: k-means
  // codebooks, ActNorm).
  virtual void initialize(const Tensor& x, const StepInfo& info) {
    (void)x;
    (void)info;
  }
  // State that is not trained by the optimiser but must survive a checkpoint (EMA statistics).
  virtual ParameterList buffers() const { return {}; }
  // The options to record in the run config in place of the ones given, or null to keep those: a
  // model built from another run (the vqprior) records what it read, so its checkpoints stand alone.
  virtual nlohmann::json resolved_options() const { return nullptr; }
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
  // -log p(codes) in nats per image under a learned prior over code maps (f32 [B] for codes
  // i32 [B, P]), or undefined when the model has none (the uniform prior is then all there is).
  virtual Tensor code_nll(const Tensor& codes) {
    (void)codes;
    return Tensor();
  }
};

}  // namespace lvk
