#pragma once
// The quantisation bottleneck shared by VQ-VAE and VQ-VAE-2: one or more residual levels of the
// fused nearest-code lookup with the straight-through estimator, a codebook learnt either by its
// loss (van den Oord et al. 2017) or by exponential moving averages with dead-code restarts
// (VQ-VAE-2, Jukebox), optional k-means initialisation on the first batch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/generative.h"
#include "models/option_table.h"
#include "runtime/ops/vq_learn.h"

namespace lvk {

struct VqBottleneckOptions {
  int64_t codes = 512;               // K per level
  int64_t code_dim = 64;             // C
  float beta = 0.25f;                // commitment weight
  std::string codebook = "ema";      // "loss" (a trained parameter) or "ema" (a buffer)
  float decay = 0.99f, eps = 1e-5f;  // EMA
  // EMA only: codes whose bias-corrected EMA count (rows per batch) falls below the threshold are
  // re-seeded from batch rows every `restart_every` steps.
  // 0 disables; a "loss" codebook always has 0. Each check reads K floats back to the host,
  // hence the period.
  float restart_threshold = 1.0f;
  int64_t restart_every = 10;
  bool kmeans_init = true;  // k-means++ and Lloyd on the first batch's latents
  int64_t levels = 1;       // residual VQ levels (each its own codebook)
  bool cosine = false;
  VqPrecision precision = VqPrecision::fp32;
  bool stats = true;  // perplexity/usage of level 0 from its K counts, on the device

  // The bottleneck's keys, rows of the tables of the models that embed it.
  static const OptionTable<VqBottleneckOptions>& fields();
  // After reading `j`: the codebook mode's consequences (a loss codebook never restarts), then
  // every range; `what` names the model.
  void resolve(const char* what, const nlohmann::json& j);
  void validate(const char* what) const;
};

class VqBottleneck : public Module {
 public:
  // `draw` is this bottleneck's first Philox draw index within a step (StepInfo::noise_offset):
  // restarts of level l use draw + l.
  VqBottleneck(const VqBottleneckOptions& options, InitStream& init, Device device, uint64_t draw = 8);

  struct Output {
    Tensor z_q;                             // like z; straight-through to z on the tape
    Tensor codebook_loss, commitment_loss;  // summed over levels (each as vq_quantize's)
    std::vector<Tensor> indices;            // i32 per level, [B, H, W]
    Tensor counts;                          // i32 [K] of level 0, when options.stats
  };
  // z [B, C, H, W]. With `training`, keeps the rows and assignments for after_step's EMA update;
  // with `training` and `comm`, the level-0 counts are summed over the ranks (global statistics).
  Output forward(const Tensor& z, bool training, dist::Communicator* comm = nullptr);
  // Data-dependent initialisation from the first batch's latents (k-means, when enabled), with
  // `comm` on the latents of every rank gathered in rank order (the global batch).
  void initialize(const Tensor& z, uint64_t seed, dist::Communicator* comm = nullptr);
  // EMA update and dead-code restarts from the last training forward. With info.clock both stay
  // on the device (step, skip flag, noise base and the restart count read and written there).
  void after_step(const StepInfo& info);
  // Whether after_step(step) restarts dead codes (a step with more work than the others).
  bool restarts_at(int64_t step) const;
  // Codes restarted since training began, as a device scalar f32 [1] (zero without EMA); kept
  // across --resume in the "restarts" buffer.
  Tensor restarts() const;

  void collect_parameters(const std::string& prefix, ParameterList& out) const override;
  void collect_buffers(const std::string& prefix, ParameterList& out) const;
  std::vector<Tensor> codebooks() const;
  const VqBottleneckOptions& options() const { return options_; }

 private:
  bool ema() const { return options_.codebook == "ema"; }
  VqOptions lookup_options() const;

  VqBottleneckOptions options_;
  uint64_t draw_;
  Device device_;
  std::vector<Tensor> codebooks_;                 // loss mode: parameters
  std::vector<VqEmaState> ema_;                   // ema mode: codebook and statistics (buffers)
  std::vector<Tensor> last_rows_, last_indices_;  // from the last training forward
  Tensor last_counts_;  // level 0's counts of the last training forward, summed over the ranks
  Tensor restarts_;     // f32 [1] (ema mode): codes restarted, a checkpointed buffer
};

}  // namespace lvk
