#!/usr/bin/env bash
# A rank that fails mid-run ends the whole data-parallel job within a stated time, with a message
# naming the failed rank, and the last checkpoint stays intact (it verifies and resumes on one
# rank). Usage: kill_rank.sh LVK_BINARY MPIRUN [kill|stop]
#   kill  rank 1 dies (SIGKILL): the launcher sees it and ends the others.
#   stop  rank 1 hangs while alive (SIGSTOP): the launcher sees nothing; rank 0's watchdog ends
#         the job once it has waited LVK_DIST_TIMEOUT seconds for its peer.
set -uo pipefail
LVK="$1"
MPIRUN="$2"
MODE="${3:-kill}"
LIMIT=30  # seconds from the failure to the end of every rank
export LVK_DIST_TIMEOUT=5
DIR=$(mktemp -d)
# The job goes first: a live rank would go on writing into the folder being removed.
trap '[ -n "${job:-}" ] && kill -9 "$job" 2>/dev/null && wait "$job" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*"; [ -f "$DIR/job.log" ] && tail -20 "$DIR/job.log"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
TINY=(--device cpu --data shapes:256 --batch 16 --channels 8 --codes 16 --code-dim 4 --eval-every 100000
      --log-every 1 --checkpoint-every 2 --grad-bucket-mb 0.01)
RUN="$DIR/run"

"$MPIRUN" --oversubscribe -np 2 "$LVK" train vqvae "${TINY[@]}" --steps 100000 --out "$RUN" >"$DIR/job.log" 2>&1 &
job=$!
# compgen only lists the folder: on a fast machine older checkpoints are pruned every few
# milliseconds, so an `ls` that stats what the glob named can miss a file that was just removed.
has_checkpoint() { compgen -G "$RUN/ckpt-*.safetensors" >/dev/null; }
for _ in $(seq 1 600); do has_checkpoint && break; sleep 0.05; done
has_checkpoint || fail "the 2-rank run wrote no checkpoint"
# Rank 1, found by the rank the launcher put in its environment.
victim=""
for pid in $(pgrep -P "$job"); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
done
[ -n "$victim" ] || fail "could not find rank 1 among the launcher's children"
if [ "$MODE" = stop ]; then kill -STOP "$victim"; else kill -9 "$victim"; fi
start=$(date +%s)
while kill -0 "$job" 2>/dev/null; do
  [ $(($(date +%s) - start)) -le "$LIMIT" ] || fail "the job still runs ${LIMIT}s after rank 1 failed ($MODE)"
  sleep 0.2
done
wait "$job"
status=$?
job=""
[ "$status" -ne 0 ] || fail "the job exited 0 although rank 1 failed ($MODE)"
if [ "$MODE" = stop ]; then
  grep -qE "rank 0 failed: waited [0-9]+ s for the other ranks in .*a peer rank has died or hangs" "$DIR/job.log" \
    || fail "rank 0's watchdog did not say what it waited for"
else
  grep -qE "rank 1 .*(exited|killed|signal)|process rank 1" "$DIR/job.log" || fail "no message names rank 1"
fi
for pid in $(pgrep -f "$RUN" || true); do fail "a rank survives: pid $pid"; done
"$LVK" verify "$RUN" >"$DIR/verify.log" 2>&1 || { cat "$DIR/verify.log"; fail "a checkpoint was damaged"; }
last=$(ls "$RUN"/ckpt-*.safetensors | sed 's/.*ckpt-0*\([0-9]*\).safetensors/\1/' | sort -n | tail -1)
"$LVK" train vqvae "${TINY[@]}" --steps $((last + 2)) --out "$RUN" --resume >"$DIR/resume.log" 2>&1 \
  || { cat "$DIR/resume.log"; fail "the checkpoint of the killed job does not resume on one rank"; }
echo "ok: rank 1 failing ($MODE) ended the job in $(($(date +%s) - start))s (limit ${LIMIT}s); step $last resumed"
