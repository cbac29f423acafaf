#!/usr/bin/env bash
# Runs every `lvk ...` command that README.md and models/README.md document, as written but with
# tiny sizes, so the documentation cannot drift from the CLI. Usage: documented_commands.sh LVK_BINARY
#
# Code-block lines that run lvk under `mpirun -np N` or another binary of the build tree (`build/...`)
# run too, unless they need GPUs or a library this build lacks (then the reason is printed).
# Documented commands are the lines of code blocks that start with `lvk ` and the inline `lvk ...`
# spans that pass a flag and hold no placeholder ([...], a|b, <...>, DIR, N). The other inline spans are synopses or
# mentions (`lvk eval CKPT [--data ...]`, `lvk train dvae`): for those the command must exist and
# its --help must list every flag the span names. The shrinking only lowers step counts, batch and data sizes and picks a generated
# stand-in for a dataset that is not installed; every other word runs as written. The commands of
# both files run in order in one scratch folder (later ones use the runs of earlier ones).
set -uo pipefail
LVK="$(realpath "$1")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
source "$ROOT/tests/cli_util.sh"

# The scratch folder stands where the repository does, so relative data paths (../shared/...) resolve.
mkdir -p "$SCRATCH/repo" "$SCRATCH/data"
[ -e "$ROOT/../shared" ] && ln -s "$ROOT/../shared" "$SCRATCH/shared"
cd "$SCRATCH/repo" || fail "cannot enter $SCRATCH/repo"

# Stand-ins for datasets that are not installed: IDX test splits of 100 random 28x28 images, and
# CIFAR-10 batches of 20 random images.
fake_idx_dir() {  # fake_idx_dir DIR
  mkdir -p "$1"
  { printf '\x00\x00\x08\x03\x00\x00\x00\x64\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((100 * 784)) /dev/urandom; } \
    >"$1/t10k-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01\x00\x00\x00\x64'; head -c 100 /dev/zero; } >"$1/t10k-labels-idx1-ubyte"
}
fake_cifar_dir() {  # fake_cifar_dir DIR
  mkdir -p "$1"
  for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    for _ in $(seq 20); do printf '\x03'; head -c 3072 /dev/urandom; done >"$1/$f.bin"
  done
}

# The inline `lvk ...` spans of one markdown file, one per line.
inline_spans() {
  awk '/^```/ { block = !block; next } !block' "$1" | tr '\n' ' ' | grep -o '`lvk [^`]*`' | tr -d '`' |
    sed 's/  */ /g' || true
}
has_placeholder() { grep -qE '\[|\]|\||<|>|\.\.\.|(^| |=|:)[A-Z][A-Z_]*( |$)' <<<"$1"; }
# Runnable `lvk ...` commands of one markdown file, one per line, comments dropped.
documented_commands() {
  awk '/^```/ { block = !block; next } block && /^lvk / { sub(/[ \t]+#.*$/, ""); print }' "$1"
  inline_spans "$1" | while IFS= read -r span; do
    has_placeholder "$span" || [[ $span != *" --"* ]] || echo "$span"
  done
}
# Code-block lines that start lvk under a launcher (`mpirun -np N lvk ...`) or run another binary of
# the build tree (`build/...`), comments dropped.
documented_launches() {
  awk '/^```/ { block = !block; next } block && (/^mpirun .* lvk / || /^build\//) { sub(/[ \t]+#.*$/, ""); print }' "$1"
}
# The other spans: synopses and mentions of a command.
documented_synopses() {
  inline_spans "$1" | while IFS= read -r span; do
    if has_placeholder "$span" || [[ $span != *" --"* ]]; then echo "$span"; fi
  done
}

# On the emulated GPU of LVK_CUDA=EMU, --device auto would run every command there, minutes each;
# the documentation is the same on the CPU.
device=""
info=$("$LVK" info 2>&1)
grep -q "default: --device auto runs on cuda" <<<"$info" && grep -q "EMULATED" <<<"$info" && device=" --device cpu"

# A command as written, with sizes made tiny.
shrink() {
  local cmd=" $1 "
  cmd=$(sed -E 's/ --(steps|epochs|batch|n|points|iw-points|repeats|hidden|layers) [^ ]+/ /g; s/ --data (procedural|shapes)(:[0-9]+)? / --data \1:256 /' <<<"$cmd")
  if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    [ -d "$SCRATCH/data/fashion-mnist" ] || fake_idx_dir "$SCRATCH/data/fashion-mnist"
    cmd=${cmd// --data fashion-mnist / --data fashion-mnist:$SCRATCH/data/fashion-mnist }
  fi
  if [[ $cmd =~ --data\ mnist:([^ ]+) ]] && [ ! -e "${BASH_REMATCH[1]}" ]; then
    fake_idx_dir "$SCRATCH/data/mnist"
    cmd=${cmd// --data mnist:${BASH_REMATCH[1]} / --data mnist:$SCRATCH/data/mnist }
  fi
  if [[ $cmd == *" cifar10:DIR "* ]]; then
    [ -d "$SCRATCH/data/cifar10" ] || fake_cifar_dir "$SCRATCH/data/cifar10"
    cmd=${cmd// cifar10:DIR / cifar10:$SCRATCH/data/cifar10 }
  fi
  case "$cmd" in
    " lvk train flow2d "*) cmd+="--steps 2 --batch 64 --layers 2 --hidden 8$device" ;;
    " lvk train vqprior "*) cmd+="--steps 2 --batch 16 --eval-every 2 --checkpoint-every 2 --log-every 1 --hidden 8$device" ;;
    " lvk train "*) cmd+="--steps 2 --batch 16 --eval-every 2 --checkpoint-every 2 --log-every 1$device" ;;
    " lvk eval "*) cmd+="--points 16 --iw-points 8$device" ;;
    " lvk sample "* | " lvk reconstruct "*) cmd+="--n 8$device" ;;
    " lvk bench quantize "*) cmd+="--n 256 --k 16 --repeats 1 --device cpu" ;;
  esac
  echo "$cmd" | sed 's/  */ /g; s/^ //; s/ $//'
}

count=0 failures=0
for doc in "$ROOT/README.md" "$ROOT/models/README.md"; do
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    cmd=$(shrink "$line")
    count=$((count + 1))
    read -ra words <<<"$cmd"
    start=$(date +%s%N)
    if out=$("$LVK" "${words[@]:1}" 2>&1 </dev/null); then
      ms=$((($(date +%s%N) - start) / 1000000))
      printf 'ok   %3d.%ds  %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$line"
    else
      echo "FAIL: ${doc#"$ROOT/"} documents: $line"
      echo "      ran: $cmd"
      tail -5 <<<"$out" | sed 's/^/      /'
      failures=$((failures + 1))
    fi
  done < <(documented_commands "$doc")
done
# Launches: MPI ranks on the CPU (two ranks oversubscribe the cores), the build tree's binaries.
# What needs hardware or a library this build lacks is skipped with the reason.
BUILD="$(dirname "$(dirname "$LVK")")"  # LVK is BUILD/tools/lvk
gpus=$(grep -c "^device:  cuda:" <<<"$info")
grep -q "EMULATED" <<<"$info" && gpus=0
run_launch() {  # run_launch LINE
  local line="$1" ranks=1 cmd
  [[ $line =~ -np\ ([0-9]+) ]] && ranks=${BASH_REMATCH[1]}
  if [[ $line == *"--device cuda"* ]] && [ "$gpus" -lt "$ranks" ]; then
    echo "skip (needs $ranks GPU(s), this machine has $gpus): $line"
    return 0
  fi
  if [[ $line == mpirun* ]]; then
    if ! command -v mpirun >/dev/null || ! grep -q "ranks:   MPI yes" <<<"$info"; then
      echo "skip (this build or machine has no MPI): $line"
      return 0
    fi
    [[ $line == *"--device cuda"* ]] && ! grep -q "NCCL yes" <<<"$info" && { echo "skip (no NCCL): $line"; return 0; }
    cmd="$(shrink "lvk ${line#* lvk }")"
    read -ra words <<<"$cmd"
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 \
      mpirun --oversubscribe -np "$ranks" "$LVK" "${words[@]:1}" 2>&1 </dev/null
  else
    read -ra words <<<"${line/#build\//$BUILD/}"
    "${words[@]}" 2>&1 </dev/null
  fi
}
for doc in "$ROOT/README.md" "$ROOT/models/README.md"; do
  while IFS= read -r line; do
    count=$((count + 1))
    if out=$(run_launch "$line"); then
      [[ $out == skip* ]] && echo "$out" || echo "ok   launch    $line"
    else
      echo "FAIL: ${doc#"$ROOT/"} documents: $line"
      tail -5 <<<"$out" | sed 's/^/      /'
      failures=$((failures + 1))
    fi
  done < <(documented_launches "$doc")
done
for doc in "$ROOT/README.md" "$ROOT/models/README.md"; do
  while IFS= read -r span; do
    read -ra words <<<"$span"
    path=()
    for w in "${words[@]:1}"; do
      [[ $w =~ ^[a-z][a-z0-9-]*$ ]] || break
      path+=("$w")
    done
    count=$((count + 1))
    if ! help=$("$LVK" "${path[@]}" --help 2>&1); then
      echo "FAIL: ${doc#"$ROOT/"} mentions \`$span\`, but \`lvk ${path[*]} --help\` fails: $(tail -1 <<<"$help")"
      failures=$((failures + 1))
      continue
    fi
    missing=0
    for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$span"); do
      if ! grep -qE -- "$flag([^a-z0-9-]|$)" <<<"$help"; then
        echo "FAIL: ${doc#"$ROOT/"} mentions \`$span\`, but lvk ${path[*]} has no $flag"
        missing=$((missing + 1))
      fi
    done
    failures=$((failures + missing))
    [ "$missing" -gt 0 ] || echo "ok   synopsis  $span"
  done < <(documented_synopses "$doc")
done
[ "$count" -ge 10 ] || fail "found only $count documented commands; the extraction from the markdown is broken"
[ "$failures" -eq 0 ] || fail "$failures of $count documented commands failed"
echo "all $count documented commands ran"
