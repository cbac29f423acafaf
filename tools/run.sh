#!/usr/bin/env bash
# The main job on its embedded default: set up, build, then train a VQ-VAE on the procedural shapes
# (no files needed) on whatever device is present: a couple of minutes on a 2-core CPU, seconds on
# a GPU. Each run gets a fresh folder under runs/, so nothing earlier is overwritten. Extra
# arguments replace the default command (e.g. tools/run.sh info, tools/run.sh train dvae).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Without a GPU here the CUDA backend only has to compile: one architecture is enough (a GPU that
# is present gets its own via "native"; LVK_CUDA_ARCHS overrides both).
export LVK_DEFAULT_ARCHS="${LVK_DEFAULT_ARCHS:-90}"
build_dir="${LVK_BUILD_DIR:-$LVK_ROOT/build}"
mkdir -p "$build_dir"
lvk_configure_and_build "$build_dir" -DLVK_BUILD_TESTS=OFF -DLVK_BUILD_BENCH=OFF
if [ $# -eq 0 ]; then
  "$build_dir/tools/lvk" info
  set -- train vqvae --data procedural --steps 400 --out "runs/vqvae-$(date +%Y%m%d-%H%M%S)"
fi
exec "$build_dir/tools/lvk" "$@"
