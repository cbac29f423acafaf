#!/usr/bin/env bash
# Builds, on this (GPU-less) machine, the binaries tools/gpu-check.sh runs on a Hopper machine that
# may lack GoogleTest, Google Benchmark or OpenBLAS: sm_90 only, the built-in CPU sgemm instead of
# OpenBLAS, and the few shared libraries the binaries need bundled in build-gpu/lib. Carry
# build-gpu with the command (well under 64 MiB).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
build_dir="$LVK_ROOT/build-gpu"
mkdir -p "$build_dir"
LVK_CUDA=ON LVK_CUDA_ARCHS=90 lvk_configure_and_build "$build_dir" -DLVK_OPENBLAS=OFF -DLVK_PTXAS_VERBOSE=OFF
mkdir -p "$build_dir/lib"
for lib in libbenchmark.so.1 libpng16.so.16 libgomp.so.1 libz.so.1; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  [ -n "$path" ] && cp -L "$path" "$build_dir/lib/"
done
git -C "$LVK_ROOT" rev-parse HEAD > "$build_dir/COMMIT" 2>/dev/null || true
# Keep only what gpu-check runs: binaries, bundled libraries and the commit.
find "$build_dir" -name '*.o' -delete
du -sh "$build_dir"
