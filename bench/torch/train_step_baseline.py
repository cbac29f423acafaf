#!/usr/bin/env python3
# gpu-check: skip (a CPU comparison, one case per process; tools/gpu-check.sh runs the GPU ones)
"""One CPU train step of each model of `lvk train` in PyTorch eager, with the architecture, loss terms
and optimiser of bench/bench_train.cpp (the models at their default sizes on 28x28x1 images):

  vae      MLP VAE: enc Linear(784, 256) ReLU Linear(256, 256) ReLU, heads mu, logvar Linear(256, 16);
           dec Linear(16, 256) ReLU Linear(256, 256) ReLU Linear(256, 784); Bernoulli decoder;
           loss = BCE-with-logits summed over pixels + KL(q || N(0, I)), both averaged over images
  flowvae  the vae with a RealNVP prior (4 layers of ActNorm + affine coupling, conditioner
           Linear(16, 64) ReLU Linear(64, 64) ReLU, heads s, t; s = 2 tanh(s_raw); alternating masks):
           KL = mean(log q(z|x) - log p(z)) on one sample
  dvae     Conv 4x4/2 ReLU Conv 4x4/2, ResBlock x2, ReLU, Conv 1x1 to K = 512 logits; soft
           Gumbel-softmax (tau cosine-annealed 1 -> 1/16 over 5000 steps) mixing a codebook [512, 64];
           Conv 1x1, ResBlock x2, ReLU, ConvT 4x4/2 ReLU ConvT 4x4/2; loss = BCE + w * sum_p (log K - H(q_p))
           (w warms up 0 -> 1 over 500 steps); perplexity of the sampled codes
  vqvae    bench/torch/vqvae_baseline.py's VqVae with an EMA codebook (decay 0.99) and dead-code
           restarts every 10 steps (lvk's default), perplexity of the codes
  vqvae2   two levels: bottom h_b = enc (as vqvae) to 7x7; top Conv 3x3/2 ResBlock ReLU Conv 1x1 (4x4),
           quantised; its decoder Conv 3x3 ResBlock ReLU ConvT 3x3/2; bottom latents
           Conv 1x1(cat(h_b, d_t)), quantised; decoder Conv 3x3(cat(q_b, ConvT 3x3/2(q_t))) ResBlock x2
           ReLU ConvT 4x4/2 ReLU ConvT 4x4/2; loss = MSE + both commitments; EMA codebooks, restarts
  vqprior  PixelCNN over the codes of a frozen, freshly initialised vqvae (each step encodes the
           batch, as `lvk train vqprior` does): one-hot, masked conv A 5x5 to 64, 4 blocks
           h + maskedB3x3(ReLU(h)), ReLU, Conv 1x1 to 512 logits; loss = cross-entropy summed over
           positions, averaged over images
ResBlock: x + Conv1x1(ReLU(Conv3x3(ReLU(x)))), hidden channels 32. Adam lr 1e-3, betas (0.9, 0.999),
eps 1e-8, global gradient-norm clipping at 1. The batch is one fixed U(0, 1) batch, as in bench_train.

One case per run (peak memory is process-wide): prints one JSON line with images/s over the steps
after --warmup, the model's trained parameter count and the process's peak resident memory.
With --expect-params N it refuses (exit 3) when its count differs from N (lvk's, from bench_train).

  /usr/bin/python3 bench/torch/train_step_baseline.py --model dvae --batch 32 --threads 1
"""
import argparse
import json
import math
import os
import resource
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"train_step_baseline.py: PyTorch is not importable ({e}); install python3-torch and run it with "
             "/usr/bin/python3")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_baseline import Flow  # noqa: E402
from vqvae_baseline import CHANNELS, CODE_DIM, CODES, Quantizer, ResBlock, VqVae  # noqa: E402

MODELS = ["vae", "flowvae", "dvae", "vqvae", "vqvae2", "vqprior"]
SIDE, PIXELS = 28, 28 * 28
LATENT, HIDDEN = 16, 256                      # vae / flowvae (VaeOptions)
FLOW_LAYERS, FLOW_HIDDEN = 4, 64
TAU_MAX, TAU_MIN, ANNEAL, KL_WARMUP = 1.0, 1.0 / 16.0, 5000, 500  # dvae (DvaeOptions)
RESTART_EVERY = 10                            # VqBottleneckOptions
PRIOR_HIDDEN, PRIOR_LAYERS, PRIOR_KERNEL = 64, 4, 5  # VqPriorOptions


def perplexity(counts):
    p = counts / counts.sum()
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()), (counts > 0).float().mean()


class Vae(nn.Module):
    def __init__(self, flow_prior):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(PIXELS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU())
        self.mu, self.logvar = nn.Linear(HIDDEN, LATENT), nn.Linear(HIDDEN, LATENT)
        self.dec = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, PIXELS))
        self.prior = Flow(LATENT, FLOW_LAYERS, FLOW_HIDDEN) if flow_prior else None

    def loss(self, x, step):
        b = x.shape[0]
        h = self.enc(x.view(b, PIXELS))
        mu, logvar = self.mu(h), self.logvar(h)
        eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x.view(b, PIXELS), reduction="sum") / b
        if self.prior is None:
            kl = (0.5 * (torch.exp(logvar) + mu * mu - 1.0 - logvar).sum(1)).mean()
        else:
            log_q = (-0.5 * (eps * eps + logvar + math.log(2 * math.pi))).sum(1)
            kl = (log_q - self.prior.log_prob(z)).mean()
        return recon + kl


class Dvae(nn.Module):
    def __init__(self):
        super().__init__()
        c = CHANNELS
        self.enc = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, c, 4, 2, 1), ResBlock(c),
                                 ResBlock(c), nn.ReLU(), nn.Conv2d(c, CODES, 1))
        self.codebook = nn.Parameter(torch.randn(CODES, CODE_DIM))
        self.dec = nn.Sequential(nn.Conv2d(CODE_DIM, c, 1), ResBlock(c), ResBlock(c), nn.ReLU(),
                                 nn.ConvTranspose2d(c, c, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c, 1, 4, 2, 1))

    def loss(self, x, step):
        f = min(step, ANNEAL) / ANNEAL
        tau = TAU_MIN + (TAU_MAX - TAU_MIN) * 0.5 * (1.0 + math.cos(math.pi * f))
        w = min(step, KL_WARMUP) / KL_WARMUP
        logits = self.enc(x)                                   # [B, K, H', W']
        b, k, h, wd = logits.shape
        rows = logits.permute(0, 2, 3, 1).reshape(-1, k)
        y = F.gumbel_softmax(rows, tau=tau, hard=False)
        log_q = F.log_softmax(rows, 1)
        kl = (math.log(k) + (log_q.exp() * log_q).sum(1)).sum() / b
        z = (y @ self.codebook).view(b, h, wd, CODE_DIM).permute(0, 3, 1, 2)
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="sum") / b
        with torch.no_grad():
            perplexity(torch.bincount(y.argmax(1), minlength=k).float())
        return recon + w * kl


class EmaVq:
    """What lvk's EMA bottleneck does after the optimiser step: the EMA update, and every tenth step
    the dead-code restarts; plus the batch's code perplexity (its stats)."""

    @staticmethod
    def after_step(vq, rows, idx, step):
        counts = vq.ema_update(rows, idx)
        perplexity(counts)
        if (step + 1) % RESTART_EVERY == 0:
            vq.restart_dead_codes(rows)


class VqVaeEma(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = VqVae(ema=True)

    def loss(self, x, step):
        loss, _, rows, idx = self.model(x)
        self.pending = [(self.model.vq, rows, idx)]
        return loss


class VqVae2(nn.Module):
    def __init__(self):
        super().__init__()
        c, d = CHANNELS, CODE_DIM
        self.enc = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, c, 4, 2, 1), ResBlock(c),
                                 ResBlock(c), nn.ReLU())
        self.top = nn.Sequential(nn.Conv2d(c, c, 3, 2, 1), ResBlock(c), nn.ReLU(), nn.Conv2d(c, d, 1))
        self.vq_top = Quantizer(CODES, d, ema=True)
        # 7x7 -> 4x4 -> 7x7 (output_padding 0 on an odd side, as lvk's up_to())
        self.top_dec = nn.Sequential(nn.Conv2d(d, c, 3, 1, 1), ResBlock(c), nn.ReLU(),
                                     nn.ConvTranspose2d(c, c, 3, 2, 1, output_padding=0))
        self.bottom = nn.Conv2d(2 * c, d, 1)
        self.vq_bottom = Quantizer(CODES, d, ema=True)
        self.top_up = nn.ConvTranspose2d(d, d, 3, 2, 1, output_padding=0)
        self.dec = nn.Sequential(nn.Conv2d(2 * d, c, 3, 1, 1), ResBlock(c), ResBlock(c), nn.ReLU(),
                                 nn.ConvTranspose2d(c, c, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c, 1, 4, 2, 1))

    def loss(self, x, step):
        h_b = self.enc(x)
        q_t, _, commit_t, rows_t, idx_t = self.vq_top(self.top(h_b))
        z_b = self.bottom(torch.cat([h_b, self.top_dec(q_t)], 1))
        q_b, _, commit_b, rows_b, idx_b = self.vq_bottom(z_b)
        out = self.dec(torch.cat([q_b, self.top_up(q_t)], 1))
        self.pending = [(self.vq_top, rows_t, idx_t), (self.vq_bottom, rows_b, idx_b)]
        return F.mse_loss(out, x) + commit_t + commit_b


class MaskedConv2d(nn.Conv2d):
    def __init__(self, cin, cout, k, kind):
        super().__init__(cin, cout, k, 1, k // 2)
        mask = torch.zeros(k, k)
        mask[:k // 2] = 1
        mask[k // 2, :k // 2 + (1 if kind == "B" else 0)] = 1
        self.register_buffer("mask", mask.expand(cout, cin, k, k).contiguous())

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, 1, self.padding)


class VqPrior(nn.Module):
    def __init__(self):
        super().__init__()
        self.vqvae = VqVae(ema=True).requires_grad_(False)  # frozen: buffers of the prior, as in lvk
        self.inp = MaskedConv2d(CODES, PRIOR_HIDDEN, PRIOR_KERNEL, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(PRIOR_HIDDEN, PRIOR_HIDDEN, 3, "B") for _ in range(PRIOR_LAYERS))
        self.out = nn.Conv2d(PRIOR_HIDDEN, CODES, 1)

    def loss(self, x, step):
        with torch.no_grad():
            z = self.vqvae.enc(x)
            codes = self.vqvae.vq(z)[4].view(x.shape[0], z.shape[2], z.shape[3])
            onehot = F.one_hot(codes, CODES).permute(0, 3, 1, 2).float()
        h = self.inp(onehot)
        for block in self.blocks:
            h = h + block(F.relu(h))
        logits = self.out(F.relu(h))
        return F.cross_entropy(logits, codes, reduction="sum") / x.shape[0]


def make_model(name):
    return {"vae": lambda: Vae(False), "flowvae": lambda: Vae(True), "dvae": Dvae, "vqvae": VqVaeEma,
            "vqvae2": VqVae2, "vqprior": VqPrior}[name]()


def parameter_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=5, help="untimed first steps (bench_train takes 5 too)")
    p.add_argument("--min-time", type=float, default=2.0, help="seconds of timed steps at least")
    p.add_argument("--min-steps", type=int, default=3)
    p.add_argument("--expect-params", type=int, default=None, help="refuse to report unless the count is this")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = make_model(args.model)
    params = parameter_count(model)
    if args.expect_params is not None and params != args.expect_params:
        print(f"train_step_baseline.py: {args.model} has {params} parameters in PyTorch but {args.expect_params} in "
              "lvk; the architectures differ, so no figure is reported", file=sys.stderr)
        return 3
    trained = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.Adam(trained, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    x = torch.rand(args.batch, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(2))

    def step(s):
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x, s)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        for vq, rows, idx in getattr(model, "pending", []):
            EmaVq.after_step(vq, rows, idx, s)
        return loss

    s = 0
    for _ in range(args.warmup):
        step(s)
        s += 1
    timed, t0 = 0, time.perf_counter()
    while timed < args.min_steps or time.perf_counter() - t0 < args.min_time:
        loss = step(s)
        s += 1
        timed += 1
    seconds = time.perf_counter() - t0
    print(json.dumps({"impl": "torch", "model": args.model, "batch": args.batch, "threads": args.threads,
                      "images_per_s": timed * args.batch / seconds, "timed_steps": timed, "parameters": params,
                      "loss": float(loss), "peak_rss_mb": peak_rss_mb(), "torch": torch.__version__}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
