#!/usr/bin/env bash
# Builds, on this (GPU-less) machine, the binaries tools/gpu-check.sh runs on a Hopper machine that
# may lack GoogleTest, Google Benchmark or OpenBLAS: sm_90 only, the built-in CPU sgemm instead of
# OpenBLAS, and the few shared libraries the binaries need bundled. Objects stay in build-gpu-obj
# (incremental rebuilds); build-gpu receives only what gpu-check runs, small enough to carry
# (the device tool carries 64 MiB at most, the source tree included).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
obj="$LVK_ROOT/build-gpu-obj" out="$LVK_ROOT/build-gpu"
mkdir -p "$obj"
LVK_CUDA=ON LVK_CUDA_ARCHS=90 lvk_configure_and_build "$obj" -DLVK_OPENBLAS=OFF -DLVK_PTXAS_VERBOSE=OFF
rm -rf "$out"
mkdir -p "$out/tools" "$out/tests" "$out/bench" "$out/lib"
cp "$obj/tools/lvk" "$out/tools/"
cp "$obj/tests/lvk_tests" "$obj/tests/backend_ops/lvk_backend_ops" "$out/tests/"
cp "$obj"/bench/bench_* "$out/bench/" 2>/dev/null || true
# Host symbols only: the device code (with its -lineinfo) lives in the fatbinary section and stays.
strip --strip-unneeded "$out"/tools/lvk "$out"/tests/lvk_tests "$out"/tests/lvk_backend_ops "$out"/bench/* 2>/dev/null || true
# Non-system libraries the binaries load (glibc, libstdc++ and CUDA's own come from that machine).
for bin in "$out"/tools/lvk "$out"/tests/lvk_tests "$out"/tests/lvk_backend_ops "$out"/bench/*; do
  ldd "$bin" | awk '/=> \// {print $3}' | grep -E 'libbenchmark|libpng|libgomp|libz\.so|libgfortran|libquadmath|libmpi|libopen-(rte|pal)|libhwloc|libevent' || true
done | sort -u | xargs -r -I{} cp -L {} "$out/lib/"
git -C "$LVK_ROOT" rev-parse HEAD > "$out/COMMIT" 2>/dev/null || true
du -sh "$out"
