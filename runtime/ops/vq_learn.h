#pragma once
// Codebook learning for VQ layers: EMA updates (VQ-VAE-2 style), dead-code restarts, k-means++
// initialisation and k-means fitting with the fused lookup, l2-normalisation for cosine
// codebooks, residual VQ and usage statistics. None of these are recorded on the tape except
// l2_normalize_rows and vq_residual's losses / straight-through output.
#include <cstdint>
#include <vector>

#include "runtime/dist/communicator.h"
#include "runtime/ops/step_clock.h"
#include "runtime/ops/vq.h"

namespace lvk {

// --- EMA codebook --------------------------------------------------------------------------------
struct VqEmaOptions {
  float decay = 0.99f;          // gamma
  float eps = 1e-5f;            // Laplace smoothing of the counts
  bool bias_correction = true;  // divide the EMAs by 1 - gamma^t (they start at zero)
  // A train step's clock: t is then its step + 1 (read on the device) and a skipped step leaves
  // the state unchanged.
  const StepClock* clock = nullptr;
  // Data-parallel ranks: the batch's per-code counts and sums are all-reduced (summed) before the
  // update, so every rank applies the update of the global batch.
  dist::Communicator* comm = nullptr;
  // With comm: the batch's per-code counts (i32 [K]) already summed over the ranks, when the
  // caller has them (a bottleneck reduces level 0's counts for its statistics); only the sums are
  // then all-reduced, one latency-bound collective fewer per step.
  Tensor global_counts;
};

// The codebook plus its EMA statistics; ema_count f32 [K] and ema_sum f32 [K, C] start at zero.
struct VqEmaState {
  Tensor codebook, ema_count, ema_sum;
  int64_t steps = 0;
};
VqEmaState vq_ema_state(const Tensor& codebook);  // takes a copy of the codebook

// One update from a batch and its assignments (indices from vq_quantize), in place:
//   ema_count = g ema_count + (1 - g) counts,  ema_sum = g ema_sum + (1 - g) sums,
//   N_k = ema_count_k / corr, n = sum N_k, e_k = (ema_sum_k / corr) / ((N_k + eps) / (n + K eps) n)
// with corr = 1 - g^t (bias correction) or 1. Never-assigned codes keep their vector.
void vq_ema_update(VqEmaState& state, const Tensor& z, const Tensor& indices, const VqEmaOptions& options = {});

// Codes whose usage is below `threshold` are re-seeded from batch rows r_k = floor(u_k N), u_k
// the k-th Philox uniform of (seed, offset); returns how many. The EMA overload uses ema_count as
// the usage and restarts each dead code as one observation (ema_sum_k = z_r, ema_count_k = 1).
int64_t vq_restart_dead_codes(Tensor& codebook, const Tensor& usage, const Tensor& z, float threshold, uint64_t seed,
                              uint64_t offset);
int64_t vq_restart_dead_codes(VqEmaState& state, const Tensor& z, float threshold, uint64_t seed, uint64_t offset);
// The EMA restart inside a train step, without leaving the device: nothing happens on a step the
// clock skips, `offset` counts from the clock's noise base, the threshold is scaled by
// 1 - decay^(step + 1) when decay > 0 (bias-corrected counts), and the number of codes restarted
// is added to `restarted` (f32 [1]).
void vq_restart_dead_codes_on_clock(VqEmaState& state, const Tensor& z, float threshold, float decay, uint64_t seed,
                                    uint64_t offset, const StepClock& clock, Tensor& restarted);

// --- k-means ---------------------------------------------------------------------------------------
struct VqKmeansOptions {
  int iterations = 20;    // Lloyd steps at most; stops early when no assignment changes
  bool plus_plus = true;  // k-means++ seeding, else K distinct random rows
  uint64_t seed = 0, offset = 0;
};
// Fits a [K, C] codebook to the rows of z ([N, C] or [B, C, H, W]) on z's device. Assignment uses
// the fused lookup; centroid sums are the deterministic per-code sums. Empty clusters keep their
// centre. k-means++ seeding runs on the host (draw j uses Philox uniform j of (seed, offset)).
Tensor vq_kmeans(const Tensor& z, int64_t k, const VqKmeansOptions& options = {});

// --- cosine codebooks, residual VQ, statistics -----------------------------------------------------
// x / ||x|| per row (over C; [N, C] or [B, C, H, W]); recorded. With VqOptions::cosine both z and
// the codebook pass through it before the lookup.
Tensor l2_normalize_rows(const Tensor& x);

struct ResidualVqResult {
  Tensor z_q;                             // sum of the levels' z_q; straight-through to z on the tape
  std::vector<Tensor> indices;            // one per level
  Tensor codebook_loss, commitment_loss;  // sums over levels (each level's as in vq_quantize)
};
// Level l quantizes r_l = z - sg(sum_{j<l} z_q_j) with codebooks[l].
ResidualVqResult vq_residual(const Tensor& z, const std::vector<Tensor>& codebooks, const VqOptions& options = {});

struct VqStats {
  double perplexity = 0.0;     // exp(H(p)), p = counts / sum(counts); 1 = one code, K = uniform
  double used_fraction = 0.0;  // codes with count > 0, over K
  std::vector<int32_t> counts;
};
VqStats vq_stats(const Tensor& counts);

}  // namespace lvk
