"""Gumbel-softmax, Gaussian sampling and density, affine coupling against PyTorch references;
gradients against autograd (the noise recovered from lvk's sample and held fixed)."""
import math

import numpy as np
import pytest
import torch

import lvk
from conftest import assert_close


def test_gumbel_soft_sample_and_gradient():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(30, 7, generator=g)
    tau = 0.7
    r = lvk.gumbel_softmax(logits, tau=tau, seed=5, offset=2, requires_grad=True)
    assert_close(r.y.sum(-1), torch.ones(30), atol=1e-5)
    q = torch.softmax(logits, -1)
    assert_close(r.kl, math.log(7) + (q * torch.log(q)).sum(-1), atol=1e-5)
    # The noise is implied by the sample: tau log y = log_softmax(logits) + g + const per row.
    noise = tau * torch.log(r.y) - torch.log_softmax(logits, -1)
    lr = logits.clone().double().requires_grad_()
    y_ref = torch.softmax((torch.log_softmax(lr, -1) + noise.double()) / tau, -1)
    q_ref = torch.softmax(lr, -1)
    kl_ref = math.log(7) + (q_ref * torch.log(q_ref)).sum(-1)
    gy, gkl = torch.randn(30, 7, generator=g), torch.randn(30, generator=g)
    ((y_ref * gy.double()).sum() + (kl_ref * gkl.double()).sum()).backward()
    assert_close(r.y, y_ref, atol=1e-5)
    (dlogits,) = r.backward(gy, gkl)
    assert_close(dlogits, lr.grad, atol=1e-4)


def test_gumbel_hard_and_reproducible():
    logits = torch.randn(100, 5)
    a = lvk.gumbel_softmax(logits, hard=True, seed=1, offset=7)
    b = lvk.gumbel_softmax(logits, hard=True, seed=1, offset=7)
    c = lvk.gumbel_softmax(logits, hard=True, seed=1, offset=8)
    assert torch.equal(a.y, b.y) and not torch.equal(a.y, c.y)
    assert torch.equal(a.y, torch.nn.functional.one_hot(a.index.long(), 5).float())


def test_gumbel_max_frequencies_follow_softmax():
    logits = torch.tensor([[0.0, 1.0, 2.0]]).repeat(20000, 1)
    idx = lvk.gumbel_softmax(logits, seed=9).index.long()
    freq = torch.bincount(idx, minlength=3).double() / 20000
    p = torch.softmax(logits[0].double(), 0)
    # binomial standard error ~0.0035; 5 sigma
    assert_close(freq, p, atol=0.018)


def test_gaussian_sample_kl_log_q_and_gradients():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(20, 4, generator=g), torch.randn(20, 4, generator=g)
    r = lvk.gaussian_sample(mu, logvar, seed=3, offset=4, requires_grad=True)
    eps = (r.z - mu) / torch.exp(0.5 * logvar)
    m, lv = mu.double().requires_grad_(), logvar.double().requires_grad_()
    z_ref = m + torch.exp(0.5 * lv) * eps.double()
    kl_ref = 0.5 * (torch.exp(lv) + m * m - 1 - lv).sum(-1)
    log_q_ref = (-0.5 * eps.double() ** 2 - 0.5 * lv - 0.5 * math.log(2 * math.pi)).sum(-1)
    assert_close(r.kl, kl_ref, atol=1e-4)
    assert_close(r.log_q, log_q_ref, atol=1e-4)
    gz, gkl, glq = torch.randn(20, 4, generator=g), torch.randn(20, generator=g), torch.randn(20, generator=g)
    # log q at the reparametrized z depends on mu and logvar only through the -logvar/2 term.
    log_q_path = (-0.5 * ((z_ref - m) / torch.exp(0.5 * lv)) ** 2 - 0.5 * lv - 0.5 * math.log(2 * math.pi)).sum(-1)
    ((z_ref * gz.double()).sum() + (kl_ref * gkl.double()).sum() + (log_q_path * glq.double()).sum()).backward()
    dmu, dlogvar = r.backward(gz, gkl, glq)
    assert_close(dmu, m.grad, atol=1e-4)
    assert_close(dlogvar, lv.grad, atol=1e-4)


def test_gaussian_moments_and_samples():
    mu, logvar = torch.full((1, 1), 2.0), torch.full((1, 1), math.log(9.0))
    z = lvk.gaussian_sample(mu.repeat(50000, 1), logvar.repeat(50000, 1), seed=11).z
    assert abs(z.mean().item() - 2.0) < 5 * 3 / math.sqrt(50000)
    assert abs(z.std().item() - 3.0) < 0.05
    many = lvk.gaussian_sample(torch.zeros(3, 2), torch.zeros(3, 2), samples=4)
    assert many.z.shape == (4, 3, 2) and many.log_q.shape == (4, 3)


def test_gaussian_log_density_and_gradients():
    g = torch.Generator().manual_seed(2)
    z, mu, logvar = (torch.randn(3, 8, 5, generator=g), torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g))
    r = lvk.gaussian_log_density(z, mu, logvar, requires_grad=True)
    zr, mr, lr = (t.double().requires_grad_() for t in (z, mu, logvar))
    ref = torch.distributions.Normal(mr, torch.exp(0.5 * lr)).log_prob(zr).sum(-1)
    assert_close(r.log_prob, ref, atol=1e-4)
    gout = torch.randn(3, 8, generator=g)
    (ref * gout.double()).sum().backward()
    for mine, theirs in zip(r.backward(gout), (zr, mr, lr)):
        assert_close(mine, theirs.grad, atol=1e-4)


@pytest.mark.parametrize("shape", [(6, 10), (2, 3, 4, 4)])
def test_coupling_forward_inverse_and_gradients(shape):
    g = torch.Generator().manual_seed(3)
    x, s_raw, t = (torch.randn(*shape, generator=g) for _ in range(3))
    features = shape[1:]
    mask = torch.from_numpy(lvk.coupling_mask("alternating" if len(features) == 1 else "checkerboard", features))
    scale = 1.5
    fwd = lvk.coupling_forward(x, mask, s_raw, t, scale=scale, requires_grad=True)
    xr, sr, tr = (v.double().requires_grad_() for v in (x, s_raw, t))
    m = mask.double()
    s = scale * torch.tanh(sr)
    y_ref = m * xr + (1 - m) * (xr * torch.exp(s) + tr)
    logdet_ref = ((1 - m) * s).reshape(shape[0], -1).sum(-1)
    assert_close(fwd.out, y_ref, atol=1e-5)
    assert_close(fwd.logdet, logdet_ref, atol=1e-5)
    gy, gl = torch.randn(*shape, generator=g), torch.randn(shape[0], generator=g)
    ((y_ref * gy.double()).sum() + (logdet_ref * gl.double()).sum()).backward()
    for mine, theirs in zip(fwd.backward(gy, gl), (xr, sr, tr)):
        assert_close(mine, theirs.grad, atol=1e-4)
    inv = lvk.coupling_inverse(fwd.out, mask, s_raw, t, scale=scale)
    assert_close(inv.out, x, atol=1e-5)
    assert_close(inv.logdet, -fwd.logdet, atol=1e-5)


def test_coupling_mask_kinds():
    np.testing.assert_array_equal(lvk.coupling_mask("alternating", [4]), [1, 0, 1, 0])
    np.testing.assert_array_equal(lvk.coupling_mask("half", [4], flip=True), [0, 0, 1, 1])
    assert lvk.coupling_mask("channel", [4, 2, 2]).shape == (4, 2, 2)
