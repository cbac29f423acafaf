#!/usr/bin/env python3
"""PyTorch VQ-VAE training throughput with the architecture of bench/bench_vqvae.cpp and
`lvk train vqvae` (models/vqvae.cpp), to compare the two on the same device.

Architecture (channels 64, K = 512 codes of C = 64, 1-channel images, side divisible by 4):
  encoder  Conv 4x4/2 -> ReLU -> Conv 4x4/2 -> ResBlock x2 -> ReLU -> Conv 1x1 to C
  VQ       nearest code (ties to the lowest index), straight-through, codebook U(-1/K, 1/K)
  decoder  Conv 3x3 -> ResBlock x2 -> ReLU -> ConvT 4x4/2 -> ReLU -> ConvT 4x4/2 to 1 channel
  ResBlock x + Conv1x1(ReLU(Conv3x3(ReLU(x)))), hidden channels 32, the 3x3 weight He-uniform
Other weights and biases: PyTorch's defaults, which lvk's torch_default init reproduces.
Loss: mse(x_hat, x) + mean (sg(z) - e)^2 + 0.25 * mean (z - sg(e))^2 (codebook "loss"), or with an
EMA codebook (decay 0.99, eps 1e-5, bias-corrected as in runtime/ops/vq_learn.h) the codebook term
is dropped from the loss. Optimiser: Adam lr 2e-4, betas (0.9, 0.999), eps 1e-8, global grad-norm
clipping at 1.0 (AdamOptions of bench_vqvae.cpp).

Modes: eager and torch.compile (default mode). For each (mode, batch, side) it trains one model from
seed 0 for --steps steps and prints one JSON line with images/s over the steps after --warmup (CUDA
events on a GPU, wall clock on the CPU) and the loss/MSE after the last step. The data is a fixed batch of U(0, 1) pixels (what the lvk
benchmark feeds), or with --npy FILE images [N, 1, H, W] (float in [0, 1] or uint8) cycled in order.

  python3 bench/torch/vqvae_baseline.py --device cuda              # batch 128, 512; sides 28, 32
  python3 bench/torch/vqvae_baseline.py --device cpu --batch 32 --side 28 --modes eager --steps 20 --warmup 3
(the lvk side: bench_vqvae, BM_vqvae_train_step for images/s, BM_vqvae_loss_after_steps for the
loss and MSE after the same number of steps: 20 at batch 32 on the CPU, 200 on the GPU)
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS, CODES, CODE_DIM = 64, 512, 64


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, max(1, c // 2), 3, 1, 1)
        self.conv2 = nn.Conv2d(max(1, c // 2), c, 1)
        # lvk's ResidualBlock initialises the 3x3 conv He-uniform (U(+-sqrt(6 / fan_in))), the rest as
        # PyTorch does by default.
        nn.init.kaiming_uniform_(self.conv1.weight, a=0.0, nonlinearity="relu")

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Quantizer(nn.Module):
    """The nearest-code lookup with the straight-through estimator, its codebook trained by its loss or
    by bias-corrected EMAs, and lvk's dead-code restarts (models/vq_bottleneck.cpp)."""

    def __init__(self, codes=CODES, dim=CODE_DIM, ema=False, decay=0.99, eps=1e-5):
        super().__init__()
        book = torch.empty(codes, dim).uniform_(-1.0 / codes, 1.0 / codes)
        self.codes, self.ema, self.decay, self.eps = codes, ema, decay, eps
        if ema:
            self.register_buffer("codebook", book)
            self.register_buffer("ema_count", torch.zeros(codes))
            self.register_buffer("ema_sum", torch.zeros(codes, dim))
            self.register_buffer("ema_steps", torch.zeros((), dtype=torch.float64))
        else:
            self.codebook = nn.Parameter(book)

    def forward(self, z):
        b, c, h, w = z.shape
        rows = z.permute(0, 2, 3, 1).reshape(-1, c)
        e = self.codebook
        # ||e||^2 - 2 z.e: the ||z||^2 term does not change the argmin.
        d = (e * e).sum(1)[None, :] - 2.0 * rows @ e.t()
        idx = d.argmin(1)
        zq_rows = e[idx]
        zq = zq_rows.view(b, h, w, c).permute(0, 3, 1, 2)
        codebook_loss = F.mse_loss(zq, z.detach())
        commitment = 0.25 * F.mse_loss(z, zq.detach())
        return z + (zq - z).detach(), codebook_loss, commitment, rows.detach(), idx

    @torch.no_grad()
    def ema_update(self, rows, idx):
        counts = torch.bincount(idx, minlength=self.codes).to(rows.dtype)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, rows)
        g = self.decay
        self.ema_steps += 1
        self.ema_count.mul_(g).add_(counts, alpha=1 - g)
        self.ema_sum.mul_(g).add_(sums, alpha=1 - g)
        # 1 - g^t on the device (no host read): the EMAs start at zero.
        corr = (1.0 - torch.pow(torch.full_like(self.ema_steps, g), self.ema_steps)).float()
        n_k = self.ema_count / corr
        n = n_k.sum()
        smoothed = (n_k + self.eps) / (n + self.codes * self.eps) * n
        updated = (self.ema_sum / corr) / smoothed[:, None]
        self.codebook.copy_(torch.where((self.ema_count > 0)[:, None], updated, self.codebook))
        return counts

    @torch.no_grad()
    def restart_dead_codes(self, rows, threshold=1.0):
        """Codes whose bias-corrected EMA count is below `threshold` restart at random batch rows, as one
        observation each (ema_sum = the row, ema_count = 1), without a host read."""
        corr = (1.0 - torch.pow(torch.full_like(self.ema_steps, self.decay), self.ema_steps)).float()
        dead = (self.ema_count < threshold * corr)[:, None]
        picked = rows[torch.randint(rows.shape[0], (self.codes,), device=rows.device)]
        self.codebook.copy_(torch.where(dead, picked, self.codebook))
        self.ema_sum.copy_(torch.where(dead, picked, self.ema_sum))
        self.ema_count.copy_(torch.where(dead[:, 0], torch.ones_like(self.ema_count), self.ema_count))


class VqVae(nn.Module):
    def __init__(self, image_channels=1, ema=False, decay=0.99, eps=1e-5):
        super().__init__()
        c = CHANNELS
        self.enc = nn.Sequential(nn.Conv2d(image_channels, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, c, 4, 2, 1),
                                 ResBlock(c), ResBlock(c), nn.ReLU(), nn.Conv2d(c, CODE_DIM, 1))
        self.dec = nn.Sequential(nn.Conv2d(CODE_DIM, c, 3, 1, 1), ResBlock(c), ResBlock(c), nn.ReLU(),
                                 nn.ConvTranspose2d(c, c, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(c, image_channels, 4, 2, 1))
        self.vq = Quantizer(CODES, CODE_DIM, ema, decay, eps)
        self.ema = ema

    def forward(self, x):
        z = self.enc(x)
        zq, cb, commit, rows, idx = self.vq(z)
        mse = F.mse_loss(self.dec(zq), x)
        loss = mse + commit if self.ema else mse + cb + commit
        return loss, mse, rows, idx

    def ema_update(self, rows, idx):
        return self.vq.ema_update(rows, idx)


def make_step(model, opt, compiled):
    def step(x):
        opt.zero_grad(set_to_none=False)
        loss, mse, rows, idx = model(x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach(), mse.detach(), rows, idx

    fn = torch.compile(step) if compiled else step

    def run(x):
        loss, mse, rows, idx = fn(x)
        if model.ema:
            model.ema_update(rows, idx)
        return loss, mse

    return run


def batches(args, batch, side, device):
    g = torch.Generator().manual_seed(0)
    if args.npy:
        import numpy as np
        data = np.load(args.npy)
        data = torch.from_numpy(data.astype("float32") / (255.0 if data.dtype == np.uint8 else 1.0))
        if data.dim() == 3:
            data = data[:, None]
        assert data.shape[-1] == side, f"--npy images are {tuple(data.shape)}, the case wants side {side}"
        i = 0
        while True:
            if i + batch > data.shape[0]:
                i = 0
            yield data[i:i + batch].to(device)
            i += batch
    x = torch.rand(batch, 1, side, side, generator=g).to(device)
    while True:
        yield x


def run_case(args, mode, batch, side):
    """One model from seed 0 trained for --steps steps; the steps after the first --warmup are timed
    (so torch.compile's compilation stays out of the figure), and the loss of the last step is the
    quality figure. One model per case keeps torch.compile to one compilation per shape."""
    device = args.device
    assert args.steps > args.warmup, "--steps must exceed --warmup"
    torch.manual_seed(0)
    model = VqVae(ema=args.codebook == "ema").to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8)
    step = make_step(model, opt, mode == "compile")
    data = batches(args, batch, side, device)
    for _ in range(args.warmup):
        step(next(data))
    timed = args.steps - args.warmup
    if device == "cuda":
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(timed):
            loss, mse = step(next(data))
        stop.record()
        torch.cuda.synchronize()
        seconds = start.elapsed_time(stop) / 1e3
    else:
        t0 = time.perf_counter()
        for _ in range(timed):
            loss, mse = step(next(data))
        seconds = time.perf_counter() - t0
    return {"impl": "torch", "mode": mode, "device": device, "batch": batch, "side": side,
            "codebook": args.codebook, "images_per_s": timed * batch / seconds, "timed_steps": timed,
            "steps": args.steps, "loss_after_steps": float(loss), "mse_after_steps": float(mse),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name() if device == "cuda" else None}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, nargs="+", default=None)
    p.add_argument("--side", type=int, nargs="+", default=[28, 32])
    p.add_argument("--modes", nargs="+", default=["eager", "compile"], choices=["eager", "compile"])
    p.add_argument("--codebook", default="loss", choices=["loss", "ema"])
    p.add_argument("--warmup", type=int, default=10, help="untimed first steps (compilation, cuDNN plans)")
    p.add_argument("--steps", type=int, default=200, help="training steps in all; the loss after the last is reported")
    p.add_argument("--npy", default=None, help="images [N, 1, H, W] to train on instead of U(0, 1) noise")
    args = p.parse_args()
    batches_ = args.batch or ([128, 512] if args.device == "cuda" else [32])
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    for mode in args.modes:
        for side in args.side:
            for batch in batches_:
                try:
                    print(json.dumps(run_case(args, mode, batch, side)), flush=True)
                except Exception as e:  # torch.compile may be unavailable (no compiler): say so, go on
                    print(json.dumps({"impl": "torch", "mode": mode, "batch": batch, "side": side,
                                      "error": f"{type(e).__name__}: {e}"}), flush=True)
                    if mode == "eager":
                        raise


if __name__ == "__main__":
    sys.exit(main())
