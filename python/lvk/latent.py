"""The stochastic latent layers and the coupling flow: Gumbel-softmax, reparametrized Gaussian
sampling, the diagonal-Gaussian density and affine coupling.

Arrays as in lvk.vq (float32, C-contiguous, any DLPack producer, results in the caller's kind).
Noise comes from Philox4x32-10 keyed by (seed, offset): the same pair gives the same draw on CPU
and CUDA, so a result can be reproduced bit for bit; advance offset per call for fresh noise."""
from collections import namedtuple

from . import _lvk
from ._call import call

GumbelSample = namedtuple("GumbelSample", "y index kl backward")
GaussianSample = namedtuple("GaussianSample", "z kl log_q backward")
LogDensity = namedtuple("LogDensity", "log_prob backward")
Coupled = namedtuple("Coupled", "out logdet backward")


def gumbel_softmax(logits, *, tau=1.0, hard=False, seed=0, offset=0, requires_grad=False, stream=None):
    """Gumbel-softmax sample of softmax(logits) at temperature tau, fused with its KL to uniform.

    logits: float32 [..., K] (leading dimensions are rows). Returns GumbelSample:
      y      float32 [..., K]: the relaxed sample (rows sum to 1), or with hard=True the one-hot of
             its argmax (straight-through: the gradient is the soft sample's)
      index  int32 [...]: argmax of the perturbed logits
      kl     float32 [...]: KL(softmax(logits) || uniform) = log K - H(q)
      backward  with requires_grad=True: backward(grad_y, grad_kl) -> (grad_logits,)
    """
    result, backward = call(_lvk.gumbel_softmax, logits, stream, logits, tau, hard, seed, offset,
                            record=requires_grad)
    return GumbelSample(backward=backward, **result)


def gaussian_sample(mu, logvar, *, samples=0, seed=0, offset=0, requires_grad=False, stream=None):
    """z = mu + exp(logvar / 2) * eps with Philox normals, fused with the KL and log q(z|x).

    mu, logvar: float32 [N, D] (logvar clamped to [-30, 20]). samples=0 draws one sample, z [N, D];
    samples=S >= 1 draws S per row, z [S, N, D]. Returns GaussianSample:
      z      float32 [N, D] or [S, N, D]
      kl     float32 [N]: KL(N(mu, sigma^2) || N(0, I))
      log_q  float32 [N] or [S, N]: log N(z; mu, sigma^2) summed over D
      backward  with requires_grad=True: backward(grad_z, grad_kl, grad_log_q) -> (grad_mu, grad_logvar)
    """
    result, backward = call(_lvk.gaussian_sample, mu, stream, mu, logvar, samples, seed, offset,
                            record=requires_grad)
    return GaussianSample(backward=backward, **result)


def gaussian_log_density(z, mu, logvar, *, requires_grad=False, stream=None):
    """log N(z; mu, exp(logvar)) summed over D.

    z float32 [N, D] -> [N], or [S, N, D] -> [S, N] with mu, logvar float32 [N, D] shared by the S
    samples. Returns LogDensity(log_prob, backward); backward(grad_log_prob) -> (grad_z, grad_mu,
    grad_logvar).
    """
    result, backward = call(_lvk.gaussian_log_density, z, stream, z, mu, logvar, record=requires_grad)
    return LogDensity(result, backward)


def _coupling(x, mask, s_raw, t, scale, inverse, requires_grad, stream):
    result, backward = call(_lvk.coupling, x, stream, x, mask, s_raw, t, scale, inverse, record=requires_grad)
    return Coupled(backward=backward, **result)


def coupling_forward(x, mask, s_raw, t, *, scale=1.0, requires_grad=False, stream=None):
    """Affine coupling y = m*x + (1-m)*(x*exp(s) + t), s = scale*tanh(s_raw), in one pass.

    x, s_raw, t: float32 [N, D] or [B, C, H, W] (D = C*H*W); mask: float32 with D elements
    (1 = pass through). Returns Coupled(out=y, logdet float32 [N] = sum (1-m)*s, backward);
    backward(grad_y, grad_logdet) -> (grad_x, grad_s_raw, grad_t).
    """
    return _coupling(x, mask, s_raw, t, scale, False, requires_grad, stream)


def coupling_inverse(y, mask, s_raw, t, *, scale=1.0, requires_grad=False, stream=None):
    """The inverse of coupling_forward: x = m*y + (1-m)*(y - t)*exp(-s); logdet = -sum (1-m)*s
    (of the inverse). Shapes and backward as for coupling_forward, with y in place of x."""
    return _coupling(y, mask, s_raw, t, scale, True, requires_grad, stream)


def coupling_mask(kind, features, *, flip=False):
    """A coupling mask as a float32 numpy array of shape `features` ([D] or [C, H, W]).
    kind: 'alternating', 'half' ([D]), 'checkerboard', 'channel' ([C, H, W]); flip swaps the halves."""
    import numpy as np
    return np.asarray(_lvk.coupling_mask(kind, list(features), flip))
