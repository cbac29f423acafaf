#!/usr/bin/env python3
"""The fused CPU lookup on every shape of the CPU grid, per ISA and thread count, against the
unfused OpenBLAS sgemm + argmin baseline and PyTorch's cdist + argmin and expanded form, all
interleaved per shape in one run (so every variant sees the same machine load).

For each shape and thread count: `lvk bench quantize --json` natively (AVX-512 where the CPU has
it) and with LVK_CPU_ISA=avx2 OPENBLAS_CORETYPE=Haswell (an AVX2-only CPU: both lvk's kernel and
the OpenBLAS baseline's), then torch.cdist(z, E).argmin(1) and the expanded form
(||z||^2 - 2 z E^T + ||E||^2).argmin(1) at the same thread count. Each lvk process measures the FMA
peak of the ISA it runs (kernels/cpu/peak.cpp) and reports the fraction of it. Rounds repeat the
whole grid; the table keeps each variant's fastest round (contention only adds time).

Usage: python3 bench/torch/vq_cpu_grid.py [--lvk build/tools/lvk] [--rounds 2] [--repeats 3]
       [--threads 1 2] [--jsonl out.jsonl]
"""
import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = [(4096, 512, 64), (4096, 512, 256), (4096, 1024, 64), (4096, 1024, 256), (4096, 8192, 64),
          (4096, 8192, 256), (65536, 512, 64), (65536, 1024, 64)]
ISAS = {"avx512": {}, "avx2": {"LVK_CPU_ISA": "avx2", "OPENBLAS_CORETYPE": "Haswell"}}


def lvk_run(lvk, n, k, c, threads, isa, repeats):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **ISAS[isa])
    out = subprocess.run([lvk, "bench", "quantize", "--n", str(n), "--k", str(k), "--c", str(c), "--device", "cpu",
                          "--repeats", str(repeats), "--json"], env=env, capture_output=True, text=True,
                         check=True).stdout
    d = json.loads(out)
    res = {r["variant"]: r for r in d["results"]}
    return dict(fused_ms=res["fused"]["seconds"] * 1e3, fused_peak=res["fused"]["fma_peak_fraction"],
                unfused_ms=res["unfused"]["seconds"] * 1e3, unfused_peak=res["unfused"]["fma_peak_fraction"],
                peak_gflops=d["fma_peak_tflops"] * 1e3)


def torch_ms(torch, fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lvk", default=os.path.join(root, "build", "tools", "lvk"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--jsonl", default=None)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("vq_cpu_grid.py: PyTorch is not installed")

    def expanded(z, e):
        return (z.pow(2).sum(1, keepdim=True) - 2.0 * (z @ e.t()) + e.pow(2).sum(1)).argmin(1)

    best = {}
    for _ in range(args.rounds):
        for n, k, c in SHAPES:
            gen = torch.Generator().manual_seed(0)
            z, e = torch.rand(n, c, generator=gen), torch.rand(k, c, generator=gen)
            for t in args.threads:
                for isa in ISAS:
                    r = lvk_run(args.lvk, n, k, c, t, isa, args.repeats)
                    key = (n, k, c, t, isa)
                    if key not in best or r["fused_ms"] < best[key]["fused_ms"]:
                        best[key] = dict(best.get(key, {}), **{f: r[f] for f in ("fused_ms", "fused_peak", "peak_gflops")})
                    if "unfused_ms" not in best[key] or r["unfused_ms"] < best[key]["unfused_ms"]:
                        best[key].update(unfused_ms=r["unfused_ms"], unfused_peak=r["unfused_peak"])
                torch.set_num_threads(t)
                with torch.no_grad():
                    for label, fn in (("cdist", lambda: torch.cdist(z, e).argmin(1)), ("expanded", lambda: expanded(z, e))):
                        key = (n, k, c, t, label)
                        best[key] = min(best.get(key, float("inf")), torch_ms(torch, fn, args.repeats))
            print(f"round shape {n} {k} {c} done", file=sys.stderr, flush=True)

    print(f"torch {torch.__version__}, load average {os.getloadavg()}")
    print("| N | K | C | ISA | threads | fused ms | of FMA | unfused ms | of FMA | fused / unfused | "
          "cdist ms | x cdist | expanded ms | x expanded |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n, k, c in SHAPES:
        for t in args.threads:
            for isa in ISAS:
                b = best[(n, k, c, t, isa)]
                cd, ex = best[(n, k, c, t, "cdist")], best[(n, k, c, t, "expanded")]
                row = dict(n=n, k=k, c=c, isa=isa, threads=t, cdist_ms=cd, expanded_ms=ex, **b)
                rows.append(row)
                print(f"| {n} | {k} | {c} | {isa} | {t} | {b['fused_ms']:.1f} | {b['fused_peak']:.0%} | "
                      f"{b['unfused_ms']:.1f} | {b['unfused_peak']:.0%} | {b['unfused_ms'] / b['fused_ms']:.2f}x | "
                      f"{cd:.1f} | {cd / b['fused_ms']:.1f}x | {ex:.1f} | {ex / b['fused_ms']:.1f}x |")
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
