#!/usr/bin/env bash
# `lvk train` on two CPU ranks with small gradient buckets: the run succeeds and reports that its
# all-reduces started during the backward pass. Usage: overlap_cli.sh LVK_BINARY MPIRUN
set -uo pipefail
LVK="$1"
MPIRUN="$2"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
"$MPIRUN" --oversubscribe -np 2 "$LVK" train vqvae --device cpu --data shapes:64 --steps 3 --batch 16 \
  --eval-every 1000 --grad-bucket-mb 0.05 --out "$DIR/run" >"$DIR/log" 2>&1 \
  || { tail -20 "$DIR/log"; echo "FAIL: the 2-rank run failed"; exit 1; }
line=$(grep -E "^gradients: [0-9]+ all-reduce\(s\) of [0-9.]+ MB per step, [0-9]+ started during the backward pass" "$DIR/log")
[ -n "$line" ] || { tail -20 "$DIR/log"; echo "FAIL: no gradients line"; exit 1; }
read -r buckets early < <(echo "$line" | sed -E 's/^gradients: ([0-9]+) .* step, ([0-9]+) started.*/\1 \2/')
[ "$buckets" -gt 1 ] || { echo "FAIL: $line (expected several buckets of 0.05 MB)"; exit 1; }
[ "$early" -gt 0 ] || { echo "FAIL: $line (no all-reduce overlapped the backward pass)"; exit 1; }
echo "ok: $line"
