#!/usr/bin/env bash
# End-to-end smoke test of the lvk binary (run by ctest): train, resume, sample, reconstruct,
# evaluate, and the errors a user meets first. Usage: cli_smoke.sh LVK_BINARY
set -uo pipefail
LVK="$1"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/cli_util.sh"

"$LVK" info | grep -q "default: --device auto runs on" || fail "lvk info"
"$LVK" train vae --data shapes:256 --steps 4 --batch 16 --latent 4 --hidden 32 --eval-every 4 --out "$DIR/vae" \
  >"$DIR/train.log" 2>&1 || { cat "$DIR/train.log"; fail "train vae"; }
for f in config.json metrics.jsonl ckpt-00000004.safetensors recon-4.png samples-4.png; do
  [ -s "$DIR/vae/$f" ] || fail "train vae did not write $f"
done
[ "$(wc -l <"$DIR/vae/metrics.jsonl")" -eq 4 ] || fail "metrics.jsonl should hold 4 lines"
"$LVK" train vae --data shapes:256 --steps 6 --batch 16 --latent 4 --hidden 32 --eval-every 4 --out "$DIR/vae" \
  --resume >/dev/null 2>&1 || fail "--resume"
[ "$(wc -l <"$DIR/vae/metrics.jsonl")" -eq 6 ] || fail "a resumed run should append steps 5 and 6"
expect_error "already holds a run" train vae --data shapes:256 --steps 4 --batch 16 --out "$DIR/vae"
"$LVK" sample "$DIR/vae" --n 8 --out "$DIR/s.png" >/dev/null || fail "sample"
"$LVK" reconstruct "$DIR/vae" --n 8 --out "$DIR/r.png" >/dev/null || fail "reconstruct"
[ -s "$DIR/s.png" ] && [ -s "$DIR/r.png" ] || fail "sample/reconstruct wrote no PNG"
"$LVK" eval "$DIR/vae" --points 64 --samples 8 --json "$DIR/reports/eval.json" >"$DIR/eval.log" || fail "eval"
# One dataset name means the same held-out images to data, eval and reconstruct (and to the trainer).
out=$("$LVK" data --data shapes:256 --split held-out 2>&1)
grep -q "dataset: shapes:256 held-out, 512 images" <<<"$out" || fail "lvk data --split held-out: $out"
grep -q "shapes:256 held-out" "$DIR/eval.log" || fail "eval did not use the run's held-out split: $(head -3 "$DIR/eval.log")"
for data in "" "--data procedural:256" "--data shapes:256"; do
  # shellcheck disable=SC2086
  out=$("$LVK" reconstruct "$DIR/vae" --n 8 --out "$DIR/r2.png" $data 2>&1)
  grep -q "8 images of shapes:256 held-out" <<<"$out" || fail "reconstruct $data did not show the held-out images: $out"
done
expect_error "is not train or held-out" data --split test
grep -q '"elbo"' "$DIR/reports/eval.json" || fail "eval JSON (in a folder eval made) lacks the ELBO"
"$LVK" train vqvae --data shapes:256 --steps 2 --batch 16 --codes 16 --code-dim 8 --channels 8 --eval-every 2 \
  --out "$DIR/vq" >/dev/null 2>&1 || fail "train vqvae"
for f in recon-2.png codes-2.png usage-2.png; do [ -s "$DIR/vq/$f" ] || fail "train vqvae did not write $f"; done
expect_error "no prior over its codes" sample "$DIR/vq"
"$LVK" train vqprior --set vqvae="$DIR/vq" --data shapes:256 --steps 2 --batch 16 --hidden 8 --set layers=1 \
  --eval-every 2 --out "$DIR/vqp" >/dev/null 2>&1 || fail "train vqprior"
"$LVK" sample "$DIR/vqp" --n 4 --out "$DIR/vqp.png" >/dev/null && [ -s "$DIR/vqp.png" ] || fail "sample vqprior"
for prior in maf vamp; do  # the learned priors: train, sample (MAF: the fused inverse), eval
  "$LVK" train flowvae --set prior=$prior --set pseudo_inputs=8 --data shapes:256 --steps 2 --batch 16 --latent 4 \
    --hidden 32 --eval-every 2 --out "$DIR/fv-$prior" >/dev/null 2>&1 || fail "train flowvae prior=$prior"
  "$LVK" sample "$DIR/fv-$prior" --n 4 --out "$DIR/fv-$prior.png" >/dev/null && [ -s "$DIR/fv-$prior.png" ] ||
    fail "sample flowvae prior=$prior"
  "$LVK" eval "$DIR/fv-$prior" --points 32 --samples 4 >/dev/null || fail "eval flowvae prior=$prior"
done
"$LVK" eval "$DIR/vae" --compare "$DIR/fv-maf" "$DIR/fv-vamp" --points 32 --samples 4 --json "$DIR/cmp.json" \
  >"$DIR/cmp.log" 2>&1 || { cat "$DIR/cmp.log"; fail "eval --compare with two runs"; }
grep -q '"c"' "$DIR/cmp.json" && grep -q "C: flowvae vamp" "$DIR/cmp.log" || fail "eval --compare should show runs A, B and C"
expect_error "is not standard, realnvp, maf or vamp" train flowvae --set prior=iaf --steps 1 --out "$DIR/bad-prior"
"$LVK" train flow2d --flow maf --steps 3 --batch 32 --layers 2 --hidden 8 --out "$DIR/f2d" >/dev/null 2>&1 &&
  [ -s "$DIR/f2d/flow2d.png" ] || fail "train flow2d --flow maf"
expect_error "does not exist" sample "$DIR/nothing"
expect_error "not a device" train vae --device gpu --steps 1 --out "$DIR/x"
expect_error "unknown option 'latnt'" train vae --set latnt=3 --steps 1 --out "$DIR/y"
echo "cli smoke: ok"
