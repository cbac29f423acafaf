#!/usr/bin/env python3
# gpu-check: skip (a CPU comparison, one case per process; tools/gpu-check.sh runs the GPU ones)
"""Every model's CPU train step, lvk (bench_train) against PyTorch eager (train_step_baseline.py, the
same architecture, losses and optimiser), side by side in one run, with each side's peak resident memory.

Each (model, batch, threads) case runs in its own processes, because peak RSS is process-wide: per
round, bench_train filtered to that one case, then the PyTorch script for that case; the rounds of a
case run back to back (lvk, PyTorch, lvk, PyTorch, ...), and a side's figure is the best (or median)
of its rounds. Peak RSS is the child's ru_maxrss (os.wait4), the largest over the rounds. Threads:
OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for both children, and torch.set_num_threads in PyTorch's.
Both children wait passively between OpenMP regions (OMP_WAIT_POLICY=passive, what `lvk train` sets
for itself, tools/main.cpp): with libgomp's default spinning, OpenMP threads and OpenBLAS's pthreads
take each other's cores, and two-thread steps of either side ran 2-8x slower on a shared 2-core machine.
The PyTorch script is given lvk's parameter count and refuses to report a model whose count differs;
such a case is listed as a mismatch, without figures. `--also NAME=PATH` adds another lvk build
(another branch's bench_train) to every round, after lvk and before PyTorch, with its own columns.

Prints a markdown table and writes JSON to bench/results/train_vs_torch_cpu_<commit>_<date>.json.

  cmake --build build --target bench_train
  /usr/bin/python3 bench/torch/train_side_by_side.py                       # 6 models x {32,128} x {1,2}
  /usr/bin/python3 bench/torch/train_side_by_side.py --models vae dvae --batches 32 --threads 1 --rounds 2
  /usr/bin/python3 bench/torch/train_side_by_side.py --also dnnl=../other/build/bench/bench_train   # 2 lvk builds
  python3 bench/torch/train_side_by_side.py --lvk-only --models vae --batches 32 --threads 1 --rounds 1 \\
      --min-time 0.05 --out /tmp/smoke.json                                # the lvk half alone (no PyTorch)
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASELINE = os.path.join(ROOT, "bench", "torch", "train_step_baseline.py")
# bench_train's model argument indexes its kModels in this order; the label it prints is checked.
MODELS = ["vae", "flowvae", "dvae", "vqvae", "vqvae2", "vqprior"]


def run_child(cmd, env):
    """Runs cmd to completion; returns (exit status, stdout, stderr, peak RSS of that child in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss / 1024.0


def thread_env(args, threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    env.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy != "unset":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    return env


def run_lvk(args, bench, model, batch, threads):
    index = MODELS.index(model)
    cmd = [bench, f"--benchmark_filter=^BM_train_step/dev:0/model:{index}/batch:{batch}/graph:0/",
           "--benchmark_format=json", f"--benchmark_min_time={args.min_time}"]
    rc, out, err, rss = run_child(cmd, thread_env(args, threads))
    if rc != 0:
        raise RuntimeError(f"bench_train failed ({rc}) for {model} batch {batch}: {err.strip()[-500:]}")
    runs = json.loads(out)["benchmarks"]
    if len(runs) != 1 or runs[0].get("error_occurred"):
        raise RuntimeError(f"bench_train ran {len(runs)} cases for {model} batch {batch}: {out[-500:]}")
    r = runs[0]
    if r.get("label", "").split(";")[0] != model:
        raise RuntimeError(f"bench_train's model {index} is '{r.get('label')}', not {model}: update MODELS here")
    return {"images_per_s": r["images_per_s"], "parameters": int(r["parameters"]), "peak_rss_mb": rss,
            "peak_rss_mb_counter": r["peak_rss_mb"], "iterations": r["iterations"]}


def run_torch(args, model, batch, threads, params):
    cmd = [args.python, BASELINE, "--model", model, "--batch", str(batch), "--threads", str(threads),
           "--min-time", str(args.min_time), "--expect-params", str(params)]
    rc, out, err, rss = run_child(cmd, thread_env(args, threads))
    if rc == 3:  # the architectures differ: no figure
        return {"mismatch": err.strip()}
    if rc != 0:
        raise RuntimeError(f"train_step_baseline.py failed ({rc}) for {model} batch {batch}: {err.strip()[-800:]}")
    r = json.loads(out.strip().splitlines()[-1])
    r["peak_rss_mb_self"], r["peak_rss_mb"] = r["peak_rss_mb"], rss
    return r


def summary(values, how):
    return max(values) if how == "best" else statistics.median(values)


def other_builds(args):
    """--also NAME=PATH: further lvk builds (another branch's bench_train), timed in the same rounds."""
    builds = []
    for spec in args.also:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            sys.exit(f"train_side_by_side.py: --also wants NAME=PATH, got '{spec}'")
        builds.append((name, path))
    return builds


def check_prerequisites(args):
    for bench in [args.lvk_bench] + [path for _, path in other_builds(args)]:
        if not os.path.isfile(bench) or not os.access(bench, os.X_OK):
            sys.exit(f"train_side_by_side.py: no lvk benchmark at {bench}; build it first "
                     "(cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build --target "
                     "bench_train) or pass --lvk-bench")
    if args.lvk_only:
        return
    probe = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        sys.exit(f"train_side_by_side.py: {args.python} cannot import torch ({probe.stderr.strip()[-300:]}); "
                 "install PyTorch (Debian: apt-get install python3-torch) and pass --python, or use --lvk-only")
    return probe.stdout.strip()


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(cases):
    names = list(cases[0].get("also", {})) if cases else []
    header = ("| model | batch | threads | lvk img/s | PyTorch img/s | lvk / PyTorch | lvk peak RSS MB | "
              "PyTorch peak RSS MB |" + "".join(f" {n} img/s | {n} / PyTorch | {n} peak RSS MB |" for n in names))
    lines = [header, "|---" * (8 + 3 * len(names)) + "|"]
    for c in cases:
        t = c.get("torch")

        def cells(side):
            ratio = f"{side['images_per_s'] / t['images_per_s']:.2f}x" if t else "-"
            return f" {side['images_per_s']:.0f} |", f" {ratio} |", f" {side['peak_rss_mb']:.0f} |"

        speed, ratio, rss = cells(c["lvk"])
        if c.get("mismatch"):
            torch_speed, torch_rss = " parameter counts differ |", " - |"
        elif t:
            torch_speed, torch_rss = f" {t['images_per_s']:.0f} |", f" {t['peak_rss_mb']:.0f} |"
        else:
            torch_speed, torch_rss = " - |", " - |"
        row = f"| {c['model']} | {c['batch']} | {c['threads']} |" + speed + torch_speed + ratio + rss + torch_rss
        for n in names:
            row += "".join(cells(c["also"][n]))
        lines.append(row)
    return "\n".join(lines)


def side_summary(rounds, how):
    return {"images_per_s": summary([r["images_per_s"] for r in rounds], how),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds), "parameters": rounds[0]["parameters"]}


def run_case(args, model, batch, threads):
    """--rounds rounds of: lvk, each --also build, PyTorch (given lvk's parameter count)."""
    also = other_builds(args)
    case = {"model": model, "batch": batch, "threads": threads, "lvk_rounds": [], "torch_rounds": []}
    also_rounds = {name: [] for name, _ in also}
    for _ in range(args.rounds):
        case["lvk_rounds"].append(run_lvk(args, args.lvk_bench, model, batch, threads))
        params = case["lvk_rounds"][0]["parameters"]
        for name, bench in also:
            r = run_lvk(args, bench, model, batch, threads)
            if r["parameters"] != params:
                raise RuntimeError(f"{name}'s {model} has {r['parameters']} parameters, lvk's {params}")
            also_rounds[name].append(r)
        if args.lvk_only or case.get("mismatch"):
            continue
        t = run_torch(args, model, batch, threads, params)
        if "mismatch" in t:
            case["mismatch"] = t["mismatch"]
            print(f"{model}: {t['mismatch']}", file=sys.stderr)
        else:
            case["torch_rounds"].append(t)
    case["lvk"] = side_summary(case["lvk_rounds"], args.stat)
    if case["torch_rounds"]:
        case["torch"] = side_summary(case["torch_rounds"], args.stat)
        case["ratio"] = case["lvk"]["images_per_s"] / case["torch"]["images_per_s"]
    if also:
        case["also"] = {name: dict(side_summary(rounds, args.stat), rounds=rounds)
                        for name, rounds in also_rounds.items()}
    return case


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--batches", nargs="+", type=int, default=[32, 128])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--rounds", type=int, default=3, help="lvk-then-PyTorch rounds per case")
    p.add_argument("--stat", choices=["best", "median"], default="best", help="of the rounds' images/s")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of timed steps per run and side")
    p.add_argument("--omp-wait-policy", choices=["passive", "active", "unset"], default="passive",
                   help="OMP_WAIT_POLICY of both sides (passive: what `lvk train` sets for itself)")
    p.add_argument("--lvk-bench", default=os.path.join(ROOT, "build", "bench", "bench_train"))
    p.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                   help="another lvk build's bench_train (e.g. a branch), timed in the same rounds; repeatable")
    p.add_argument("--python", default="/usr/bin/python3", help="a Python that imports torch (Debian's)")
    p.add_argument("--lvk-only", action="store_true", help="the lvk side alone (no PyTorch needed)")
    p.add_argument("--commit", default=None, help="the lvk commit measured (default: this checkout's HEAD)")
    p.add_argument("--tag", default="", help="added to the JSON name, e.g. the lvk branch measured")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/train_vs_torch_cpu_...json)")
    args = p.parse_args()
    torch_version = check_prerequisites(args)
    commit = args.commit or git_commit()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out_path = args.out or os.path.join(
        ROOT, "bench", "results", f"train_vs_torch_cpu_{commit}{'_' + args.tag if args.tag else ''}_{date}.json")
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    cases = []
    for model in args.models:
        for batch in args.batches:
            for threads in args.threads:
                cases.append(run_case(args, model, batch, threads))
                print(table([cases[-1]]).splitlines()[-1], flush=True)
    result = {"what": "every model's CPU train step: lvk bench_train against PyTorch eager train_step_baseline.py",
              "commit": commit, "tag": args.tag, "started": started,
              "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "cpu": cpu_name(), "cores": os.cpu_count(), "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "torch": torch_version, "stat": args.stat,
              "rounds": args.rounds, "min_time_s": args.min_time,
              "omp_wait_policy": args.omp_wait_policy,
              "also": dict(other_builds(args)), "command": " ".join(sys.argv), "cases": cases}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{args.stat} of {args.rounds} round(s), commit {commit}, {cpu_name()}, load average "
          f"{load_before[0]:.1f} -> {result['load_average_after'][0]:.1f}\n")
    print(table(cases))
    print(f"\nJSON: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
