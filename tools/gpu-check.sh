#!/usr/bin/env bash
# tools/gpu-check.sh OUTDIR: prove the CUDA half of lvk on a machine with an NVIDIA Hopper GPU.
# Uses binaries from build-gpu/ when they were built elsewhere and carried (tools/gpu-prepare.sh),
# else builds for sm_90 here. Then: the whole test suite with CUDA required (no skips), compute-
# sanitizer memcheck and racecheck over the CUDA tests (LVK_SYNC_ALLOC=1), the benchmarks, the
# PyTorch comparisons, a short `lvk train vqvae` with and without the CUDA Graph, and the same run
# data-parallel through NCCL (a world of one GPU; two ranks when there are two GPUs and mpirun). Full logs and JSON go to OUTDIR (at most 8 files); a short table is last.
set -uo pipefail
OUT="${1:?usage: tools/gpu-check.sh OUTDIR}"
mkdir -p "$OUT"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
T0=$(date +%s)
ROWS=()
row() { ROWS+=("$(printf '%-22s %-5s %s' "$1" "$2" "$3")"); }
elapsed() { echo "$(( $(date +%s) - T0 ))s"; }

# 1. What this machine has.
{
  echo "== date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nvcc --version 2>&1 | tail -1; cmake --version 2>&1 | head -1; ninja --version 2>&1
  command -v compute-sanitizer ncu python3 2>&1
  for h in gtest/gtest.h benchmark/benchmark.h cblas.h png.h CLI/CLI.hpp nlohmann/json.hpp cudnn.h; do
    found=$(find /usr/include /usr/local/include /usr/local/cuda/include -name "$(basename $h)" -path "*$h" 2>/dev/null | head -1)
    echo "header $h: ${found:-MISSING}"
  done
} > "$OUT/setup.log" 2>&1

# cuDNN may only exist inside PyTorch's wheels there.
CUDNN_DIR=$(find / -xdev -name 'libcudnn.so.9*' -not -path '*/proc/*' 2>/dev/null | head -1 | xargs -r dirname)
# NCCL too (lvk opens libnccl.so.2 when it first needs it).
NCCL_DIR=$(find / -xdev -name 'libnccl.so.2*' -not -path '*/proc/*' 2>/dev/null | head -1 | xargs -r dirname)
export LD_LIBRARY_PATH="${CUDNN_DIR:+$CUDNN_DIR:}${NCCL_DIR:+$NCCL_DIR:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"

# 2. Binaries.
if [ -x "$ROOT/build-gpu/tests/lvk_tests" ]; then
  BUILD="$ROOT/build-gpu"
  row build ok "prebuilt build-gpu (commit $(cat "$BUILD/COMMIT" 2>/dev/null | cut -c1-10))"
else
  BUILD="$ROOT/build-gpu-local"
  if cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLVK_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
       >>"$OUT/setup.log" 2>&1 && cmake --build "$BUILD" -j "$(nproc)" >>"$OUT/setup.log" 2>&1; then
    row build ok "built here for sm_90 in $(elapsed)"
  else
    row build FAIL "see setup.log"
  fi
fi
export LD_LIBRARY_PATH="$BUILD/lib:$LD_LIBRARY_PATH"
COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || cat "$BUILD/COMMIT" 2>/dev/null || echo unknown)
echo "== lvk info" >> "$OUT/setup.log"
"$BUILD/tools/lvk" info >> "$OUT/setup.log" 2>&1 || row "lvk info" FAIL "see setup.log"

# 3. Whole suite, CUDA required.
if [ -x "$BUILD/tests/lvk_tests" ]; then
  LVK_REQUIRE_CUDA=1 timeout 300 "$BUILD/tests/lvk_tests" --gtest_output="json:$OUT/tests.json" > "$OUT/tests.log" 2>&1
  rc=$?
  passed=$(grep -c '^\[       OK \]' "$OUT/tests.log"); failed=$(grep -c '^\[  FAILED  \].*ms)$' "$OUT/tests.log")
  skipped=$(grep -c '^\[  SKIPPED \].*ms)$' "$OUT/tests.log")
  # Skips for missing datasets are fine here; a CUDA skip is not.
  cuda_skips=$(grep -c 'no usable CUDA device' "$OUT/tests.log")
  row tests "$([ $rc -eq 0 ] && [ "$cuda_skips" -eq 0 ] && echo ok || echo FAIL)" \
      "$passed passed, $failed failed, $skipped skipped, $cuda_skips for want of CUDA (rc $rc, $(elapsed))"

  # The op table on the GPU against the CPU twins, with the sizes above 2^31 elements of the ops
  # that claim 64-bit indexing (tests/backend_ops/op_table.h).
  ops="$BUILD/tests/lvk_backend_ops"
  [ -x "$ops" ] || ops="$BUILD/tests/backend_ops/lvk_backend_ops"
  LVK_REQUIRE_CUDA=1 LVK_BACKEND_OPS_LARGE=1 timeout 180 "$ops" --gtest_filter='*Cuda*' \
    > "$OUT/backend_ops.log" 2>&1
  rc=$?
  row "backend ops" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" \
      "$(grep -c '^\[       OK \]' "$OUT/backend_ops.log") passed, rc $rc ($(elapsed))"

  # 4. compute-sanitizer over the CUDA tests, plain cudaMalloc so every buffer is tracked.
  for tool in memcheck racecheck; do
    LVK_SYNC_ALLOC=1 LVK_REQUIRE_CUDA=1 timeout 150 compute-sanitizer --tool "$tool" --error-exitcode 86 \
      "$BUILD/tests/lvk_tests" --gtest_filter='*cuda*:*Cuda*:-*Fits*:*Train*' >> "$OUT/sanitizer.log" 2>&1
    rc=$?
    LVK_SYNC_ALLOC=1 LVK_REQUIRE_CUDA=1 timeout 100 compute-sanitizer --tool "$tool" --error-exitcode 86 \
      "$ops" --gtest_filter='*Cuda*' >> "$OUT/sanitizer.log" 2>&1 || rc=$?
    summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$OUT/sanitizer.log" | tail -1)
    row "$tool" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "rc $rc; ${summary:-no summary} ($(elapsed))"
  done
else
  row tests FAIL "no test binary"
fi

# 5. Benchmarks (Google Benchmark JSON, merged) and the PyTorch comparisons.
mkdir -p "$OUT/.bench"
for b in "$BUILD"/bench/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  # GPU cases only (first argument 1, or cuda:1): the CPU figures are measured where CI runs.
  timeout 120 "$b" --benchmark_filter='^[A-Za-z_0-9]+/(cuda:|dev:)?1(/|$)' --benchmark_min_time=0.05 \
    --benchmark_out="$OUT/.bench/$name.json" --benchmark_out_format=json \
    >> "$OUT/bench.log" 2>&1 && row "$name" ok "($(elapsed))" || row "$name" FAIL "see bench.log"
done
for py in "$ROOT"/bench/torch/*.py; do
  [ -f "$py" ] || continue
  grep -q '^# gpu-check: skip' "$py" && continue  # CPU-only comparisons (they say why)
  # Unbuffered, so a script cut off by its timeout keeps the lines it printed; torch.compile of the
  # VQ-VAE (four shapes) needs longer than the others.
  limit=90; [ "$(basename "$py")" = vqvae_baseline.py ] && limit=240
  LVK_BENCH_DIR="$OUT/.bench" timeout "$limit" python3 -u "$py" >> "$OUT/torch.log" 2>&1 && row "torch/$(basename "$py")" ok "($(elapsed))" \
    || row "torch/$(basename "$py")" FAIL "see torch.log"
done
# 6. `lvk train vqvae` on the GPU, the step replayed from a CUDA Graph and eager, same seed: wall
#    time (start-up and one evaluation included), how the steps ran, and the last losses agree.
for g in on off; do
  t0=$(date +%s.%N)
  timeout 120 "$BUILD/tools/lvk" train vqvae --device cuda --data procedural --steps 300 --batch 128 --eval-every 300 \
    --checkpoint-every 300 --log-every 100 --cuda-graph "$g" --out "$OUT/.train-$g" > "$OUT/.train-$g.log" 2>&1
  rc=$?
  wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  loss=$(tail -1 "$OUT/.train-$g/metrics.jsonl" 2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['loss']:.5f}\")" 2>/dev/null)
  steps=$(grep -o 'steps: .*' "$OUT/.train-$g.log" | head -1)
  { echo "== lvk train vqvae --cuda-graph $g: rc $rc, ${wall}s, last loss ${loss:-?}"; cat "$OUT/.train-$g.log"; } >> "$OUT/bench.log"
  row "train graph $g" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "${wall}s for 300 x 128; loss ${loss:-?}; ${steps:-no step line}"
done
# 7. Data parallel through NCCL: a world of one GPU (LVK_DIST_NCCL=1, no launcher) must reproduce the
#    graph run above exactly (an average over one rank changes nothing), with 50 KB buckets so that
#    ~20 all-reduces fork onto the side stream during the backward pass inside the captured step
#    (the "steps:" line says whether capture held); with two or more GPUs and
#    mpirun, 2 ranks x 64 against that 1 x 128 run (the trainer checks at every checkpoint that the
#    ranks hold bit-identical state and stops if not).
loss_on=$(tail -1 "$OUT/.train-on/metrics.jsonl" 2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['loss']:.5f}\")" 2>/dev/null)
TRAIN=(train vqvae --device cuda --data procedural --steps 300 --batch 128 --eval-every 300 --checkpoint-every 100 --log-every 100
       --grad-bucket-mb 0.05)
LVK_DIST_NCCL=1 timeout 120 "$BUILD/tools/lvk" "${TRAIN[@]}" --out "$OUT/.train-nccl1" > "$OUT/.train-nccl1.log" 2>&1
rc=$?
loss=$(tail -1 "$OUT/.train-nccl1/metrics.jsonl" 2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['loss']:.5f}\")" 2>/dev/null)
steps=$(grep -o 'steps: .*' "$OUT/.train-nccl1.log" | head -1)
{ echo "== NCCL world of 1: rc $rc, last loss ${loss:-?} (graph run ${loss_on:-?})"; cat "$OUT/.train-nccl1.log"; } >> "$OUT/bench.log"
row "nccl 1 gpu" "$([ $rc -eq 0 ] && grep -q '(nccl)' "$OUT/.train-nccl1.log" && [ -n "$loss" ] && [ "$loss" = "$loss_on" ] && echo ok || echo FAIL)" \
    "rc $rc; last loss ${loss:-?} vs ${loss_on:-?} without NCCL; ${steps:-no step line}"
GPUS=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l)
if [ "$GPUS" -ge 2 ] && command -v mpirun >/dev/null; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 180 mpirun --oversubscribe -np 2 \
    "$BUILD/tools/lvk" "${TRAIN[@]}" --out "$OUT/.train-nccl2" > "$OUT/.train-nccl2.log" 2>&1
  rc=$?
  loss=$(tail -1 "$OUT/.train-nccl2/metrics.jsonl" 2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['loss']:.5f}\")" 2>/dev/null)
  close=$(python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('yes' if abs(a-b) <= 1e-2*abs(b) else 'no')" "${loss:-nan}" "${loss_on:-nan}" 2>/dev/null)
  { echo "== NCCL 2 GPUs: rc $rc, last loss ${loss:-?} vs 1 GPU ${loss_on:-?}"; cat "$OUT/.train-nccl2.log"; } >> "$OUT/bench.log"
  row "nccl 2 gpus" "$([ $rc -eq 0 ] && [ "$close" = yes ] && echo ok || echo FAIL)" \
      "rc $rc; 2 x 64 last loss ${loss:-?} vs 1 x 128 ${loss_on:-?}; ranks bit-identical at each checkpoint"
  # The CPU ranks' equality tests (bit-identical ranks, 2 x B/2 against 1 x B, overlapped exchange
  # against the exchange after backward, a non-finite step skipped everywhere, resume) over NCCL.
  if [ -x "$BUILD/tests/dist/lvk_dist_tests" ]; then
    LVK_DIST_TEST_DEVICE=cuda OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 \
      mpirun --oversubscribe -np 2 "$BUILD/tests/dist/lvk_dist_tests" > "$OUT/.dist-tests.log" 2>&1
    rc=$?
    { echo "== lvk_dist_tests on 2 GPUs (NCCL): rc $rc"; cat "$OUT/.dist-tests.log"; } >> "$OUT/bench.log"
    row "nccl dist tests" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" \
        "$(grep -c '\[       OK \]' "$OUT/.dist-tests.log") OK lines over 2 ranks; rc $rc"
  fi
else
  row "nccl 2 gpus" skip "$GPUS GPU(s)$(command -v mpirun >/dev/null || echo ', no mpirun'): the 2-rank check needs two and mpirun"
fi
rm -rf "$OUT"/.train-* "$OUT"/.dist-tests.log

python3 - "$OUT" "$COMMIT" <<'PY' 2>>"$OUT/bench.log"
import json, glob, os, subprocess, sys, datetime
out, commit = sys.argv[1], sys.argv[2]
def q(args):
    try: return subprocess.run(args, capture_output=True, text=True).stdout.strip()
    except Exception as e: return str(e)
merged = {"commit": commit, "date": datetime.datetime.utcnow().isoformat() + "Z",
          "device": q(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
          "benchmarks": {}}
for f in sorted(glob.glob(os.path.join(out, ".bench", "*.json"))):
    merged["benchmarks"][os.path.basename(f)[:-5]] = json.load(open(f))
json.dump(merged, open(os.path.join(out, "bench.json"), "w"), indent=1)
# The train-step targets side by side: lvk's train step (eager / CUDA Graph) against PyTorch eager and
# torch.compile at each batch and side, and the MSE after 200 steps.
lvk = {}
for b in merged["benchmarks"].get("bench_vqvae", {}).get("benchmarks", []):
    parts = b["name"].split("/")
    if parts[0] == "BM_vqvae_train_step" and parts[1] == "1" and parts[4] == "0":
        lvk[(int(parts[2]), int(parts[3]), "graph" if parts[5] == "1" else "eager")] = b.get("images_per_s")
    if parts[0] == "BM_vqvae_loss_after_steps" and parts[1] == "1":
        lvk[(int(parts[2]), int(parts[3]), "mse")] = b.get("mse")
torch = {}
for line in open(os.path.join(out, "torch.log"), errors="replace"):
    try: r = json.loads(line)
    except ValueError: continue
    if r.get("impl") == "torch" and r.get("codebook") == "loss" and "batch" in r and r.get("device") == "cuda":
        torch[(r["batch"], r["side"], r["mode"])] = r
rows = []
for (batch, side, kind), ips in sorted(lvk.items()):
    if kind != "graph" or not ips: continue
    te, tc = torch.get((batch, side, "eager"), {}), torch.get((batch, side, "compile"), {})
    ratio = lambda t: f"{ips / t['images_per_s']:.2f}x" if t.get("images_per_s") else "n/a"
    mse, tmse = lvk.get((batch, side, "mse")), te.get("mse_after_steps")
    gap = f"{(mse / tmse - 1) * 100:+.1f}%" if mse and tmse else "n/a"
    ok = te.get("images_per_s") and tc.get("images_per_s") and ips >= 2 * te["images_per_s"] and ips >= 1.3 * tc["images_per_s"]
    rows.append(f"{'vqvae b%d s%d' % (batch, side):<22} {'ok' if ok else 'MISS':<5} lvk graph {ips:.0f} img/s "
                f"(eager {lvk.get((batch, side, 'eager')) or 0:.0f}); vs torch eager {ratio(te)}, compile {ratio(tc)}; "
                f"MSE@200 vs eager {gap}")
open(os.path.join(out, ".compare.txt"), "w").write("\n".join(rows) + ("\n" if rows else ""))
PY
while IFS= read -r line; do ROWS+=("$line"); done < "$OUT/.compare.txt" 2>/dev/null
rm -f "$OUT/.compare.txt"
rm -rf "$OUT/.bench"

echo
echo "lvk gpu-check  commit ${COMMIT:0:10}  $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)  total $(elapsed)"
printf '%s\n' "${ROWS[@]}"
printf '%s\n' "${ROWS[@]}" > "$OUT/summary.txt"
