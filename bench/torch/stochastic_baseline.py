#!/usr/bin/env python3
"""PyTorch baseline for bench/bench_stochastic.cpp: the same shapes, timed the same way.

Gumbel-softmax: F.gumbel_softmax(logits, tau, hard) forward, and the backward of its output
(autograd: softmax backward + the 1/tau scale, plus the straight-through combine when hard).
Gaussian: mu + exp(0.5 * logvar) * randn_like(...) for S samples (z [S, N, D]), forward and the
backward of z. A copy (y.copy_(x)) of N*K floats gives the measured bandwidth floor.

Bytes are the same floor as the C++ benchmark (Gumbel: read logits + write y = 8 B per element;
Gaussian: read mu, logvar + write z), so the GB/s columns compare directly with lvk's.

Usage: python3 bench/torch/stochastic_baseline.py [--device cuda] [--out results.json] [--quick]
Prints one line per case and writes JSON (device, torch version, date, every figure).
"""
import argparse
import datetime
import json
import platform
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the comparison cannot run without PyTorch; say so and fail clearly
    sys.exit("stochastic_baseline.py: PyTorch is not installed (pip install torch)")

TAU = 0.5


def timer(device, fn, repeats, warmup=3):
    """Median seconds per call of fn(); CUDA events on the current stream for CUDA."""
    for _ in range(warmup):
        fn()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        for _ in range(repeats):
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) / 1e3)
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def case(results, name, params, seconds, floor_bytes, elements):
    row = dict(name=name, **params, seconds=seconds, gb_per_s=floor_bytes / seconds / 1e9,
               elements_per_s=elements / seconds)
    results.append(row)
    print(f"{name:34s} {json.dumps(params):60s} {seconds * 1e6:10.1f} us {row['gb_per_s']:8.1f} GB/s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=None, help="JSON output path")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sizes (smoke test)")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("stochastic_baseline.py: --device cuda but torch.cuda.is_available() is False")
    torch.manual_seed(0)

    sizes = [16, 20] if args.quick else ([16, 20, 24, 26] if device.type == "cuda" else [16, 20, 22])
    repeats = 5 if args.quick else 30
    results = []

    with torch.no_grad():
        for lg in sizes:
            n = 1 << lg
            x = torch.rand(n, device=device)
            y = torch.empty_like(x)
            case(results, "copy_floor", dict(log2N=lg), timer(device, lambda: y.copy_(x), repeats), 8 * n, n)
            del x, y

    for lg in sizes:
        for k in (512, 8192):
            n = (1 << lg) // k
            logits = torch.rand(n, k, device=device)
            for hard in (False, True):
                params = dict(log2NK=lg, K=k, hard=int(hard))
                with torch.no_grad():
                    t = timer(device, lambda: F.gumbel_softmax(logits, tau=TAU, hard=hard), repeats)
                case(results, "torch_gumbel_softmax_forward", params, t, 8 * n * k, n * k)
                leaf = logits.clone().requires_grad_(True)
                out = F.gumbel_softmax(leaf, tau=TAU, hard=hard)
                dy = torch.rand_like(out)

                def backward():
                    leaf.grad = None
                    out.backward(dy, retain_graph=True)

                t = timer(device, backward, repeats)
                case(results, "torch_gumbel_softmax_backward", params, t, 12 * n * k, n * k)
                del leaf, out, dy
            del logits

    d = 256
    for lg in sizes:
        for s in (1, 8):
            n = (1 << lg) // (d * s)
            mu = torch.rand(n, d, device=device)
            logvar = torch.rand(n, d, device=device)
            params = dict(log2ND=lg, D=d, S=s)
            floor = (2 * n * d + s * n * d) * 4

            def sample(mu=mu, logvar=logvar, s=s):
                return mu + torch.exp(0.5 * logvar) * torch.randn(s, *mu.shape, device=mu.device)

            with torch.no_grad():
                t = timer(device, sample, repeats)
            case(results, "torch_gaussian_forward", params, t, floor, s * n * d)
            mu_l = mu.clone().requires_grad_(True)
            lv_l = logvar.clone().requires_grad_(True)
            z = sample(mu_l, lv_l)
            dz = torch.rand_like(z)

            def backward():
                mu_l.grad = None
                lv_l.grad = None
                z.backward(dz, retain_graph=True)

            t = timer(device, backward, repeats)
            case(results, "torch_gaussian_backward", params, t, (s * n * d + 4 * n * d) * 4, s * n * d)
            del mu, logvar, mu_l, lv_l, z, dz

    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        driver=None,
        tau=TAU,
        repeats=repeats,
    )
    if device.type == "cuda":
        try:
            import subprocess

            meta["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                            capture_output=True, text=True, check=False).stdout.strip() or None
        except OSError:
            pass
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(meta=meta, results=results), f, indent=1)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
