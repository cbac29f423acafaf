#!/usr/bin/env python3
"""PyTorch baselines for the nearest-codebook lookup, timed on the same shapes and device as
`lvk bench quantize`, printing lvk's speed-up over each.

Variants (z [N, C], E [K, C], fp32, indices = argmin_k ||z - e_k||^2):
  cdist     torch.cdist(z, E).argmin(1)                          (eager)
  expanded  (z.pow(2).sum(1, keepdim) - 2 z @ E.T + E.pow(2).sum(1)).argmin(1)   (eager)
  compiled  torch.compile of `expanded`
TF32 is disabled so every variant is an fp32 computation like lvk's `fp32` mode.

By default only the issue's headline shape (N=2^20, K=1024, C=64) and two smaller ones run, so
the script fits the 120 s gpu-check budget; --all runs the issue's full grid. Variants that run
out of memory (the N x K buffer) are reported as such. lvk's numbers come from
`build/tools/lvk bench quantize --json` (path via --lvk); without it only PyTorch is timed.
"""
import argparse
import json
import os
import subprocess
import sys

DEFAULT_SHAPES = [(4096, 512, 64), (65536, 1024, 64), (1048576, 1024, 64)]
ALL_SHAPES = [(n, k, c) for n in (4096, 65536, 1048576) for k in (512, 1024, 8192) for c in (64, 256)]


def expanded(z, e):
    return (z.pow(2).sum(1, keepdim=True) - 2.0 * (z @ e.t()) + e.pow(2).sum(1)).argmin(1)


def time_ms(torch, fn, device, repeats):
    fn()  # warm-up (and compilation for torch.compile)
    if device == "cuda":
        torch.cuda.synchronize()
        times = []
        for _ in range(repeats):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
    else:
        import time
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def lvk_ms(lvk, n, k, c, device, repeats):
    if not lvk or not os.path.exists(lvk):
        return None
    try:
        out = subprocess.run([lvk, "bench", "quantize", "--n", str(n), "--k", str(k), "--c", str(c), "--device",
                              device, "--repeats", str(repeats), "--json", "--skip-unfused"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return json.loads(out)["results"][0]["seconds"] * 1e3
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError) as err:
        print(f"  lvk bench failed: {err}", file=sys.stderr)
        return None


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="the issue's full shape grid")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--lvk", default=os.path.join(root, "build", "tools", "lvk"))
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()

    try:
        import torch
    except ImportError:
        print("vq_baseline.py: PyTorch is not installed; nothing to compare")
        return 0
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    compiled = None if args.no_compile else torch.compile(expanded, dynamic=True)

    print(f"nearest-codebook lookup, fp32, {name}, torch {torch.__version__}, median of {args.repeats}", flush=True)
    print(f"{'N':>8} {'K':>5} {'C':>4} {'lvk ms':>9} {'cdist ms':>9} {'expand ms':>9} {'compile ms':>10} "
          f"{'x cdist':>8} {'x expand':>8} {'x compile':>9}")
    rows = []
    for n, k, c in (ALL_SHAPES if args.all else DEFAULT_SHAPES):
        gen = torch.Generator(device=device).manual_seed(0)
        z = torch.rand(n, c, device=device, generator=gen)
        e = torch.rand(k, c, device=device, generator=gen)
        result = {"n": n, "k": k, "c": c, "device": name}
        variants = [("cdist", lambda: torch.cdist(z, e).argmin(1)), ("expanded", lambda: expanded(z, e))]
        if compiled is not None:
            variants.append(("compiled", lambda: compiled(z, e)))
        for label, fn in variants:
            try:
                with torch.no_grad():
                    result[label] = time_ms(torch, fn, device, args.repeats)
            except (RuntimeError, MemoryError) as err:  # torch.cuda.OutOfMemoryError is a RuntimeError
                result[label] = None
                print(f"  {label} at N={n} K={k} C={c}: {str(err).splitlines()[0]}", file=sys.stderr)
                if device == "cuda":
                    torch.cuda.empty_cache()
        result["lvk"] = lvk_ms(args.lvk, n, k, c, device, args.repeats)
        rows.append(result)

        def fmt(v):
            return f"{v:9.3f}" if v is not None else f"{'oom/na':>9}"

        def ratio(v):
            return f"{v / result['lvk']:7.2f}x" if v is not None and result["lvk"] else f"{'-':>8}"

        print(f"{n:8d} {k:5d} {c:4d} {fmt(result['lvk'])} {fmt(result['cdist'])} {fmt(result['expanded'])} "
              f"{fmt(result.get('compiled')):>10} {ratio(result['cdist'])} {ratio(result['expanded'])} "
              f"{ratio(result.get('compiled')):>9}", flush=True)
        del z, e
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
