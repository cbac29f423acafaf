"""The PyTorch way of vector quantization, as vector-quantize-pytorch does it: the full N x K
distance matrix from torch.cdist, argmin, gather, straight-through, and an EMA codebook with
Laplace smoothing and bias correction (the same update lvk.ema_update makes). The baseline of
bench/torch/vq_module_bench.py and the reference of python/tests/test_torch_modules.py."""
import torch
from torch import nn


class ReferenceVectorQuantize(nn.Module):
    def __init__(self, dim, codebook_size, *, decay=0.99, eps=1e-5, commitment_weight=0.25):
        super().__init__()
        self.decay, self.eps, self.beta, self.steps = decay, eps, commitment_weight, 0
        self.register_buffer("codebook", torch.randn(codebook_size, dim))
        self.register_buffer("ema_count", torch.zeros(codebook_size))
        self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))

    def forward(self, z):
        rows = z.reshape(-1, z.shape[-1])
        idx = torch.cdist(rows.detach(), self.codebook).argmin(1)
        e = self.codebook[idx]
        if self.training:
            self._ema(rows.detach(), idx)
        commitment = self.beta * ((rows - e.detach()) ** 2).mean()
        q = rows + (e - rows).detach()
        return q.reshape(z.shape), idx.reshape(z.shape[:-1]), {"commitment": commitment, "loss": commitment}

    @torch.no_grad()
    def _ema(self, rows, idx):
        k = self.codebook.shape[0]
        counts = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, rows)
        self.ema_count.mul_(self.decay).add_((1 - self.decay) * counts)
        self.ema_sum.mul_(self.decay).add_((1 - self.decay) * sums)
        self.steps += 1
        corr = 1 - self.decay ** self.steps
        n_k = self.ema_count / corr
        n = n_k.sum()
        smoothed = (n_k + self.eps) / (n + k * self.eps) * n
        updated = (self.ema_sum / corr) / smoothed[:, None]
        self.codebook.copy_(torch.where((self.ema_count > 0)[:, None], updated, self.codebook))
