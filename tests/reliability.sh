#!/usr/bin/env bash
# The reliability promises of docs/reliability.md, end to end on the lvk binary (run by ctest):
# kill -9 and resume, a damaged checkpoint, a file-size limit, logs of a killed run, and values a
# hostile user might pass. Usage: reliability.sh LVK_BINARY [KILLS]
set -uo pipefail
LVK="$1"
KILLS="${2:-5}"
DIR=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/cli_util.sh"
no_temp_files() { ! ls -a "$1" | grep -q '\.tmp\.' || fail "temp files left in $1: $(ls -a "$1" | grep '\.tmp\.')"; }
# The promises are the same on every device; the CPU keeps the kill loop fast in every build.
TINY=(--device cpu --data shapes:256 --batch 16 --latent 4 --hidden 32 --eval-every 1000 --log-every 1)

# --- kill -9 at random moments, resume each time, every checkpoint intact -------------------------
RUN="$DIR/killed"
STEPS=2000
"$LVK" train vae "${TINY[@]}" --steps $STEPS --checkpoint-every 1 --out "$RUN" >"$DIR/first.log" 2>&1 &
pid=$!
for i in $(seq 1 "$KILLS"); do
  # Wait for a checkpoint (the first run needs one before --resume means anything), then a random
  # 0-400 ms more, so the kill lands anywhere: mid-step, mid-write, mid-rename.
  for _ in $(seq 1 300); do ls "$RUN"/ckpt-*.safetensors >/dev/null 2>&1 && break; sleep 0.05; done
  sleep "0.$(printf '%03d' $((RANDOM % 400)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ -s "$DIR/first.log" ] || [ "$i" -gt 1 ] || fail "a killed run left an empty log (output not line-buffered)"
  "$LVK" verify "$RUN" >"$DIR/verify.log" 2>&1 || { cat "$DIR/verify.log"; fail "a checkpoint was damaged by kill $i"; }
  "$LVK" train vae "${TINY[@]}" --steps $STEPS --checkpoint-every 1 --out "$RUN" --resume >"$DIR/resume-$i.log" 2>&1 &
  pid=$!
done
wait "$pid" || { cat "$DIR/resume-$KILLS.log"; fail "the last resume did not finish"; }
"$LVK" verify "$RUN" >/dev/null 2>&1 || fail "the finished run's checkpoints do not verify"
no_temp_files "$RUN"
grep -q "\"step\":$STEPS}" "$RUN/metrics.jsonl" || fail "the resumed run did not reach step $STEPS"
[ "$(wc -l <"$RUN/metrics.jsonl")" -eq $STEPS ] || fail "metrics.jsonl should hold one line per step"

# --- a stale temp file of a dead writer is removed; a live writer's is kept -------------------------
touch "$RUN/.ckpt-00000999.safetensors.tmp.999999999.0" "$RUN/.ckpt-00000998.safetensors.tmp.$$.0"
"$LVK" train vae "${TINY[@]}" --steps $((STEPS + 1)) --out "$RUN" --resume >"$DIR/stale.log" 2>&1 || fail "resume"
grep -q "removed .*tmp.999999999.0" "$DIR/stale.log" || fail "the stale temp file was not reported: $(cat "$DIR/stale.log")"
[ ! -e "$RUN/.ckpt-00000999.safetensors.tmp.999999999.0" ] || fail "the stale temp file is still there"
[ -e "$RUN/.ckpt-00000998.safetensors.tmp.$$.0" ] || fail "a live process's temp file was removed"
rm -f "$RUN/.ckpt-00000998.safetensors.tmp.$$.0"

# --- a damaged newest checkpoint: refused by eval/sample, skipped (and kept) by --resume -----------
RUN="$DIR/damaged"
"$LVK" train vae "${TINY[@]}" --steps 6 --checkpoint-every 2 --out "$RUN" >/dev/null 2>&1 || fail "train"
NEWEST="$RUN/ckpt-00000006.safetensors"
python3 - "$NEWEST" <<'PY' || fail "python3 could not damage the file"
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
middle = len(data) // 2
data[middle:middle + 64] = bytes(64)  # a zeroed disk block in the middle of the weights
open(path, "wb").write(data)
PY
expect_error "damaged: tensor" sample "$NEWEST" --out "$DIR/s.png"
expect_error "$NEWEST" sample "$RUN" --out "$DIR/s.png"
expect_error "damaged: tensor" eval "$RUN" --points 16 --samples 2
expect_error "DAMAGED" verify "$RUN"
"$LVK" train vae "${TINY[@]}" --steps 8 --checkpoint-every 2 --out "$RUN" --resume >"$DIR/fallback.log" 2>&1 \
  || { cat "$DIR/fallback.log"; fail "--resume did not fall back to the older checkpoint"; }
grep -q "skipped a damaged checkpoint: .*ckpt-00000006.safetensors" "$DIR/fallback.log" || fail "skip not reported"
[ -s "$NEWEST.damaged" ] || fail "the damaged checkpoint was not kept as $NEWEST.damaged"
"$LVK" verify "$RUN" >/dev/null 2>&1 || fail "the run's checkpoints after the fallback do not verify"
python3 - "$RUN/ckpt-00000008.safetensors" <<'PY' || fail "the new checkpoint is not plain safetensors"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
meta = json.loads(data[8:8 + n])["__metadata__"]
assert all(isinstance(v, str) for v in meta.values()) and "crc32_header" in meta, meta.keys()
PY
# Every checkpoint damaged: a clear error naming each one, and nothing deleted.
for f in "$RUN"/ckpt-*.safetensors; do truncate -s 100 "$f"; done
expect_error "no intact checkpoint" train vae "${TINY[@]}" --steps 10 --out "$RUN" --resume
[ "$(ls "$RUN"/*.damaged | wc -l)" -ge 3 ] || fail "damaged checkpoints were not all kept"

# --- a file-size limit: a clear write error, the previous checkpoint intact, no temp file ----------
RUN="$DIR/fsize"
"$LVK" train vae "${TINY[@]}" --steps 2 --out "$RUN" >/dev/null 2>&1 || fail "train"
before=$(md5sum <"$RUN/ckpt-00000002.safetensors")
out=$( (ulimit -f 64; "$LVK" train vae "${TINY[@]}" --steps 4 --out "$RUN" --resume 2>&1) ); rc=$?
[ "$rc" -eq 1 ] || fail "under ulimit -f the run ended with $rc (153 = killed by SIGXFSZ); said: $out"
grep -q "file-size limit" <<<"$out" || fail "no file-size message: $out"
[ "$(md5sum <"$RUN/ckpt-00000002.safetensors")" = "$before" ] || fail "the previous checkpoint changed"
no_temp_files "$RUN"

# --- values a hostile user might pass ---------------------------------------------------------------
X="$DIR/x"
expect_error "nan is not a finite number" train vae --lr nan --steps 1 --out "$X"
expect_error "inf is not a finite number" train vae --lr inf --steps 1 --out "$X"
expect_error "3.5 is not an integer" train vae --steps 3.5 --out "$X"
expect_error "9223372036854775808 is out of range" train vae --steps 9223372036854775808 --out "$X"
expect_error "codes=3.5 is not an integer" train vqvae --set codes=3.5 --steps 1 --out "$X"
expect_error "codes=1e+30 is out of range" train vqvae --set codes=1e30 --steps 1 --out "$X"
echo '{"steps": 5.7}' >"$DIR/steps.json"
expect_error "steps=5.7 is not an integer" train vae --config "$DIR/steps.json" --out "$X"
echo '{"lr": 1e39}' >"$DIR/lr.json"
expect_error "lr=1e+39 is out of range" train vae --config "$DIR/lr.json" --out "$X"
expect_error "--config $DIR is a directory" train vae --config "$DIR" --out "$X"
expect_error "9223372036854775807 steps need a learning-rate table of 36.9 EB" train vae --data shapes:256 --steps 9223372036854775807 --out "$X"
expect_error "epochs 1000000000000 ×" train vae --data shapes:256 --epochs 1000000000000 --out "$X"
expect_error "batch 1000000000 × 784 floats = 3.1 TB, this machine has" train vae --batch 1000000000 --out "$X"
expect_error "the image count '3.5' is not a whole number" train vae --data shapes:3.5 --out "$X"
[ ! -e "$X/config.json" ] || fail "a refused run wrote config.json"
"$LVK" train vae "${TINY[@]}" --steps 1 --lr 0.002 --out "$X" >/dev/null 2>&1 || fail "train with --lr 0.002"
grep -q '"lr": 0.00200' "$X/config.json" || fail "config.json does not record the --lr used: $(grep lr "$X/config.json")"

# --- non-finite rows given to lvk quantize ----------------------------------------------------------
python3 - "$DIR" <<'PY' || fail "python3 could not write the .npy files"
import struct, sys
def npy(path, rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
nan, inf = float("nan"), float("inf")
npy(sys.argv[1] + "/z.npy", 4, 2, [0.1, 0.1, nan, 1.0, 0.9, 1.1, 1.0, inf])
npy(sys.argv[1] + "/cb.npy", 2, 2, [0.0, 0.0, 1.0, 1.0])
PY
expect_error "z has 2 of 4 rows with NaN or Inf (first: row 1)" quantize -i "$DIR/z.npy" -c "$DIR/cb.npy" -o "$DIR/i.npy" --device cpu
out=$("$LVK" quantize -i "$DIR/z.npy" -c "$DIR/cb.npy" -o "$DIR/i.npy" --device cpu --nonfinite skip 2>&1) \
  || fail "--nonfinite skip: $out"
grep -q "2 with NaN or Inf skipped" <<<"$out" || fail "--nonfinite skip did not report the skipped rows: $out"
python3 - "$DIR/i.npy" <<'PY' || fail "--nonfinite skip wrote the wrong indices"
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", data[8:10])[0]
assert list(struct.unpack("<4i", data[10 + n:])) == [0, -1, 1, -1], struct.unpack("<4i", data[10 + n:])
PY
expect_error "vq_kmeans: z has 2 of 4 rows with NaN" kmeans -i "$DIR/z.npy" -o "$DIR/k.npy" -k 2 --device cpu

# --- a codebook read by name out of a .safetensors file (a checkpoint, say) --------------------------
python3 - "$DIR" <<'PY' || fail "python3 could not write the .safetensors file"
import json, struct, sys
tensors = [("codebook", "F32", [2, 2], struct.pack("<4f", 0.0, 0.0, 1.0, 1.0)),
           ("ints", "I32", [2, 2], struct.pack("<4i", 0, 0, 1, 1)),
           ("wrong_rank", "F32", [4], struct.pack("<4f", 0.0, 0.0, 1.0, 1.0))]
header, data = {}, b""
for name, dtype, shape, raw in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[1] + "/cb.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + data)
PY
python3 - "$DIR" <<'PY' || fail "python3 could not write z2.npy"
import struct, sys
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }"
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
open(sys.argv[1] + "/z2.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                                         + struct.pack("<8f", 0.1, 0.1, 0.9, 1.1, 0.2, 0.0, 1.0, 0.8))
PY
"$LVK" quantize -i "$DIR/z2.npy" -c "$DIR/cb.safetensors" --codebook-name codebook -o "$DIR/i2.npy" --device cpu \
  >/dev/null || fail "quantize --codebook-name codebook"
python3 - "$DIR/i2.npy" <<'PY' || fail "quantize with a .safetensors codebook wrote the wrong indices"
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", data[8:10])[0]
assert list(struct.unpack("<4i", data[10 + n:])) == [0, 1, 0, 1], struct.unpack("<4i", data[10 + n:])
PY
q=(quantize -i "$DIR/z2.npy" -c "$DIR/cb.safetensors" -o "$DIR/i2.npy" --device cpu)
expect_error "name its codebook with --codebook-name (it holds codebook, ints, wrong_rank)" "${q[@]}"
expect_error 'has no tensor "codebok" (it holds codebook, ints, wrong_rank)' "${q[@]}" --codebook-name codebok
expect_error 'tensor "ints" is I32; a codebook must be F32' "${q[@]}" --codebook-name ints
expect_error 'tensor "wrong_rank" has 1 dimensions; a codebook must be [K, C]' "${q[@]}" --codebook-name wrong_rank
expect_error "--codebook-name picks a tensor of a .safetensors codebook" quantize -i "$DIR/z2.npy" -c "$DIR/cb.npy" \
  --codebook-name codebook -o "$DIR/i2.npy" --device cpu
echo "reliability: ok ($KILLS kills)"
