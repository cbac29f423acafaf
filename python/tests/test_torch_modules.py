"""lvk.torch modules: VectorQuantize trains an autoencoder like the pure-PyTorch reference;
the other modules run forward and backward with gradients reaching every parameter."""
import torch
from torch import nn

import lvk.torch as lt
from reference_vq import ReferenceVectorQuantize


def train_autoencoder(vq, steps=300, seed=0):
    torch.manual_seed(seed)
    enc, dec = nn.Linear(16, 8), nn.Linear(8, 16)
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(12, 16, generator=g) * 2
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=3e-3)
    curve = []
    for _ in range(steps):
        x = centres[torch.randint(0, 12, (64,), generator=g)] + 0.1 * torch.randn(64, 16, generator=g)
        q, _, losses = vq(enc(x))
        recon = ((dec(q) - x) ** 2).mean()
        loss = recon + losses["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(recon.item())
    return curve


def test_vector_quantize_trains_like_the_reference():
    mine = lt.VectorQuantize(8, 32, decay=0.9)
    ref = ReferenceVectorQuantize(8, 32, decay=0.9)
    ref.codebook.copy_(mine.codebook)
    a, b = train_autoencoder(mine), train_autoencoder(ref)
    final_a, final_b = sum(a[-20:]) / 20, sum(b[-20:]) / 20
    assert final_a < 0.5 * a[0]  # it learned
    # Stated tolerance: the mean reconstruction loss of the last 20 steps within 5% of the reference's.
    assert abs(final_a - final_b) <= 0.05 * final_b, (final_a, final_b)
    assert 1.0 <= mine.perplexity <= 32 and 0 < mine.usage <= 1


def test_vector_quantize_gradient_codebook_kmeans_and_restarts():
    vq = lt.VectorQuantize(4, 16, ema=False, kmeans_init=True, dead_code_threshold=1.0, cosine=True)
    z = torch.randn(2, 4, 5, 5, requires_grad=True)
    vq_nchw = lt.VectorQuantize(4, 16, channel_first=True)
    q, idx, losses = vq_nchw(z)
    assert q.shape == z.shape and idx.shape == (2, 5, 5)
    q, idx, losses = vq(z.permute(0, 2, 3, 1))
    (q.sum() + losses["loss"]).backward()
    assert vq.codebook.grad is not None and z.grad is not None
    assert bool(vq.initted)


def test_vector_quantize_bf16_input_looks_up_in_fp32():
    vq = lt.VectorQuantize(8, 64, ema=False)
    z = torch.randn(100, 8).bfloat16().requires_grad_()
    q, idx, _ = vq(z)
    assert q.dtype == torch.bfloat16
    expected = torch.cdist(z.float(), vq.codebook.detach()).argmin(1)
    assert torch.equal(idx, expected)
    q.float().sum().backward()
    assert z.grad.dtype == torch.bfloat16


def test_residual_gumbel_gaussian_flow_modules_backward():
    rvq = lt.ResidualVQ(8, 3, 16)
    z = torch.randn(4, 10, 8, requires_grad=True)
    q, idx, losses = rvq(z)
    (q.sum() + losses["loss"]).backward()
    assert idx.shape == (4, 10, 3) and all(c.grad is not None for c in rvq.codebooks)

    gq = lt.GumbelQuantize(3, 10, 6, hard=True, tau=lambda step: max(0.5, 1.0 - 0.1 * step))
    zq, tokens, losses = gq(torch.randn(2, 3, 4, 4))
    (zq.sum() + losses["kl"]).backward()
    assert zq.shape == (2, 6, 4, 4) and gq.proj.weight.grad is not None and gq.offset == 1

    gl = lt.GaussianLatent()
    mu, logvar = torch.randn(5, 3, requires_grad=True), torch.randn(5, 3, requires_grad=True)
    zs, losses, log_q = gl(mu, logvar)
    (zs.sum() + losses["kl"]).backward()
    assert mu.grad is not None and logvar.grad is not None

    prior = lt.RealNVPPrior(4, layers=3, hidden=16)
    x = torch.randn(6, 4)
    prior.log_prob(x).mean().backward()
    assert all(p.grad is not None for p in prior.parameters())
    layer = prior.layers[0]
    y, logdet = layer(x)
    x_back, logdet_inv = layer.inverse(y)
    assert torch.allclose(x_back, x, atol=1e-5) and torch.allclose(logdet_inv, -logdet, atol=1e-5)


def test_realnvp_prior_learns_a_shifted_gaussian():
    torch.manual_seed(0)
    prior = lt.RealNVPPrior(2, layers=4, hidden=32)
    opt = torch.optim.Adam(prior.parameters(), lr=1e-2)
    data = torch.randn(512, 2) * 0.5 + 1.0
    start = -prior.log_prob(data).mean().item()
    for _ in range(150):
        loss = -prior.log_prob(data).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < start - 0.5
