"""lvk inside PyTorch: autograd Functions (lvk.torch.functions) and drop-in modules.

Works eagerly with torch >= 1.13. Registration with torch.library (for torch.compile) is not
provided yet: under torch.compile these calls are graph breaks."""
from . import functions
from .modules import AffineCoupling, GaussianLatent, GumbelQuantize, RealNVPPrior, ResidualVQ, VectorQuantize

__all__ = ["functions", "VectorQuantize", "ResidualVQ", "GumbelQuantize", "GaussianLatent", "AffineCoupling",
           "RealNVPPrior"]
