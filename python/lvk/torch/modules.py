"""Drop-in PyTorch modules over lvk's fused kernels. Every stochastic module keeps a Philox
(seed, offset) pair and advances offset per call, so a run repeats bit for bit from its seed."""
import math

import torch
from torch import nn

import lvk
from . import functions as F


def _nonempty(module, name, x):
    if x.numel() == 0:
        raise ValueError(f"{module}: {name} is an empty batch {tuple(x.shape)}; pass at least one row")


class VectorQuantize(nn.Module):
    """Vector quantization layer (VQ-VAE) with lvk's fused nearest-code lookup: no N x K distance
    matrix, the lookup in fp32 even for bf16/fp16 inputs (quantized returns in the input's dtype).

    dim: C; codebook_size: K. z is [..., C] (channels last), or [B, C, H, W] with
    channel_first=True (read in place). cosine: l2-normalised codes and inputs. ema: codebook
    learned by exponential moving averages (decay, eps Laplace smoothing), else by the codebook
    loss's gradient (a Parameter). commitment_weight: beta. dead_code_threshold: in training, codes
    whose EMA count (or batch count, without EMA) falls below it are re-seeded from the batch.
    kmeans_init: the first training batch fits the codebook with k-means. mode: 'fp32' or 'fast'.

    forward(z) -> (quantized like z, indices int64 [...], losses dict: 'commitment', 'codebook'
    (0 with EMA), 'loss' (their sum, to add to the model's loss)). After each forward,
    .perplexity and .usage (fraction of codes used) describe the batch's assignments.
    """

    def __init__(self, dim, codebook_size, *, cosine=False, ema=True, decay=0.99, eps=1e-5,
                 commitment_weight=0.25, dead_code_threshold=0.0, kmeans_init=False, kmeans_iters=10,
                 channel_first=False, mode="fp32", seed=0):
        super().__init__()
        self.dim, self.codebook_size, self.cosine, self.ema = dim, codebook_size, cosine, ema
        self.decay, self.eps, self.beta, self.mode = decay, eps, commitment_weight, mode
        self.dead_code_threshold, self.kmeans_iters, self.channel_first = dead_code_threshold, kmeans_iters, channel_first
        self.seed, self.offset = seed, 0
        init = torch.randn(codebook_size, dim, generator=torch.Generator().manual_seed(seed))
        if ema:
            self.register_buffer("codebook", init)
            self.register_buffer("ema_count", torch.zeros(codebook_size))
            self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))
            self.ema_steps = 0
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("initted", torch.tensor(not kmeans_init))
        self.perplexity, self.usage = float("nan"), float("nan")

    def _rows(self, z):
        if self.channel_first:
            if z.dim() != 4 or z.shape[1] != self.dim:
                raise ValueError(f"VectorQuantize: z must be [B, {self.dim}, H, W] with channel_first, got {tuple(z.shape)}")
            return z
        if z.shape[-1] != self.dim:
            raise ValueError(f"VectorQuantize: z must end with dim={self.dim}, got {tuple(z.shape)}")
        return z.reshape(-1, self.dim)

    def forward(self, z):
        _nonempty("VectorQuantize", "z", z)
        rows = self._rows(z)
        if self.training and not bool(self.initted):
            self._kmeans_init(rows)
        # EMA mode updates the codebook in place after the lookup; the backward must see the codes used.
        codebook = self.codebook.detach().clone() if self.ema else self.codebook
        q, idx, _, counts, cb_loss, cm_loss = F.quantize(rows, codebook, mode=self.mode, cosine=self.cosine,
                                                       beta=self.beta)
        if self.training:
            self._learn(rows, idx, counts)
        stats = lvk.code_stats(counts)
        self.perplexity, self.usage = stats["perplexity"], stats["used_fraction"]
        if self.ema:
            cb_loss = torch.zeros((), device=z.device)
        indices = idx.long().reshape(z.shape[:1] + z.shape[2:] if self.channel_first else z.shape[:-1])
        losses = {"commitment": cm_loss, "codebook": cb_loss, "loss": cm_loss + cb_loss}
        return q.reshape(z.shape), indices, losses

    @torch.no_grad()
    def _kmeans_init(self, rows):
        data = rows.detach().float().contiguous()
        if self.cosine:
            data = lvk.l2_normalize(data)
        self.codebook.copy_(lvk.kmeans(data, self.codebook_size, iterations=self.kmeans_iters, seed=self.seed))
        if self.ema:
            self.ema_sum.zero_(), self.ema_count.zero_()
        self.initted.fill_(True)

    @torch.no_grad()
    def _learn(self, rows, idx, counts):
        data = rows.detach().float().contiguous()
        if self.cosine:
            data = lvk.l2_normalize(data)
        if self.ema:
            self.ema_steps = lvk.ema_update(self.codebook, self.ema_count, self.ema_sum, data, idx,
                                            step=self.ema_steps, decay=self.decay, eps=self.eps)
        if self.dead_code_threshold > 0:
            self.offset += 1
            if self.ema:
                lvk.restart_dead_codes_ema(self.codebook, self.ema_count, self.ema_sum, data,
                                           threshold=self.dead_code_threshold, seed=self.seed, offset=self.offset)
            else:
                lvk.restart_dead_codes(self.codebook.data, counts.float(), data,
                                       threshold=self.dead_code_threshold, seed=self.seed, offset=self.offset)


class ResidualVQ(nn.Module):
    """Residual vector quantization: num_quantizers levels of codebook_size codes of size dim, each
    quantizing what the previous levels left; codebooks learned by gradient (Parameters).
    forward(z [..., dim]) -> (quantized like z, indices int64 [..., num_quantizers], losses dict
    'commitment', 'codebook', 'loss')."""

    def __init__(self, dim, num_quantizers, codebook_size, *, commitment_weight=0.25, cosine=False, mode="fp32",
                 seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.codebooks = nn.ParameterList(
            [nn.Parameter(torch.randn(codebook_size, dim, generator=g) / (l + 1)) for l in range(num_quantizers)])
        self.dim, self.beta, self.cosine, self.mode = dim, commitment_weight, cosine, mode

    def forward(self, z):
        _nonempty("ResidualVQ", "z", z)
        if z.shape[-1] != self.dim:
            raise ValueError(f"ResidualVQ: z must end with dim={self.dim}, got {tuple(z.shape)}")
        q, indices, cb_loss, cm_loss = F.residual_quantize(z.reshape(-1, self.dim), list(self.codebooks),
                                                           mode=self.mode, cosine=self.cosine, beta=self.beta)
        idx = torch.stack([i.long() for i in indices], dim=-1).reshape(*z.shape[:-1], len(indices))
        return q.reshape(z.shape), idx, {"commitment": cm_loss, "codebook": cb_loss, "loss": cm_loss + cb_loss}


class GumbelQuantize(nn.Module):
    """DALL-E style discrete bottleneck: a 1x1 projection of the [B, dim_in, H, W] features to
    num_tokens logits, a Gumbel-softmax sample over the tokens (hard: one-hot forward,
    straight-through backward) and the soft mixture of a [num_tokens, dim] embedding.
    tau: the temperature, or a callable of the call count (a schedule). forward(x) ->
    (z [B, dim, H, W], indices int64 [B, H, W], losses dict 'kl' (mean KL to uniform, in nats))."""

    def __init__(self, dim_in, num_tokens, dim, *, tau=1.0, hard=False, seed=0):
        super().__init__()
        self.proj = nn.Conv2d(dim_in, num_tokens, 1)
        self.embed = nn.Embedding(num_tokens, dim)
        self.tau, self.hard, self.seed, self.offset = tau, hard, seed, 0

    def forward(self, x):
        _nonempty("GumbelQuantize", "x", x)
        logits = self.proj(x).permute(0, 2, 3, 1)  # [B, H, W, K]: lvk samples over the last axis
        tau = self.tau(self.offset) if callable(self.tau) else self.tau
        y, index, kl = F.gumbel_softmax(logits, tau=tau, hard=self.hard and self.training, seed=self.seed,
                                        offset=self.offset)
        self.offset += 1
        z = torch.einsum("bhwk,kd->bdhw", y, self.embed.weight)
        return z, index.long(), {"kl": kl.mean()}


class GaussianLatent(nn.Module):
    """Reparametrized diagonal-Gaussian latent: forward(mu [N, D], logvar [N, D]) -> (z [N, D],
    losses dict 'kl' (mean over rows of KL(q || N(0, I))), log_q [N]). samples=S draws z [S, N, D]."""

    def __init__(self, *, samples=0, seed=0):
        super().__init__()
        self.samples, self.seed, self.offset = samples, seed, 0

    def forward(self, mu, logvar):
        _nonempty("GaussianLatent", "mu", mu)
        z, kl, log_q = F.gaussian_sample(mu, logvar, samples=self.samples, seed=self.seed, offset=self.offset)
        self.offset += 1
        return z, {"kl": kl.mean()}, log_q


class AffineCoupling(nn.Module):
    """RealNVP affine coupling on [N, dim] with a torch MLP conditioner (hidden units) reading the
    masked features: y = m*x + (1-m)*(x*exp(s) + t), s = scale*tanh(s_raw). mask: 'alternating' or
    'half'; flip swaps the halves. forward(x) -> (y, logdet [N]); inverse(y) -> (x, logdet of the
    inverse)."""

    def __init__(self, dim, hidden=64, *, mask="alternating", flip=False, scale=2.0):
        super().__init__()
        self.register_buffer("mask", torch.from_numpy(lvk.coupling_mask(mask, [dim], flip=flip)))
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * dim))
        self.scale = scale

    def _params(self, v):
        s_raw, t = self.net(v * self.mask).chunk(2, dim=-1)
        return s_raw.contiguous(), t.contiguous()

    def forward(self, x):
        _nonempty("AffineCoupling", "x", x)
        s_raw, t = self._params(x)
        return F.coupling(x, self.mask, s_raw, t, scale=self.scale)

    def inverse(self, y):
        _nonempty("AffineCoupling", "y", y)
        s_raw, t = self._params(y)  # the masked half of y equals that of x
        return F.coupling(y, self.mask, s_raw, t, scale=self.scale, inverse=True)


class RealNVPPrior(nn.Module):
    """A learnable prior p(z) on [N, dim]: layers affine couplings with alternating masks over a
    standard normal base. log_prob(z) -> [N]; sample(n) -> [n, dim]."""

    def __init__(self, dim, layers=4, hidden=64, *, scale=2.0):
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(
            [AffineCoupling(dim, hidden, mask="alternating", flip=bool(l % 2), scale=scale) for l in range(layers)])

    def log_prob(self, z):
        total = torch.zeros(z.shape[0], device=z.device)
        for layer in self.layers:
            z, logdet = layer(z)
            total = total + logdet
        return total - 0.5 * (z * z).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)

    @torch.no_grad()
    def sample(self, n, *, generator=None):
        z = torch.randn(n, self.dim, generator=generator)
        for layer in reversed(self.layers):
            z, _ = layer.inverse(z)
        return z
