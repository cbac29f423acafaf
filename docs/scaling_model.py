#!/usr/bin/env python3
"""Predicted data-parallel efficiency of lvk's gradient all-reduce (the tables of docs/scaling.md).

Ring all-reduce of S bytes over N ranks: T = 2 (N - 1) / N * S / beta + 2 (N - 1) * alpha, and a
step with c collectives (gradient buckets, figures, codebook statistics) pays the latency term c times.
Efficiency = T_step / (T_step + exposed communication), where the exposed part is
  no overlap (what lvk does today: all-reduce after the backward pass): T
  overlap (buckets launched during the backward, which is ~2/3 of a step): max(T - 2/3 T_step, T_last)
with T_last the all-reduce time of the last 25 MB bucket, which can never be hidden.
Usage: scaling_model.py MODEL:BYTES:STEP_SECONDS:COLLECTIVES ...
"""
import sys

LINKS = {  # name: (bus bandwidth in bytes/s per GPU that NCCL's ring reaches, latency per ring step)
    "NVLink": (360e9, 3e-6),
    "IB 400G": (45e9, 10e-6),
}
BUCKET = 25 * 2**20


def ring(nbytes, n, beta, alpha):
    return 0.0 if n == 1 else 2 * (n - 1) / n * nbytes / beta + 2 * (n - 1) * alpha


def efficiency(nbytes, step, n, beta, alpha, collectives, overlap):
    extra = (collectives - 1) * ring(0, n, beta, alpha)  # the small collectives: latency only
    t = ring(nbytes, n, beta, alpha)
    exposed = max(t - 2 / 3 * step, ring(min(nbytes, BUCKET), n, beta, alpha)) if overlap else t
    return step / (step + exposed + extra)


def main():
    print("| model | bytes | collectives | step | link | 8 GPUs | 64 GPUs | 512 GPUs |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for arg in sys.argv[1:]:
        model, nbytes, step, collectives = arg.split(":")
        nbytes, step, collectives = int(nbytes), float(step), int(collectives)
        for link, (beta, alpha) in LINKS.items():
            cells = []
            for n in (8, 64, 512):
                plain, hidden = (100 * efficiency(nbytes, step, n, beta, alpha, collectives, o) for o in (False, True))
                cells.append(f"{plain:.1f}%" if abs(plain - hidden) < 0.05 else f"{plain:.1f}% / {hidden:.1f}%")
            print(f"| {model} | {nbytes / 1e6:.2f} MB | {collectives} | {step * 1e3:g} ms | {link} | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
