#!/usr/bin/env python3
"""lvk's fused CPU kernels against PyTorch's eager composition, side by side in one run.

Each round runs the lvk cases (one bench_stochastic and one bench_coupling process, Google
Benchmark JSON) and then the same shapes in PyTorch in this process, so both sides see the same
machine load. Each side's figure for a round is the mean time per call over at least --min-time
seconds of calls (Google Benchmark's real_time on the lvk side); the table keeps the fastest of
the rounds on each side (contention only adds time) and the ratio torch / lvk of those. PyTorch's
fastest single call is reported too ("fastest", and its ratio to lvk's mean): its calls allocate
their outputs, which lvk's kernels (on preallocated buffers) do not, and the spread between its
mean and its fastest call is mostly that.

Cases (tau = 0.5; Gaussian D = 256; coupling scale 2, alternating mask):
  gumbel fwd    F.gumbel_softmax(logits, tau, hard)            vs gumbel_softmax_forward (also its KL)
  gumbel bwd    autograd of the soft sample                     vs gumbel_softmax_backward (no KL term)
  gaussian fwd  mu + exp(lv/2) randn, KL = sum(mu^2+e^lv-1-lv)/2 vs gaussian_sample (z, KL and log q)
  gaussian bwd  autograd of z and KL                            vs gaussian_sample_backward (reads z)
  coupling fwd  s = 2 tanh(s_raw), y = m x + (1-m)(x e^s + t), logdet = sum((1-m) s)
  coupling inv  x = m y + (1-m)(y - t) e^-s, logdet
  coupling bwd  autograd of (y, logdet) for x, s_raw, t         vs coupling_forward_backward

Usage: python3 bench/torch/cpu_kernels_side_by_side.py [--build build] [--rounds 3] [--threads 1]
       [--json out.json]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("cpu_kernels_side_by_side.py: PyTorch is not installed")

TAU = 0.5
SCALE = 2.0


def time_calls(fn, min_time=0.3, warmup=2):
    """(mean, fastest) time of a call of fn() over at least min_time seconds of calls. The mean is
    the statistic Google Benchmark reports for the lvk side (its real_time)."""
    for _ in range(warmup):
        fn()
    calls, spent, best = 0, 0.0, float("inf")
    while spent < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        calls, spent, best = calls + 1, spent + dt, min(best, dt)
    return spent / calls, best


def gumbel_cases(lg):
    out = []
    for k in (512, 8192):
        n = (1 << lg) // k
        logits = torch.rand(n, k)
        for hard in (0, 1):
            def fwd(logits=logits, hard=hard):
                with torch.no_grad():
                    F.gumbel_softmax(logits, tau=TAU, hard=bool(hard))
            out.append((f"BM_gumbel_fused_forward/cuda:0/log2NK:{lg}/K:{k}/hard:{hard}",
                        f"gumbel fwd K={k} {'hard' if hard else 'soft'}", fwd))
        leaf = logits.clone().requires_grad_(True)
        y = F.gumbel_softmax(leaf, tau=TAU)
        dy = torch.rand_like(y)

        def bwd(leaf=leaf, y=y, dy=dy):
            leaf.grad = None
            y.backward(dy, retain_graph=True)
        out.append((f"BM_gumbel_fused_backward/cuda:0/log2NK:{lg}/K:{k}/kl:0", f"gumbel bwd K={k}", bwd))
    return out


def gaussian_cases(lg, d=256):
    out = []
    for s in (1, 8):
        n = (1 << lg) // (d * s)
        mu, lv = torch.rand(n, d), torch.rand(n, d)

        def sample(mu, lv, s=s):
            z = mu + torch.exp(0.5 * lv) * torch.randn(s, *mu.shape)
            kl = 0.5 * (mu * mu + torch.exp(lv) - 1.0 - lv).sum(-1)
            return z, kl

        def fwd(mu=mu, lv=lv, sample=sample):
            with torch.no_grad():
                sample(mu, lv)
        out.append((f"BM_gaussian_fused_forward/cuda:0/log2ND:{lg}/D:{d}/S:{s}", f"gaussian fwd+KL S={s}", fwd))
        mu_l, lv_l = mu.clone().requires_grad_(True), lv.clone().requires_grad_(True)
        z, kl = sample(mu_l, lv_l)
        dz, dkl = torch.rand_like(z), torch.rand_like(kl)

        def bwd(mu_l=mu_l, lv_l=lv_l, z=z, kl=kl, dz=dz, dkl=dkl):
            mu_l.grad = lv_l.grad = None
            torch.autograd.backward([z, kl], [dz, dkl], retain_graph=True)
        out.append((f"BM_gaussian_fused_backward/cuda:0/log2ND:{lg}/D:{d}/S:{s}", f"gaussian bwd S={s}", bwd))
    return out


def coupling_cases(n=4096, dims=(16, 64, 256)):
    out = []
    for d in dims:
        x, s_raw, t = torch.randn(n, d), torch.randn(n, d), torch.randn(n, d)
        m = (torch.arange(d) % 2 == 0).float()

        def forward(x, s_raw, t, m=m):
            s = SCALE * torch.tanh(s_raw)
            return m * x + (1 - m) * (x * torch.exp(s) + t), ((1 - m) * s).sum(1)

        def inverse(y, s_raw, t, m=m):
            s = SCALE * torch.tanh(s_raw)
            return m * y + (1 - m) * (y - t) * torch.exp(-s), -((1 - m) * s).sum(1)

        def fwd(x=x, s_raw=s_raw, t=t, forward=forward):
            with torch.no_grad():
                forward(x, s_raw, t)

        def inv(x=x, s_raw=s_raw, t=t, inverse=inverse):
            with torch.no_grad():
                inverse(x, s_raw, t)
        leaves = [v.clone().requires_grad_(True) for v in (x, s_raw, t)]
        y, ld = forward(*leaves)
        dy, dld = torch.randn_like(y), torch.randn_like(ld)

        def bwd(leaves=leaves, y=y, ld=ld, dy=dy, dld=dld):
            for v in leaves:
                v.grad = None
            torch.autograd.backward([y, ld], [dy, dld], retain_graph=True)
        out.append((f"BM_coupling_forward_fused/0/{n}/{d}", f"coupling fwd D={d}", fwd))
        out.append((f"BM_coupling_inverse_fused/0/{n}/{d}", f"coupling inv D={d}", inv))
        out.append((f"BM_coupling_backward_fused/0/{n}/{d}", f"coupling bwd D={d}", bwd))
    return out


def run_lvk(binary, names, threads, min_time):
    """Seconds per call of each named Google Benchmark case (manual time), one process."""
    pattern = "^(" + "|".join(names) + ")(/manual_time)?$"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([binary, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}",
                        f"--benchmark_out={f.name}", "--benchmark_out_format=json"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.load(open(f.name))
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    return {b["name"].removesuffix("/manual_time"): b["real_time"] * unit[b["time_unit"]] for b in data["benchmarks"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log2", type=int, default=20, help="elements of the Gumbel and Gaussian cases")
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--only", default="", help="substring filter on the case labels")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    groups = {"bench_stochastic": gumbel_cases(args.log2) + gaussian_cases(args.log2),
              "bench_coupling": coupling_cases()}
    for key in groups:
        groups[key] = [c for c in groups[key] if args.only in c[1]]
    lvk, ref, ref_best = {}, {}, {}
    for _ in range(args.rounds):
        for binary, cases in groups.items():
            if not cases:
                continue
            got = run_lvk(os.path.join(args.build, "bench", binary), [c[0] for c in cases], args.threads,
                          args.min_time)
            for name, label, fn in cases:
                if name not in got:
                    sys.exit(f"no lvk result for {name}: check the case name")
                lvk[label] = min(lvk.get(label, float("inf")), got[name])
                mean, best = time_calls(fn, args.min_time)
                ref[label] = min(ref.get(label, float("inf")), mean)
                ref_best[label] = min(ref_best.get(label, float("inf")), best)

    rows = []
    print(f"{'case':28s} {'lvk ms':>9s} {'torch ms':>9s} {'torch/lvk':>9s} {'fastest':>9s} {'ratio':>9s}")
    for binary, cases in groups.items():
        for _, label, _ in cases:
            rows.append(dict(case=label, lvk_s=lvk[label], torch_s=ref[label], ratio=ref[label] / lvk[label],
                             torch_fastest_s=ref_best[label], ratio_fastest=ref_best[label] / lvk[label]))
            print(f"{label:28s} {lvk[label] * 1e3:9.3f} {ref[label] * 1e3:9.3f} {ref[label] / lvk[label]:8.2f}x "
                  f"{ref_best[label] * 1e3:9.3f} {ref_best[label] / lvk[label]:8.2f}x")
    if args.json:
        meta = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(), torch=torch.__version__,
                    threads=args.threads, rounds=args.rounds, log2=args.log2, cpu=platform.processor(),
                    isa=os.environ.get("LVK_CPU_ISA", "native"), load=os.getloadavg())
        json.dump(dict(meta=meta, rows=rows), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
