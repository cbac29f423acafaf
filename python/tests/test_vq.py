"""The VQ functions against plain numpy/PyTorch references."""
import numpy as np
import pytest
import torch

import lvk
from conftest import assert_close


def reference_lookup(z, codebook):
    d = ((z[:, None, :].astype(np.float64) - codebook[None].astype(np.float64)) ** 2).sum(-1)
    return d.argmin(1), d.min(1)


@pytest.mark.parametrize("n,k,c", [(1, 1, 1), (37, 5, 3), (300, 129, 16)])
def test_quantize_matches_reference(rng, n, k, c):
    z = rng.standard_normal((n, c)).astype(np.float32)
    codebook = rng.standard_normal((k, c)).astype(np.float32)
    r = lvk.quantize(z, codebook, beta=0.5)
    idx, dist = reference_lookup(z, codebook)
    np.testing.assert_array_equal(r.indices, idx)
    assert_close(r.quantized, codebook[idx])
    assert_close(r.distances, dist, atol=1e-4, rtol=1e-4)
    np.testing.assert_array_equal(r.counts, np.bincount(idx, minlength=k))
    mse = ((z - codebook[idx]) ** 2).mean()
    assert_close(r.codebook_loss, mse, rtol=1e-4)
    assert_close(r.commitment_loss, 0.5 * mse, rtol=1e-4)
    assert isinstance(r.indices, np.ndarray) and r.indices.dtype == np.int32


def test_quantize_fast_mode_agrees_away_from_ties(rng):
    z = rng.standard_normal((500, 32)).astype(np.float32)
    codebook = rng.standard_normal((300, 32)).astype(np.float32)
    idx, dist = reference_lookup(z, codebook)
    d = ((z[:, None] - codebook[None]) ** 2).sum(-1)
    d.sort(1)
    clear = (d[:, 1] - d[:, 0]) > 0.1  # rows far from a near-tie
    fast = lvk.quantize(z, codebook, mode="fast").indices
    np.testing.assert_array_equal(fast[clear], idx[clear])


def test_quantize_nchw_in_place_equals_rows(rng):
    z = rng.standard_normal((2, 6, 3, 5)).astype(np.float32)
    codebook = rng.standard_normal((7, 6)).astype(np.float32)
    r = lvk.quantize(z, codebook)
    rows = z.transpose(0, 2, 3, 1).reshape(-1, 6)
    idx, _ = reference_lookup(rows, codebook)
    assert r.indices.shape == (2, 3, 5) and r.quantized.shape == z.shape
    np.testing.assert_array_equal(r.indices.reshape(-1), idx)
    assert_close(r.quantized.transpose(0, 2, 3, 1).reshape(-1, 6), codebook[idx])


def test_quantize_cosine(rng):
    z = rng.standard_normal((50, 8)).astype(np.float32)
    codebook = rng.standard_normal((9, 8)).astype(np.float32)
    r = lvk.quantize(z, codebook, cosine=True)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    cn = codebook / np.linalg.norm(codebook, axis=1, keepdims=True)
    np.testing.assert_array_equal(r.indices, (zn @ cn.T).argmax(1))
    assert_close(r.quantized, cn[r.indices], atol=1e-5)


def reference_vq_losses(z, codebook, beta, cosine=False):
    """vector-quantize-pytorch's formulation: cdist + argmin + gather, losses with detach."""
    if cosine:
        z, codebook = torch.nn.functional.normalize(z, dim=1), torch.nn.functional.normalize(codebook, dim=1)
    idx = torch.cdist(z.detach(), codebook.detach()).argmin(1)
    e = codebook[idx]
    q = z + (e - z).detach()
    return q, ((z.detach() - e) ** 2).mean(), beta * ((z - e.detach()) ** 2).mean()


@pytest.mark.parametrize("cosine", [False, True])
def test_quantize_gradients_match_autograd(cosine):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(40, 6, generator=g, dtype=torch.float64)
    codebook = torch.randn(11, 6, generator=g, dtype=torch.float64)
    gq = torch.randn(40, 6, generator=g)
    zr, cr = z.clone().requires_grad_(), codebook.clone().requires_grad_()
    q, cb_loss, cm_loss = reference_vq_losses(zr, cr, 0.25, cosine)
    (q * gq.double()).sum().add(2.0 * cb_loss).add(3.0 * cm_loss).backward()
    r = lvk.quantize(z.float(), codebook.float(), cosine=cosine, requires_grad=True)
    dz, dcb = r.backward(gq, 2.0, 3.0)
    assert_close(dz, zr.grad, atol=1e-5)
    assert_close(dcb, cr.grad, atol=1e-5)


def test_backward_runs_once(rng):
    r = lvk.quantize(rng.random((4, 2), dtype=np.float32), rng.random((3, 2), dtype=np.float32), requires_grad=True)
    r.backward(None, 1.0, 1.0)
    with pytest.raises(ValueError, match="already ran"):
        r.backward(None, 1.0, 1.0)


def test_residual_quantize_matches_reference(rng):
    z = rng.standard_normal((64, 4)).astype(np.float32)
    books = [rng.standard_normal((8, 4)).astype(np.float32) * s for s in (1.0, 0.5, 0.25)]
    r = lvk.residual_quantize(z, books, requires_grad=True)
    residual, total = z.copy(), np.zeros_like(z)
    for level, book in enumerate(books):
        idx, _ = reference_lookup(residual, book)
        np.testing.assert_array_equal(r.indices[level], idx)
        total += book[idx]
        residual -= book[idx]
    assert_close(r.quantized, total, atol=1e-5)
    grads = r.backward(np.ones_like(z), 1.0, 0.0)
    assert_close(grads[0], np.ones_like(z))  # straight-through
    assert len(grads) == 4 and grads[1].shape == books[0].shape


def test_cluster_sums_and_code_stats(rng):
    z = rng.standard_normal((100, 3)).astype(np.float32)
    idx = rng.integers(0, 6, 100).astype(np.int32)
    sums, counts = lvk.cluster_sums(z, idx, 7)
    ref = np.zeros((7, 3))
    np.add.at(ref, idx, z)
    assert_close(sums, ref, atol=1e-5)
    np.testing.assert_array_equal(counts, np.bincount(idx, minlength=7))
    stats = lvk.code_stats(counts)
    p = counts[counts > 0] / counts.sum()
    assert stats["perplexity"] == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert stats["used_fraction"] == pytest.approx(6 / 7)


def test_ema_update_matches_formula(rng):
    k, c, decay, eps = 5, 3, 0.9, 1e-5
    codebook = rng.standard_normal((k, c)).astype(np.float32)
    before = codebook.copy()
    count, total = np.zeros(k, np.float32), np.zeros((k, c), np.float32)
    z = rng.standard_normal((40, c)).astype(np.float32)
    idx = lvk.quantize(z, codebook).indices
    step = lvk.ema_update(codebook, count, total, z, idx, step=0, decay=decay, eps=eps)
    assert step == 1
    n_k = np.bincount(idx, minlength=k).astype(np.float64)
    s_k = np.zeros((k, c))
    np.add.at(s_k, idx, z)
    corr = 1 - decay
    ema_n, ema_s = (1 - decay) * n_k, (1 - decay) * s_k
    assert_close(count, ema_n, atol=1e-6)
    N = ema_n / corr
    smoothed = (N + eps) / (N.sum() + k * eps) * N.sum()
    expected = np.where(n_k[:, None] > 0, (ema_s / corr) / smoothed[:, None], before)
    assert_close(codebook, expected, atol=1e-5)


def test_restart_dead_codes_reseeds_from_batch(rng):
    codebook = np.full((4, 2), 100.0, np.float32)
    usage = np.array([5, 0, 5, 0], np.float32)
    z = rng.standard_normal((10, 2)).astype(np.float32)
    n = lvk.restart_dead_codes(codebook, usage, z, threshold=1.0, seed=3, offset=1)
    assert n == 2
    for k in (1, 3):
        assert any(np.array_equal(codebook[k], row) for row in z)
    assert (codebook[[0, 2]] == 100).all()
    again = np.full((4, 2), 100.0, np.float32)
    lvk.restart_dead_codes(again, usage, z, threshold=1.0, seed=3, offset=1)
    np.testing.assert_array_equal(again, codebook)  # (seed, offset) reproduces the draw


def test_kmeans_reaches_a_fixed_point(rng):
    centres = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    z = (centres[rng.integers(0, 3, 300)] + 0.1 * rng.standard_normal((300, 2))).astype(np.float32)
    codebook = lvk.kmeans(z, 3, iterations=50, seed=1)
    idx, _ = reference_lookup(z, codebook)
    for k in range(3):
        assert_close(codebook[k], z[idx == k].mean(0), atol=1e-4)
    assert sorted(map(tuple, np.round(codebook))) == sorted(map(tuple, centres))


def test_torch_in_torch_out():
    z, codebook = torch.randn(10, 4), torch.randn(3, 4)
    r = lvk.quantize(z, codebook)
    assert isinstance(r.quantized, torch.Tensor) and r.indices.dtype == torch.int32
