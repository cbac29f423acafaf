"""The caller's array kind in, the same kind out: results leave the extension as DLPack
producers and are imported by the caller's own library (no copy)."""
import sys

import numpy as np


def _library(x):
    """'torch', 'cupy', 'jax' or 'numpy' (also the default for other DLPack producers on the CPU)."""
    module = type(x).__module__.split(".")[0]
    return module if module in ("torch", "cupy", "jax", "jaxlib") else "numpy"


def prepare(x):
    """What the extension is handed for x: torch tensors detached (their __dlpack__ refuses tensors
    that require grad; the functional API does not record torch's graph, lvk.torch does)."""
    if _library(x) == "torch" and x.requires_grad:
        return x.detach()
    return x


def stream_of(x, stream):
    """The CUDA stream to run on for array x: `stream` when given (an int cudaStream_t or an object
    with .cuda_stream / .ptr), else the caller library's current stream; None on the CPU."""
    if stream is not None:
        for attr in ("cuda_stream", "ptr"):
            if hasattr(stream, attr):
                return int(getattr(stream, attr))
        return int(stream)
    library = _library(x)
    if library == "torch" and x.is_cuda:
        torch = sys.modules["torch"]
        return torch.cuda.current_stream(x.device).cuda_stream
    if library == "cupy":
        return sys.modules["cupy"].cuda.get_current_stream().ptr
    return None


def like(template, result):
    """Converts an extension result (array, None, or list/dict of them) to template's kind."""
    if not hasattr(result, "__dlpack__") and not isinstance(result, (list, tuple, dict)):
        return result  # None, counts, flags
    if isinstance(result, (list, tuple)):
        return [like(template, r) for r in result]
    if isinstance(result, dict):
        return {k: like(template, v) for k, v in result.items()}
    library = _library(template)
    if library == "torch":
        return sys.modules["torch"].utils.dlpack.from_dlpack(result)
    if library == "cupy":
        return sys.modules["cupy"].from_dlpack(result)
    if library in ("jax", "jaxlib"):
        import jax.dlpack
        return jax.dlpack.from_dlpack(result)
    # The buffer protocol gives a writable view (numpy's from_dlpack marks imports read-only).
    return np.asarray(result) if result.__dlpack_device__()[0] == 1 else np.from_dlpack(result)
