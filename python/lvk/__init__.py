"""lvk: fused latent-variable kernels for numpy and PyTorch through DLPack.

Functional API (every function takes numpy arrays, torch tensors, CuPy/JAX arrays and returns the
caller's kind, zero-copy): quantize, residual_quantize, l2_normalize, cluster_sums, ema_update,
restart_dead_codes, restart_dead_codes_ema, kmeans, code_stats (lvk.vq); gumbel_softmax,
gaussian_sample, gaussian_log_density, coupling_forward, coupling_inverse, coupling_mask
(lvk.latent). PyTorch modules and autograd Functions: lvk.torch (imported on demand).
"""
from . import _lvk
from .latent import (coupling_forward, coupling_inverse, coupling_mask, gaussian_log_density, gaussian_sample,
                     gumbel_softmax)
from .vq import (cluster_sums, code_stats, ema_update, kmeans, l2_normalize, quantize, residual_quantize,
                 restart_dead_codes, restart_dead_codes_ema)

__version__ = _lvk.__version__


def cuda_status():
    """{'built', 'usable', 'emulated', 'reason', 'devices'}: whether lvk can run on CUDA, and why not."""
    return _lvk.cuda_status()
