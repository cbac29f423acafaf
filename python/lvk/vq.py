"""Vector quantization: the fused nearest-code lookup, residual VQ, codebook learning (EMA,
dead-code restarts, k-means) and code statistics.

Arrays: numpy, torch (CPU or CUDA), CuPy, JAX or anything with __dlpack__; C-contiguous; results
come back as the caller's kind, without copies. z is float32 [N, C] (rows) or [B, C, H, W] (read in
place, one row per pixel); a codebook is float32 [K, C]; indices are int32. Ties go to the lowest
code index. On CUDA, work runs on the caller's current stream (or `stream`)."""
from collections import namedtuple

from . import _lvk
from ._call import call

Quantized = namedtuple("Quantized", "quantized indices distances counts codebook_loss commitment_loss backward")
ResidualQuantized = namedtuple("ResidualQuantized", "quantized indices codebook_loss commitment_loss backward")


def quantize(z, codebook, *, mode="fp32", cosine=False, beta=0.25, nonfinite="error", requires_grad=False,
             stream=None):
    """Nearest code of every row of z, fused with the gather, the distances, the counts and the losses.

    z: float32 [N, C] or [B, C, H, W]; codebook: float32 [K, C].
    mode: 'fp32' (exact FFMA products) or 'fast' (BF16 tensor-core shortlist re-scored in fp32;
    differs from fp32 only at near-ties). cosine: l2-normalise z and the codes first (quantized and
    the losses then refer to the normalised vectors). nonfinite: 'error' (ValueError naming the
    rows), 'skip' (index -1, zero row) or 'propagate'.

    Returns Quantized:
      quantized        float32, shaped like z: codebook[indices]
      indices          int32 [N] (or [B, H, W])
      distances        float32 [N] (or [B, H, W]): ||z_i - e_k*||^2
      counts           int32 [K]: rows per code
      codebook_loss    float32 []: mean (sg(z) - e)^2
      commitment_loss  float32 []: beta * mean (z - sg(e))^2
      backward         with requires_grad=True: backward(grad_quantized, grad_codebook_loss,
                       grad_commitment_loss) -> (grad_z, grad_codebook); quantized passes its gradient
                       straight through to z, the codebook loss reaches only the codebook and the
                       commitment loss only z. None otherwise.
    """
    result, backward = call(_lvk.quantize, z, stream, z, codebook, mode, cosine, beta, nonfinite,
                            record=requires_grad)
    return Quantized(backward=backward, **result)


def residual_quantize(z, codebooks, *, mode="fp32", cosine=False, beta=0.25, requires_grad=False, stream=None):
    """Residual VQ: level l quantizes r_l = z - sum_{j<l} quantized_j with codebooks[l].

    z: float32 [N, C] or [B, C, H, W]; codebooks: a list of float32 [K_l, C].
    Returns ResidualQuantized: quantized (like z, the sum over levels), indices (a list of int32
    arrays, one per level), codebook_loss and commitment_loss (float32 [], sums over levels), and
    with requires_grad=True backward(grad_quantized, grad_codebook_loss, grad_commitment_loss) ->
    (grad_z, grad_codebook_0, grad_codebook_1, ...).
    """
    result, backward = call(_lvk.residual_quantize, z, stream, z, list(codebooks), mode, cosine, beta,
                            record=requires_grad)
    return ResidualQuantized(backward=backward, **result)


def l2_normalize(x, *, stream=None):
    """x / ||x|| per row: float32 [N, C] or [B, C, H, W] (over C) -> the same shape."""
    return call(_lvk.l2_normalize, x, stream, x, record=False)[0]


def cluster_sums(z, indices, k, *, stream=None):
    """Per-code sums and counts of the rows assigned by indices (deterministic order).

    z: float32 [N, C] or [B, C, H, W]; indices: int32 [N], each in [0, k).
    Returns (sums float32 [k, C], counts int32 [k]).
    """
    return tuple(call(_lvk.cluster_sums, z, stream, z, indices, k))


def ema_update(codebook, ema_count, ema_sum, z, indices, *, step, decay=0.99, eps=1e-5, bias_correction=True,
               stream=None):
    """One EMA codebook update (VQ-VAE-2) with Laplace smoothing, in place on the caller's arrays.

    codebook float32 [K, C], ema_count float32 [K], ema_sum float32 [K, C] (both start at zero);
    z float32 [N, C] or [B, C, H, W] and its indices int32 [N] from quantize. step: updates done so
    far (for the bias correction 1 - decay^t). Codes never assigned keep their vector.
    Returns the new step count (step + 1).
    """
    return call(_lvk.ema_update, codebook, stream, codebook, ema_count, ema_sum, z, indices, step, decay, eps,
                bias_correction)


def restart_dead_codes(codebook, usage, z, *, threshold, seed=0, offset=0, stream=None):
    """Re-seeds codes whose usage is below threshold from rows of z, in place; returns how many.

    codebook float32 [K, C]; usage float32 [K]; z float32 [N, C] or [B, C, H, W]. The row for dead
    code k is floor(u_k N), u_k the k-th Philox uniform of (seed, offset): reproducible bit for bit.
    """
    return call(_lvk.restart_dead_codes, codebook, stream, codebook, usage, z, threshold, seed, offset)


def restart_dead_codes_ema(codebook, ema_count, ema_sum, z, *, threshold, seed=0, offset=0, stream=None):
    """restart_dead_codes with ema_count as the usage; each restarted code becomes one observation
    (ema_sum_k = its new vector, ema_count_k = 1). In place; returns how many."""
    return call(_lvk.restart_dead_codes_ema, codebook, stream, codebook, ema_count, ema_sum, z, threshold, seed,
                offset)


def kmeans(z, k, *, iterations=20, plus_plus=True, seed=0, offset=0, stream=None):
    """Fits a float32 [k, C] codebook to the rows of z (float32 [N, C] or [B, C, H, W]) with
    k-means++ seeding (or k distinct random rows) and at most `iterations` Lloyd steps, on z's
    device. Draw j of the seeding uses Philox uniform j of (seed, offset)."""
    return call(_lvk.kmeans, z, stream, z, k, iterations, plus_plus, seed, offset)


def code_stats(counts):
    """Code usage from int32 [K] counts: {'perplexity': exp(H(p)) (1 = one code, K = uniform),
    'used_fraction': codes with a count > 0, over K}."""
    return _lvk.code_stats(counts)
