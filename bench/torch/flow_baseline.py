#!/usr/bin/env python3
"""PyTorch eager RealNVP log_prob with the architecture of bench/bench_flow.cpp (ActNorm, affine
coupling with s = 2 tanh(s_raw), conditioner MLP on the masked input: Linear(D, 256) ReLU,
Linear(256, 256) ReLU, zero-initialised heads for s_raw and t; alternating masks), at batch 4096.

Prints one JSON line per case with vectors/s, and the ratio to lvk when the lvk benchmark JSON is
found (LVK_BENCH_DIR/bench_flow.json, as tools/gpu-check.sh leaves it)."""
import json
import math
import os
import sys

import torch

HIDDEN = 256


class Coupling(torch.nn.Module):
    def __init__(self, d, parity, hidden=HIDDEN):
        super().__init__()
        mask = torch.tensor([(j % 2 == 0) != parity for j in range(d)], dtype=torch.float32)
        self.register_buffer("mask", mask)
        self.log_scale = torch.nn.Parameter(torch.zeros(d))
        self.bias = torch.nn.Parameter(torch.zeros(d))
        self.trunk = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(),
                                         torch.nn.Linear(hidden, hidden), torch.nn.ReLU())
        self.s_head = torch.nn.Linear(hidden, d)
        self.t_head = torch.nn.Linear(hidden, d)

    def forward(self, x):
        x = x * torch.exp(self.log_scale) + self.bias
        h = self.trunk(x * self.mask)
        s = 2.0 * torch.tanh(self.s_head(h))
        t = self.t_head(h)
        y = self.mask * x + (1 - self.mask) * (x * torch.exp(s) + t)
        return y, ((1 - self.mask) * s).sum(1) + self.log_scale.sum()


class Flow(torch.nn.Module):
    def __init__(self, d, layers, hidden=HIDDEN):
        super().__init__()
        self.layers = torch.nn.ModuleList(Coupling(d, l % 2 == 1, hidden) for l in range(layers))

    def log_prob(self, z):
        log_det = torch.zeros(z.shape[0], device=z.device)
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
        return -0.5 * (z * z).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det


def time_ms(fn, device, repeats=50):
    for _ in range(5):
        fn()
    if device == "cuda":
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(repeats):
            fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / repeats
    import time
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) * 1e3 / repeats


def lvk_figures():
    path = os.path.join(os.environ.get("LVK_BENCH_DIR", ""), "bench_flow.json")
    if not os.path.exists(path):
        return {}
    out = {}
    for b in json.load(open(path)).get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        out[b["name"].replace("/manual_time", "")] = b.get("items_per_second")
    return out


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    which = 1 if device == "cuda" else 0
    lvk = lvk_figures()
    n = 4096
    for d in (16, 64, 256):
        for layers in (4, 8):
            torch.manual_seed(0)
            flow = Flow(d, layers).to(device)
            z = torch.randn(n, d, device=device)
            with torch.no_grad():
                ms = time_ms(lambda: flow.log_prob(z), device)

            def fwd_bwd():
                flow.zero_grad(set_to_none=True)
                flow.log_prob(z).mean().backward()

            ms_bwd = time_ms(fwd_bwd, device)
            row = {"case": f"flow_log_prob d={d} layers={layers}", "device": device, "batch": n,
                   "torch_eager_vectors_per_s": n / ms * 1e3, "torch_eager_fwd_bwd_vectors_per_s": n / ms_bwd * 1e3}
            ours = lvk.get(f"BM_flow_log_prob/{which}/{n}/{d}/{layers}")
            ours_bwd = lvk.get(f"BM_flow_log_prob_backward/{which}/{n}/{d}/{layers}")
            if ours:
                row["lvk_vectors_per_s"] = ours
                row["lvk_over_torch"] = ours / row["torch_eager_vectors_per_s"]
            if ours_bwd:
                row["lvk_fwd_bwd_over_torch"] = ours_bwd / row["torch_eager_fwd_bwd_vectors_per_s"]
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
