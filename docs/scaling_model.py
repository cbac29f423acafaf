#!/usr/bin/env python3
"""Predicted data-parallel efficiency of lvk's gradient all-reduce (the tables of docs/scaling.md).

Ring all-reduce of S bytes over N ranks: T = 2 (N - 1) / N * S / beta + 2 (N - 1) * alpha.
The gradients go in k buckets of at most B bytes, each one all-reduce started as soon as its
gradients are final. The backward pass is taken as the last 2/3 of a step, finishing gradients at
an even rate, so bucket i is ready at i/k of it; the buckets then run one after another on one
channel, and what is left after the backward ends is exposed. The other collectives of a step
(figures, codebook statistics) come after the backward and are all exposed.
Efficiency = T_step / (T_step + exposed communication).
Usage: scaling_model.py [--after-backward] MODEL:GRADIENT_BYTES:STEP_SECONDS:COLLECTIVES[:OTHER_BYTES] ...
  --after-backward: every bucket exchanged after the backward pass instead (nothing hidden)
  COLLECTIVES: all of a step's collectives with the gradients in one bucket; OTHER_BYTES: what the
  collectives other than the gradients' move (codebook statistics)
"""
import math
import sys

LINKS = {  # name: (bus bandwidth in bytes/s per GPU that NCCL's ring reaches, latency per ring step)
    "NVLink": (360e9, 3e-6),
    "IB 400G": (45e9, 10e-6),
}
DEFAULT_BUCKET = 25 * 2**20
BUCKETS = [DEFAULT_BUCKET] + [2**20 >> s for s in range(0, 6)]  # 25 MB, then 1 MB down to 32 KB


def ring(nbytes, n, beta, alpha):
    return 0.0 if n == 1 else 2 * (n - 1) / n * nbytes / beta + 2 * (n - 1) * alpha


def exposed_gradients(nbytes, step, n, beta, alpha, bucket, overlap=True):
    k = max(1, math.ceil(nbytes / bucket))
    backward = 2 / 3 * step if overlap else 0.0
    done = 0.0
    for i in range(1, k + 1):
        size = min(bucket, nbytes - (i - 1) * bucket)
        done = max(done, i / k * backward) + ring(size, n, beta, alpha)
    return done - backward


def efficiency(nbytes, step, n, beta, alpha, collectives, other_bytes, bucket, overlap=True):
    others = (collectives - 1) * ring(0, n, beta, alpha) + ring(other_bytes, n, beta, 0.0)
    return step / (step + exposed_gradients(nbytes, step, n, beta, alpha, bucket, overlap) + others)


def main():
    args = sys.argv[1:]
    overlap = "--after-backward" not in args
    args = [a for a in args if a != "--after-backward"]
    print("| model | bytes | collectives | step | link | 8 GPUs | 64 GPUs | 512 GPUs |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for arg in args:
        model, nbytes, step, collectives, *other = arg.split(":")
        nbytes, step, collectives = int(nbytes), float(step), int(collectives)
        other_bytes = int(other[0]) if other else 0
        for link, (beta, alpha) in LINKS.items():
            cells = []
            for n in (8, 64, 512):
                def percent(bucket):
                    return 100 * efficiency(nbytes, step, n, beta, alpha, collectives, other_bytes, bucket, overlap)

                default = percent(DEFAULT_BUCKET)
                best, bucket = max((percent(b), b) for b in BUCKETS)
                cell = f"{default:.1f}%"
                if best - default >= 0.5:  # show a smaller bucket only where it matters
                    cell += f" ({best:.1f}% at {bucket / 2**20:g} MB)"
                cells.append(cell)
            print(f"| {model} | {(nbytes + other_bytes) / 1e6:.2f} MB | {collectives} | {step * 1e3:g} ms | {link} | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
