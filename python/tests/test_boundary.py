"""The DLPack boundary: errors name the argument, nothing is copied, import is fast."""
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import lvk
import lvk.torch as lt


@pytest.mark.parametrize("z,cls,message", [
    (np.zeros((4, 3)), TypeError, "z must be float32, got float64"),
    (np.zeros((4, 3), np.int32), TypeError, "z must be float32, got int32"),
    ("not an array", TypeError, "z must be an array"),
    (np.zeros((3, 4), np.float32).T, ValueError, "z must be C-contiguous"),
    (np.zeros((4, 5), np.float32), ValueError, "codebook has C=3 but z has C=5"),
    (np.zeros((2, 2, 2, 2, 2, 2), np.float32), ValueError, "at most 5"),
])
def test_quantize_errors_name_the_argument(z, cls, message):
    with pytest.raises(cls, match=message):
        lvk.quantize(z, np.zeros((2, 3), np.float32))


def test_other_errors():
    z = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="mode must be 'fp32' or 'fast'"):
        lvk.quantize(z, z, mode="tf32")
    with pytest.raises(ValueError, match="nonfinite"):
        lvk.quantize(z, z, nonfinite="ignore")
    with pytest.raises(ValueError, match="rows"):
        lvk.quantize(np.full((4, 3), np.nan, np.float32), z)
    with pytest.raises(ValueError, match="ema_count must be"):
        lvk.ema_update(z, np.zeros(3, np.float32), z.copy(), z, np.zeros(4, np.int32), step=0)
    with pytest.raises(ValueError, match="kind must be"):
        lvk.coupling_mask("stripes", [4])
    with pytest.raises(TypeError, match="indices must be int32"):
        lvk.cluster_sums(z, np.zeros(4, np.int64), 2)
    with pytest.raises(ValueError, match="empty batch"):
        lt.VectorQuantize(3, 4)(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="grads\\[0\\] has shape"):
        lvk.quantize(z, z, requires_grad=True).backward(np.zeros(5, np.float32), None, None)


def test_cuda_is_explained_when_unusable():
    status = lvk.cuda_status()
    assert status["usable"] or status["reason"]


def test_in_place_updates_reach_the_callers_memory():
    """ema_update and restarts write through DLPack into the caller's own arrays and tensors."""
    codebook = torch.randn(4, 2)
    count, total = torch.zeros(4), torch.zeros(4, 2)
    ptr = codebook.data_ptr()
    z = torch.randn(20, 2)
    idx = lvk.quantize(z, codebook).indices
    before = codebook.clone()
    lvk.ema_update(codebook, count, total, z, idx, step=0)
    assert codebook.data_ptr() == ptr and not torch.equal(codebook, before) and count.sum() > 0
    arr = np.full((3, 2), 7.0, np.float32)
    lvk.restart_dead_codes(arr, np.zeros(3, np.float32), np.ones((5, 2), np.float32), threshold=1.0)
    assert (arr == 1).all()


def test_outputs_are_views_of_lvk_memory():
    r = lvk.quantize(np.random.rand(8, 4).astype(np.float32), np.random.rand(3, 4).astype(np.float32))
    assert not r.quantized.flags.owndata and r.quantized.flags.writeable
    q = r.quantized
    q[0, 0] = 42.0  # the array owns a handle to lvk's buffer, not a copy that later reads could miss
    assert np.asarray(q)[0, 0] == 42.0


def test_import_in_a_fresh_interpreter_under_one_second():
    code = "import time; t = time.perf_counter(); import lvk; print(time.perf_counter() - t)"
    seconds = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                   text=True).stdout)
    assert seconds < 1.0, seconds
