#pragma once
// Vector quantization ops (VQ-VAE): nearest-codebook lookup with the straight-through estimator
// and the two VQ-VAE losses, plus codebook statistics. f32 in, i32 indices out.
//
// z is [N, C] (rows) or [B, C, H, W] (read in place, row = pixel); codebook is [K, C].
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

// Precision of the lookup's products. Both modes centre z and the codebook on the codebook mean, so
// a common offset of the data does not change the answer (kernels/vq.h states the remaining
// rounding bound, which scales with the spread about that mean). fp32: FFMA, the reference of
// truth. fast: BF16 tensor-core products shortlist candidates that an fp32 pass re-scores in the
// direct form sum (z - e)^2; equals the exact answer except at near-ties, i.e. when another code's
// squared distance is within 2^-7 ||z - mu|| (||e_k - mu|| + ||e_k* - mu||) of the best
// (kernels/vq.h, vq_nearest_fast). The CPU twin of fast emulates it (slowly).
enum class VqPrecision { fp32, fast };

// What the lookup does with a row of z that holds a NaN or an infinity (it has no nearest code):
//   error      throw, naming how many rows and the first one (the default);
//   skip       index -1, a zero z_q row, a NaN distance; left out of the counts and of the losses
//              (means over the finite rows). Not for recorded lookups: a skipped row has no code
//              to differentiate through.
//   propagate  no check, the kernels' answer for such rows is unspecified. For the training step:
//              its non-finite guard skips the step anyway, and the check would make every step
//              wait for the device.
// error and skip look at every row first: a scan on the CPU, a count_nonfinite pass on a device
// (the rows are located on the host only when some are found).
enum class VqNonfinite { error, skip, propagate };

struct VqOptions {
  bool z_q = true;         // gather z_q = E[k*] (same shape as z); on the tape dz = dz_q (straight-through)
  bool distances = false;  // ||z_i - e_k*||^2 per row
  bool counts = false;     // rows per code, i32 [K]
  bool losses = true;      // codebook_loss and commitment_loss (need the per-row distances internally)
  float beta = 0.25f;      // commitment weight
  // Cosine-similarity codebook: z and the codebook are l2-normalised per row (recorded, so
  // gradients flow through the normalisation) before the lookup; z_q and the losses then refer
  // to the normalised vectors.
  bool cosine = false;
  VqPrecision precision = VqPrecision::fp32;
  VqNonfinite nonfinite = VqNonfinite::error;
};

struct VqResult {
  Tensor indices;    // i32 [N], or [B, H, W] for NCHW z; -1 for a row skipped as non-finite
  Tensor z_q;        // like z (when requested)
  Tensor distances;  // f32, shaped like indices (when requested)
  Tensor counts;     // i32 [K] (when requested)
  // Both losses are means over the N*C elements of z (0 when N = 0):
  //   codebook_loss   = mean (sg(z) - e_k*)^2        gradient only into the codebook
  //   commitment_loss = beta * mean (z - sg(e_k*))^2  gradient only into z
  Tensor codebook_loss, commitment_loss;
};

// The fused lookup; ties go to the lowest code index. Records on the tape: z_q -> z (identity,
// straight-through), codebook_loss -> codebook, commitment_loss -> z.
VqResult vq_quantize(const Tensor& z, const Tensor& codebook, const VqOptions& options = {});

// Per-code sums and counts of the rows assigned by `indices` (deterministic): sums f32 [K, C],
// counts i32 [K]. Not recorded. Indices must lie in [0, K): checked on the CPU, assumed on the GPU
// (where indices come from vq_quantize).
void vq_cluster_sums(Tensor& sums, Tensor& counts, const Tensor& z, const Tensor& indices, int64_t k);

}  // namespace lvk
