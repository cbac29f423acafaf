"""Autograd Functions over the functional API. One generic Function runs a recorded lvk call in
forward and its hand-written backward in backward (the forward is not recomputed). Inputs in
bf16/fp16 are computed in fp32 (the lookup always is) and outputs return in the input's dtype."""
import torch

import lvk


class _Recorded(torch.autograd.Function):
    """forward(ctx, call, n_outputs, differentiable, *inputs): call(*inputs) runs an lvk function
    with requires_grad=True and returns (outputs, backward); `differentiable` flags the outputs that
    carry gradients (the others, e.g. indices, are marked non-differentiable). backward hands the
    flagged outputs' gradients to lvk's backward, which returns one gradient per input."""

    @staticmethod
    def forward(ctx, call, differentiable, *inputs):
        outputs, backward = call(*inputs)
        ctx.lvk_backward, ctx.differentiable = backward, differentiable
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*[o for o, d in zip(outputs, differentiable) if not d])
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        flowing = [None if g is None else g.contiguous().float() for g, d in zip(grads, ctx.differentiable) if d]
        return (None, None) + tuple(ctx.lvk_backward(*flowing))


def _fp32(t):
    return t.detach().contiguous().float() if t.dtype != torch.float32 or not t.is_contiguous() else t


def _apply(call, differentiable, *inputs):
    # Casts and contiguity are done on the autograd graph, so gradients return to the caller's dtype.
    inputs = [t.contiguous().float() for t in inputs]
    return _Recorded.apply(call, differentiable, *inputs)


def quantize(z, codebook, *, mode="fp32", cosine=False, beta=0.25):
    """Differentiable lvk.quantize. z: [N, C] or [B, C, H, W] (any float dtype; the lookup runs in
    fp32); codebook: [K, C]. Returns (quantized (z's dtype), indices int32, distances float32,
    counts int32 [K], codebook_loss, commitment_loss): quantized passes its gradient straight through
    to z, codebook_loss reaches only the codebook, commitment_loss only z."""
    def call(z32, cb32):
        r = lvk.quantize(z32, cb32, mode=mode, cosine=cosine, beta=beta, requires_grad=True)
        return (r.quantized, r.indices, r.distances, r.counts, r.codebook_loss, r.commitment_loss), r.backward
    q, idx, dist, counts, cb_loss, cm_loss = _apply(call, (True, False, False, False, True, True), z, codebook)
    return q.to(z.dtype), idx, dist, counts, cb_loss, cm_loss


def residual_quantize(z, codebooks, *, mode="fp32", cosine=False, beta=0.25):
    """Differentiable lvk.residual_quantize: returns (quantized, indices list, codebook_loss,
    commitment_loss); gradients reach z and every codebook."""
    levels = len(codebooks)

    def call(z32, *cbs):
        r = lvk.residual_quantize(z32, list(cbs), mode=mode, cosine=cosine, beta=beta, requires_grad=True)
        return (r.quantized, r.codebook_loss, r.commitment_loss, *r.indices), r.backward
    q, cb_loss, cm_loss, *indices = _apply(call, (True, True, True) + (False,) * levels, z, *codebooks)
    return q.to(z.dtype), indices, cb_loss, cm_loss


def gumbel_softmax(logits, *, tau=1.0, hard=False, seed=0, offset=0):
    """Differentiable lvk.gumbel_softmax over the last axis: returns (y, index int32, kl per row)."""
    def call(l32):
        r = lvk.gumbel_softmax(l32, tau=tau, hard=hard, seed=seed, offset=offset, requires_grad=True)
        return (r.y, r.index, r.kl), r.backward
    return _apply(call, (True, False, True), logits)


def gaussian_sample(mu, logvar, *, samples=0, seed=0, offset=0):
    """Differentiable lvk.gaussian_sample: returns (z, kl [N], log_q)."""
    def call(mu32, logvar32):
        r = lvk.gaussian_sample(mu32, logvar32, samples=samples, seed=seed, offset=offset, requires_grad=True)
        return (r.z, r.kl, r.log_q), r.backward
    return _apply(call, (True, True, True), mu, logvar)


def gaussian_log_density(z, mu, logvar):
    """Differentiable lvk.gaussian_log_density: log N(z; mu, exp(logvar)) summed over the last axis."""
    def call(z32, mu32, logvar32):
        r = lvk.gaussian_log_density(z32, mu32, logvar32, requires_grad=True)
        return (r.log_prob,), r.backward
    return _apply(call, (True,), z, mu, logvar)[0]


def coupling(x, mask, s_raw, t, *, scale=1.0, inverse=False):
    """Differentiable lvk.coupling_forward (or coupling_inverse): returns (out, logdet [N]);
    gradients reach x, s_raw and t (the mask is a constant)."""
    mask32 = _fp32(mask)
    fn = lvk.coupling_inverse if inverse else lvk.coupling_forward

    def call(x32, s32, t32):
        r = fn(x32, mask32, s32, t32, scale=scale, requires_grad=True)
        return (r.out, r.logdet), r.backward
    return _apply(call, (True, True), x, s_raw, t)
