#!/usr/bin/env python3
"""lvk.torch.VectorQuantize against the pure-PyTorch module (cdist + argmin + gather + EMA,
bench/torch/reference_vq.py), same shapes, same run: time per call (median of --repeats after a
warm-up) and peak extra memory, forward (eval) and forward+backward (training step with the EMA
update). Each (module, shape) runs in a fresh process so its peak RSS is its own; on CUDA the peak
is torch.cuda.max_memory_allocated. Prints a markdown table; --json FILE writes every figure.

  python3 bench/torch/vq_module_bench.py --n 16384 65536 --k 512 1024 4096 --c 64
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(impl, phase, n, k, c, device, repeats, threads):
    import torch
    sys.path.insert(0, HERE)
    torch.set_num_threads(threads)
    from reference_vq import ReferenceVectorQuantize
    import lvk.torch
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, c, generator=g).to(device)
    module = (lvk.torch.VectorQuantize(c, k) if impl == "lvk" else ReferenceVectorQuantize(c, k)).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    module.train(phase != "forward")
    x = z.clone().requires_grad_(phase != "forward")

    def step():
        q, _, losses = module(x)
        if phase != "forward":
            (q.sum() + losses["loss"]).backward()
    # The peak is taken over the first call (warm-up included): RSS only grows, and this process
    # runs one phase of one module, so the growth is what that call needed beyond its inputs.
    sync()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
    step()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated() - base_cuda if device == "cuda"
            else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
    return {"seconds": statistics.median(times), "peak_extra_bytes": max(peak, 0)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1 << 14, 1 << 16])
    p.add_argument("--k", type=int, nargs="+", default=[512, 1024, 4096])
    p.add_argument("--c", type=int, nargs="+", default=[64])
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json")
    p.add_argument("--one", nargs=5, help=argparse.SUPPRESS)  # impl phase n k c, in the child process
    a = p.parse_args()
    if a.one:
        impl, phase, n, k, c = a.one[0], a.one[1], *map(int, a.one[2:])
        print(json.dumps(measure(impl, phase, n, k, c, a.device, a.repeats, a.threads)))
        return
    rows = []
    print("| N | K | C | phase | PyTorch ms | lvk ms | speed-up | PyTorch peak MiB | lvk peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in a.c:
        for n in a.n:
            for k in a.k:
                for phase in ("forward", "forward+backward"):
                    got = {}
                    for impl in ("torch", "lvk"):
                        cmd = [sys.executable, __file__, "--one", impl, phase, str(n), str(k), str(c), "--device",
                               a.device, "--repeats", str(a.repeats), "--threads", str(a.threads)]
                        got[impl] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                    t, l = got["torch"], got["lvk"]
                    rows.append({"n": n, "k": k, "c": c, "phase": phase, "torch": t, "lvk": l})
                    print(f"| {n} | {k} | {c} | {phase} | {t['seconds'] * 1e3:.1f} | {l['seconds'] * 1e3:.1f} | "
                          f"{t['seconds'] / l['seconds']:.2f}x | {t['peak_extra_bytes'] / 2**20:.0f} | "
                          f"{l['peak_extra_bytes'] / 2**20:.0f} |", flush=True)
    if a.json:
        import torch
        meta = {"device": a.device, "cpu": platform.processor() or platform.machine(), "threads": a.threads,
                "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
                "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                         cwd=HERE).stdout.strip()}
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
