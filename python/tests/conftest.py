import pathlib
import sys

import numpy as np
import pytest
import torch

# The pure-PyTorch reference VQ module lives beside the benchmark that also uses it.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def assert_close(actual, expected, atol=1e-5, rtol=1e-5):
    a = actual.detach().cpu().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = expected.detach().cpu().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    np.testing.assert_allclose(a, e, atol=atol, rtol=rtol)
